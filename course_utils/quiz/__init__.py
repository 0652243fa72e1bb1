"""Quizzes for every lesson: ``from course_utils import quiz; quiz.show("02_trainer_api")``.

Public API (lessons, grading and the browser tests rely on it):

- ``show(target, mode="practice"|"exam", lang=None, questions=None)``: display a question,
  a lesson's quiz or ``"chapter"`` (all lessons) as widgets.
- ``answer(qid, letters)``: the same in plain code ("b", "a,c" or ["a", "c"]).
- ``summary()``: which questions are answered (not graded).
- ``load_responses(path=None)`` -> {qid: [letters]}; ``score(responses, bank=None)`` -> {qid: bool}.
- ``export_exam(ids_or_lesson, path)``: a question file without answer key for exam mode.
- ``load_bank(path=None)``: the validated bank (installed one, or an instructor's file/folder).
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from ..errors import CourseError
from . import responses
from .bank import EXAM_KIND, LANGS, Bank, Question, load_bank
from .responses import load_responses

__all__ = ["answer", "export_exam", "load_bank", "load_responses", "print_questions", "score", "show", "summary"]

MODES = ("practice", "exam")
# The last show() sets how a later plain-code answer() behaves in this kernel (an exam stays an exam).
_session = {"mode": "practice", "questions": None}


def language(lang: str | None = None) -> str:
    """lang=, else course_utils.set_language()/COURSE_LANG, else the lesson's folder (notebooks/ko), else English."""
    from .. import messages

    if lang is not None:
        if lang not in LANGS:
            raise CourseError(f"Unknown quiz language {lang!r}: use 'en' or 'ko'.")
        return lang
    return messages.get_language()


def _bank(questions) -> Bank:
    return load_bank(questions) if questions is not None else load_bank()


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise CourseError(f"Unknown quiz mode {mode!r}: use 'practice' or 'exam'.")
    return mode


def build(target="chapter", mode: str = "practice", lang: str | None = None, questions=None):
    """The quiz as a QuizView (``.box`` is the widget); show() displays it."""
    from .widgets import QuizView

    _check_mode(mode)
    bank = _bank(questions)
    if mode == "practice" and bank.keyless:
        raise CourseError(f"{bank.source} has no answer key (an exam file): use mode='exam', or the full bank for practice.")
    lang = language(lang)
    selected = bank.select(target)
    if not selected:
        raise CourseError(f"The quiz {target!r} has no questions.")
    return QuizView(selected, bank.title(target, lang), mode, lang, responses.default_path())


def show(target="chapter", mode: str = "practice", lang: str | None = None, questions=None) -> None:
    """Display a quiz: a lesson ("02_trainer_api"), a question id, or "chapter" (every lesson).

    mode="exam" records answers without showing correctness; with questions=path it reads
    only that keyless file (written by export_exam), so no answer key reaches the student.
    """
    from IPython.display import display

    view = build(target, mode, lang, questions)
    _session.update(mode=mode, questions=questions)
    display(view.box)  # always display(): Colab attaches widget metadata only to display_data


def _letters(question: Question, letters) -> list[str]:
    if isinstance(letters, str):
        parts = [p for p in re.split(r"[\s,;]+", letters.strip().lower()) if p]
    elif isinstance(letters, (list, tuple, set)):
        parts = [str(p).strip().lower() for p in letters]
    else:
        parts = []
    valid = question.letters
    bad = [p for p in parts if p not in valid]
    if not parts or bad:
        raise CourseError(
            f"{(bad or [letters])[0]!r} is not a choice of {question.id!r}: use one of {', '.join(valid)}"
            + (' (several as "a,c")' if question.multiple else "") + "."
        )
    if len(parts) > 1 and not question.multiple:
        raise CourseError(f"{question.id!r} has one answer: give a single letter ({', '.join(valid)}).")
    return sorted(set(parts))


