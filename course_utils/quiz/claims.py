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
    "computes": set(),  # the function, called with args, gives the key of a number question (or a fact, or a number)
}
OPTIONAL = {"computes": {"args", "equals"}}


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
    extra = set(claim) - {form} - FORMS[form] - OPTIONAL.get(form, set())
    missing = FORMS[form] - set(claim)
    if extra or missing:
        return f"{form!r} takes {sorted(FORMS[form]) or 'nothing else'}" + (f"; unknown {sorted(extra)}" if extra else "") + (
            f"; missing {sorted(missing)}" if missing else "") + "."
    if "parameter" in claim and not isinstance(claim["parameter"], str):
        return "'parameter' must be a name."
    if form == "computes" and not isinstance(claim.get("args", {}), dict):
        return "'args' must be a mapping of argument names to values or fact/param names."
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


def _computes(claim: dict, question) -> str | None:
    """Call the function for every parameter value the claim uses; compare with the key (or a fact/number)."""
    import itertools

    equals = claim.get("equals", "answer")
    literal = isinstance(equals, (int, float)) and not isinstance(equals, bool)
    if question is None or not (getattr(question, "numeric", False) or literal):
        # A choice question has no key to recompute: its explanation states a number (equals: 4).
        return "a 'computes' claim belongs to a number question, or gives the number an explanation states (equals: 4)."
    try:
        function = resolve(claim["computes"])
    except (ImportError, AttributeError) as exc:
        return f"{claim['computes']} does not resolve ({exc})."
    args = claim.get("args") or {}
    used = [n for n in question.params if n in args.values() or equals == "answer"]
    for combo in itertools.product(*(question.params[n] for n in used)):
        values = {**question.facts, **question.default_params(), **dict(zip(used, combo))}
        call = {k: values[v] if isinstance(v, str) and v in values else v for k, v in args.items()}
        try:
            got = float(function(**call))
        except Exception as exc:  # the fact cannot be computed here (no data, no weights)
            return f"{claim['computes']}({call}) failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        if equals == "answer":
            want = question.key_value(dict(zip(used, combo)))
            ok = question.accepts(got, dict(zip(used, combo)))
        else:
            want = values[equals] if isinstance(equals, str) else float(equals)
            ok = abs(got - want) <= 1e-9 * max(1.0, abs(want))
        if not ok:
            said = "the quiz says" if literal else "the quiz's key is"
            return f"{claim['computes']}({call}) = {got:g} here, {said} {want:g}."
    return None


def check_claim(claim: dict, question=None) -> str | None:
    """None if the claim holds for the installed libraries (and data), else why not (one line)."""
    form = next(k for k in claim if k in FORMS)
    if form == "computes":
        return _computes(claim, question)
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
            why = check_claim(claim, q)
            if why:
                failures.append((q.id, claim, why))
    return failures
