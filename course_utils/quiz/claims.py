"""Living quizzes: what a question says about an API, checked against the installed libraries.

A question may carry ``claims`` (schema: quizzes/README.md), for example
``{accepts: transformers.TrainingArguments, parameter: eval_strategy}``.
``tests/test_quiz_claims.py`` checks every claim, so a rename upstream turns
CI red before a learner reads a stale explanation. Written by hand: no
library checks prose against signatures.
"""
from __future__ import annotations

import importlib
import inspect

FORMS = {
    "accepts": {"parameter"},  # the callable has a parameter of this name
    "rejects": {"parameter"},  # ... has no such parameter (and no **kwargs that could swallow it)
    "default": {"parameter", "value"},  # ... whose default equals value
    "exists": set(),  # the dotted name resolves
    "absent": set(),  # the dotted name does not resolve
}


def validate_claim(claim) -> str | None:
    """Syntax check (at bank load): None if well formed, else what is wrong."""
    if not isinstance(claim, dict):
        return "a claim is a mapping such as {accepts: transformers.Trainer, parameter: processing_class}."
    forms = [k for k in claim if k in FORMS]
    if len(forms) != 1:
        return f"name exactly one of {', '.join(FORMS)}."
    form = forms[0]
    if not isinstance(claim[form], str) or "." not in claim[form]:
        return f"{form!r} needs a dotted name such as transformers.TrainingArguments."
    extra = set(claim) - {form} - FORMS[form]
    missing = FORMS[form] - set(claim)
    if extra or missing:
        return f"{form!r} takes {sorted(FORMS[form]) or 'nothing else'}" + (f"; unknown {sorted(extra)}" if extra else "") + (
            f"; missing {sorted(missing)}" if missing else "") + "."
    if "parameter" in claim and not isinstance(claim["parameter"], str):
        return "'parameter' must be a name."
    return None


def resolve(dotted: str):
    """Import ``a.b.C.d``: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)  # AttributeError: the name does not exist
        return obj
    raise ImportError(f"no module {parts[0]!r}")


def _parameters(target):
    return inspect.signature(target).parameters


def check_claim(claim: dict) -> str | None:
    """None if the claim holds for the installed libraries, else why not (one line)."""
    form = next(k for k in claim if k in FORMS)
    name = claim[form]
    if form == "absent":
        try:
            resolve(name)
        except (ImportError, AttributeError):
            return None
        return f"{name} exists now; the explanation that says it does not is stale."
    try:
        target = resolve(name)
    except (ImportError, AttributeError) as exc:
        return f"{name} does not resolve ({exc})."
    if form == "exists":
        return None
    params = _parameters(target)
    param = claim["parameter"]
    if form == "accepts":
        return None if param in params else f"{name} has no parameter {param!r}."
    if form == "rejects":
        if param in params:
            return f"{name} now accepts {param!r}."
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return f"{name} takes **kwargs, so it may accept {param!r}; a 'rejects' claim cannot be checked."
        return None
    # default
    if param not in params:
        return f"{name} has no parameter {param!r}."
    actual = params[param].default
    expected = claim["value"]
    if actual == expected or getattr(actual, "value", object()) == expected:
        return None
    return f"{name}({param}=...) defaults to {actual!r}, the quiz says {expected!r}."


def check_bank_claims(bank) -> list[tuple[str, dict, str]]:
    """Every failing claim of the bank as (question id, claim, why)."""
    failures = []
    for q in bank.questions.values():
        for claim in q.claims:
            why = check_claim(claim)
            if why:
                failures.append((q.id, claim, why))
    return failures