def answer(qid: str, letters, mode: str | None = None, questions=None) -> None:
    """Record an answer in plain code, e.g. quiz.answer("trainer.eval_strategy", "b"); prints feedback in practice mode."""
    from .widgets import feedback_html, judge, plain

    mode = _check_mode(mode or _session["mode"])
    bank = _bank(questions if questions is not None else _session["questions"])
    if qid not in bank.questions:
        raise CourseError(f"No question {qid!r}: see quiz.summary() for the ids of this course.")
    q = bank.questions[qid]
    chosen = _letters(q, letters)
    responses.save(qid, chosen, mode)
    lang = language()
    if mode == "exam" or q.keyless:
        print(re.sub(r"<[^>]+>", "", feedback_html(q, chosen, "exam", lang)[1]))
        return
    from .widgets import UI

    print(UI[lang][judge(q, chosen)])
    for c in q.choices:
        if c.letter in chosen:
            print(f"  {c.letter}) {plain(c.explain[lang])}")


def summary(target="chapter", questions=None) -> None:
    """Print which questions have a saved answer (not whether it is right)."""
    bank = _bank(questions)
    saved = responses.read(repair=True)
    ko = language() == "ko"
    lessons = {}
    for q in bank.select(target):
        lessons.setdefault(q.lesson, []).append(q)
    for lesson, qs in lessons.items():
        done = [q.id for q in qs if q.id in saved]
        todo = [q.id for q in qs if q.id not in saved]
        line = f"{lesson}: {len(done)}/{len(qs)} " + ("답함" if ko else "answered")
        if todo:
            line += ("; 남은 문제: " if ko else "; still open: ") + ", ".join(todo)
        print(line)


def score(responses_or_path=None, bank=None, ids=None) -> dict[str, bool]:
    """{qid: right?} for grading: answers from load_responses() (or a path), keys from the bank.

    Without ``ids`` only answered questions known to the bank are listed; with ``ids``
    (lesson, question id, "chapter" or a list) every selected question is, unanswered = False.
    """
    if responses_or_path is None or isinstance(responses_or_path, (str, Path)):
        answers = load_responses(responses_or_path)
    else:
        answers = {k: list(v) for k, v in dict(responses_or_path).items()}
    if not isinstance(bank, Bank):
        bank = _bank(bank)
    if bank.keyless:
        raise CourseError(f"{bank.source} has no answer key: score with the full bank (quiz.load_bank(path)).")
    selected = bank.select(ids) if ids is not None else [bank.questions[q] for q in answers if q in bank.questions]
    return {q.id: sorted(set(answers.get(q.id, []))) == q.correct_letters for q in selected}


def export_exam(ids_or_lesson, path, bank=None) -> Path:
    """Write the selected questions without answer key or explanations (for mode="exam")."""
    source = bank if isinstance(bank, Bank) else _bank(bank)
    selected = source.select(ids_or_lesson)
    doc = {
        "kind": EXAM_KIND,
        "title": source.titles.get(ids_or_lesson) if isinstance(ids_or_lesson, str) and ids_or_lesson in source.titles
        else {"en": "Quiz", "ko": "퀴즈"},
        "questions": [
            {"id": q.id, "lesson": q.lesson, "prompt": dict(q.prompt), "multiple": q.multiple,
             **({"code": q.code} if q.code else {}),
             "choices": [{"text": dict(c.text)} for c in q.choices]}
            for q in selected
        ],
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Exam questions without answer key (course_utils.quiz.export_exam); use with quiz.show(..., mode='exam', questions=this file)\n"
    path.write_text(header + yaml.dump(doc, Dumper=_ReadableDumper, allow_unicode=True, sort_keys=False, width=100),
                    encoding="utf-8")
    load_bank(path)  # the file we ship must load
    return path


class _ReadableDumper(yaml.SafeDumper):
    """Code blocks as YAML literal blocks, so an exported exam file stays readable."""


_ReadableDumper.add_representer(
    str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))


def print_questions(target="chapter", lang: str | None = None, questions=None) -> None:
    """The quiz as plain text, for front ends that cannot show widgets; answer with quiz.answer()."""
    from .widgets import plain

    lang = language(lang)
    for q in _bank(questions).select(target):
        print(f"[{q.id}] {plain(q.prompt[lang])}")
        if q.code:
            print("\n".join("    " + line for line in q.code.rstrip().splitlines()))
        for c in q.choices:
            print(f"  {c.letter}) {plain(c.text[lang])}")
        print()
