"""Grading a chapter exam with per-student variants, in a clean process (no torch, transformers, ipywidgets).

The grader, not the submission, decides which variant a student had:
``variant_spec(exam_file, student_id)`` reads the keyless exam file that was
released and picks ``variant_for(student_id, n)``. Each recorded answer
(``[choice ids]`` or a number, from ``quiz_responses.json`` or the plain JSON of
``quiz.export_answers``) is judged by ``score_answer`` against the
instructor's key bank (``grading/source/07_chapter_quiz/exam_bank.yaml``),
never installed with the package. Only the standard library, PyYAML and this
package's quiz loader are imported.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import CourseError
from .bank import Bank, load_bank
from .order import variant_for
from .responses import load_responses

__all__ = ["grade", "read_answers", "score_answer", "variant_for", "variant_spec"]


def _load(bank_or_path) -> Bank:
    return bank_or_path if isinstance(bank_or_path, Bank) else load_bank(bank_or_path)


def variant_spec(exam_path, student_id: str) -> dict:
    """{"variant": k, "questions": [{id, choices, params}]} of this student in the released exam file."""
    exam = _load(exam_path)
    if not exam.variants:
        return {"variant": None, "questions": [{"id": qid} for qid in exam.questions]}
    k = variant_for(student_id, len(exam.variants))
    return {"variant": k, **exam.variants[k]}


def read_answers(path) -> dict:
    """Answers as plain data: quiz_responses.json (the kernel's file) or quiz.export_answers' JSON."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if isinstance(data, dict) and "answers" in data:
        return load_responses(path)  # the responses file, with its own repair rules
    if isinstance(data, dict):
        return data
    return load_responses(path) if path.exists() else {}


def score_answer(key_bank_path, variant_spec: dict | None, question_id: str, recorded_answer) -> tuple[bool, str]:
    """(right?, one-line reason) for one question of one student's variant.

    ``recorded_answer``: [choice ids] for a choice question, a number for a number question, None if
    unanswered. The message never contains the key, nor any part of the recorded answer.
    """
    bank = _load(key_bank_path)
    if bank.keyless:
        raise CourseError(f"{bank.source} has no answer key: pass the instructor's bank file (exam_bank.yaml).")
    items = {item["id"]: item for item in (variant_spec or {}).get("questions", [])} if variant_spec else None
    if items is not None and question_id not in items:
        return False, f"{question_id} is not in this student's exam variant"
    if question_id not in bank.questions:
        raise CourseError(f"{question_id!r} is not in the key bank {bank.source}: export the exam from this bank.")
    q = bank.questions[question_id]
    if recorded_answer is None:
        return False, "no answer saved"
    if q.numeric:
        if isinstance(recorded_answer, bool) or not isinstance(recorded_answer, (int, float)) \
                or not math.isfinite(recorded_answer):
            return False, "the saved answer is not a number"
        params = (items or {}).get(question_id, {}).get("params") or {}
        return (True, "right") if q.accepts(float(recorded_answer), params) else (False, "not the right number")
    if not isinstance(recorded_answer, (list, tuple)) or not recorded_answer \
            or not all(isinstance(x, str) for x in recorded_answer):
        return False, "the saved answer is damaged (not a list of choices)"
    # Named, never quoted: the answer came from the student's kernel, and whatever this message repeats reaches
    # the feedback page (short choice "ids" in a chosen order would spell out any text).
    if set(recorded_answer) - set(q.choice_ids):
        return False, "the saved answer names unknown choices (an answer that is not one of the question's choices)"
    if sorted(set(recorded_answer)) == q.correct_ids:
        return True, "right"
    return False, "not the right choice" + ("s" if q.multiple else "")


def grade(key_bank_path, exam_path, student_id: str, answers: dict) -> dict:
    """{question id: (right?, reason)} for every question of the student's variant."""
    spec = variant_spec(exam_path, student_id)
    bank = _load(key_bank_path)
    return {item["id"]: score_answer(bank, spec, item["id"], answers.get(item["id"])) for item in spec["questions"]}


def mismatches(key_bank_path, exam_path) -> list[str]:
    """Where the released exam file and the key bank disagree (texts, choices); empty when they match."""
    bank, exam = _load(key_bank_path), _load(exam_path)
    problems = []
    for qid, eq in exam.questions.items():
        q = bank.questions.get(qid)
        if q is None:
            problems.append(f"{qid}: not in the key bank")
            continue
        if eq.prompt != q.prompt or eq.kind != q.kind:
            problems.append(f"{qid}: prompt or kind differs from the key bank")
        if {c.id: c.text for c in eq.choices} != {c.id: c.text for c in q.choices}:
            problems.append(f"{qid}: choices differ from the key bank")
    return problems
