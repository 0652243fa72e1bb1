"""What one learner sees: choice order (and, for a whole chapter, question order) and exam variants.

Everything is a pure function of a *learner key*: ``COURSE_LEARNER`` if set,
else ``JUPYTERHUB_USER`` (the nbgrader student id on a JupyterHub), else a
random id kept in ``.quiz_learner_id`` next to the responses file, so the same
learner sees the same order after a kernel restart and two learners see
different orders. Letters shown are positions in that order; answers are
stored by choice identity (``Choice.id``), so grading and item analysis never
depend on the letters. Standard library only (the grader imports
``variant_for`` in a clean process).
"""
from __future__ import annotations

import hashlib
import os
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .bank import LETTERS

ID_FILE = ".quiz_learner_id"
_ENV = ("COURSE_LEARNER", "JUPYTERHUB_USER")


def learner_key(responses_path=None) -> str:
    """COURSE_LEARNER, else JUPYTERHUB_USER, else the id file beside the responses file (created once)."""
    for name in _ENV:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    folder = Path(responses_path).parent if responses_path is not None else Path.cwd()
    path = folder / ID_FILE
    try:
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    except (OSError, UnicodeDecodeError):
        pass
    value = uuid.uuid4().hex
    try:
        tmp = path.with_name(f"{ID_FILE}.{os.getpid()}.tmp")
        tmp.write_text(value + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path.read_text(encoding="utf-8").strip() or value  # another kernel may have won the race
    except OSError:
        return value  # read-only folder: stable for this kernel only


def _rng(*parts: str) -> random.Random:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def shuffled(items: list, *salt: str) -> list:
    out = list(items)
    _rng(*salt).shuffle(out)
    return out


def variant_for(student_id: str, n_variants: int) -> int:
    """The exam variant (0..n-1) of a student: the grader calls it with the nbgrader student id,
    the widget with the learner key; never read from a submission."""
    if n_variants < 1:
        raise ValueError("n_variants must be >= 1")
    digest = hashlib.sha256(f"course-exam-variant\x1f{student_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n_variants


@dataclass
class Shown:
    """A question as one learner sees it: choices in display order, numeric parameter values."""

    question: object
    choices: list = field(default_factory=list)
    params: dict = field(default_factory=dict)

    @property
    def letters(self) -> list[str]:
        return list(LETTERS[: len(self.choices)])

    def letter_of(self, choice_id: str) -> str:
        return next(letter for letter, c in zip(LETTERS, self.choices) if c.id == choice_id)

    def id_of(self, letter: str) -> str:
        return self.choices[LETTERS.index(letter)].id

    def values(self) -> dict:
        return {**self.question.facts, **self.question.default_params(), **self.params}


def shown(question, key: str, choice_ids=None, params=None) -> Shown:
    """Display order of ``question`` for learner ``key`` (pinned questions keep the bank order)."""
    choices = list(question.choices)
    if choice_ids is not None:
        by_id = {c.id: c for c in choices}
        choices = [by_id[i] for i in choice_ids]
    elif question.shuffle and choices:
        choices = shuffled(choices, "choices", key, question.id)
    return Shown(question, choices, dict(params or {}))


def arrange(bank, target, key: str) -> list[Shown]:
    """The questions of ``target`` as learner ``key`` sees them.

    A keyless exam file with variants: the learner's variant (its questions, choice order, parameters).
    Otherwise choices are shuffled per learner, and a whole chapter's questions too.
    """
    if getattr(bank, "variants", None):
        spec = bank.variants[variant_for(key, len(bank.variants))]
        wanted = None if target == "chapter" else {q.id for q in bank.select(target)}
        return [shown(bank.questions[item["id"]], key, item.get("choices"), item.get("params"))
                for item in spec["questions"] if wanted is None or item["id"] in wanted]
    questions = bank.select(target)
    if target == "chapter":
        questions = shuffled(questions, "questions", key)
    return [shown(q, key) for q in questions]
