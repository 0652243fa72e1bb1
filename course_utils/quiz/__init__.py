"""Quizzes for every lesson: ``from course_utils import quiz; quiz.show("02_trainer_api")``.

Public API (lessons, grading and the browser tests rely on it):

- ``show(target, mode="practice"|"exam", lang=None, questions=None)``: display a question,
  a lesson's quiz or ``"chapter"`` (all lessons) as widgets, in this learner's order (order.py).
- ``answer(qid, letters_or_number)``: the same in plain code ("b", "a,c", ["a", "c"] as displayed
  to this learner, or a number such as 1377).
- ``print_questions(target)``: the questions as text, in the order and letters the widgets show.
- ``summary()``: per lesson, how many questions were answered right out of how many, and which are open.
- ``load_responses(path=None)`` -> {qid: [choice ids] | number}; ``score(responses, bank=None)`` -> {qid: bool}.
- ``export_exam(ids_or_lesson, path, bank=None, variants=0)``: a keyless question file for exam mode,
  optionally with per-student variants (grading: ``course_utils.quiz.exam``).
- ``export_answers(path)``: the saved answers as plain JSON for a grader.
- ``load_bank(path=None)``: the validated bank (installed one, or an instructor's file/folder).
"""
from __future__ import annotations

import random
import re
from pathlib import Path

import yaml

from .. import messages
from ..errors import CourseError
from . import responses
from .bank import EXAM_KIND, LANGS, Bank, Question, load_bank
from .numeric import parse_number
from .order import arrange, learner_key, shown, variant_for
from .responses import load_responses

__all__ = ["answer", "export_answers", "export_exam", "load_bank", "load_responses", "print_questions", "score",
           "show", "summary", "variant_for"]

MODES = ("practice", "exam")
# The last show() sets how a later plain-code answer() behaves in this kernel (an exam stays an exam).
_session = {"mode": "practice", "questions": None}


def language(lang: str | None = None) -> str:
    """lang=, else course_utils.set_language()/COURSE_LANG, else the lesson's folder (notebooks/ko), else English."""
    if lang is not None:
        if lang not in LANGS:
            raise CourseError(messages.text("quiz_unknown_language", given=lang))
        return lang
    return messages.get_language()


def _bank(questions) -> Bank:
    return load_bank(questions) if questions is not None else load_bank()


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise CourseError(messages.text("quiz_unknown_mode", mode=mode))
    return mode


def _key() -> str:
    return learner_key(responses.default_path())


def build(target="chapter", mode: str = "practice", lang: str | None = None, questions=None):
    """The quiz as a QuizView (``.box`` is the widget); show() displays it."""
    from .widgets import QuizView

    _check_mode(mode)
    bank = _bank(questions)
    if mode == "practice" and bank.keyless:
        raise CourseError(messages.text("quiz_keyless_practice", source=bank.source))
    lang = language(lang)
    key = _key()
    selected = arrange(bank, target, key)
    if not selected:
        raise CourseError(messages.text("quiz_empty", target=target))
    note = messages.text("quiz_exam_for", lang, learner=key) if bank.variants else ""
    return QuizView(selected, bank.title(target, lang), mode, lang, responses.default_path(), note=note)


def show(target="chapter", mode: str = "practice", lang: str | None = None, questions=None) -> None:
    """Display a quiz: a lesson ("02_trainer_api"), a question id, or "chapter" (every lesson).

    mode="exam" records answers without showing correctness; with questions=path it reads
    only that keyless file (written by export_exam), so no answer key reaches the student.
    """
    from IPython.display import display

    view = build(target, mode, lang, questions)
    _session.update(mode=mode, questions=questions)
    display(view.box)  # always display(): Colab attaches widget metadata only to display_data


def _shown_for(bank: Bank, qid: str):
    """The question ``qid`` as this learner sees it (their variant in a variant exam file)."""
    if qid not in bank.questions:
        raise CourseError(messages.text("quiz_unknown_question", qid=qid))
    if bank.variants:
        mine = {s.question.id: s for s in arrange(bank, "chapter", _key())}
        if qid not in mine:
            raise CourseError(messages.text("quiz_not_in_exam", qid=qid))
        return mine[qid]
    return shown(bank.questions[qid], _key())


def _choice_ids(s, given) -> list[str]:
    """Letters as displayed to this learner -> choice ids; one clear error otherwise."""
    q = s.question
    if isinstance(given, str):
        parts = [p for p in re.split(r"[\s,;]+", given.strip().lower()) if p]
    elif isinstance(given, (list, tuple, set)):
        parts = [str(p).strip().lower() for p in given]
    else:
        parts = []
    valid = s.letters
    bad = [p for p in parts if p not in valid]
    if not parts or bad:
        raise CourseError(messages.text(
            "quiz_not_a_choice", given=(bad or [given])[0], qid=q.id, letters=", ".join(valid),
            several=messages.text("quiz_several_hint") if q.multiple else ""))
    if len(set(parts)) > 1 and not q.multiple:
        raise CourseError(messages.text("quiz_one_answer", qid=q.id, letters=", ".join(valid)))
    return sorted({s.id_of(p) for p in parts})


def answer(qid: str, letters, mode: str | None = None, questions=None) -> None:
    """Record an answer in plain code: quiz.answer("trainer.eval_strategy", "b") with the letter you see,
    or a number for a number question; prints feedback in practice mode."""
    from .widgets import UI, feedback_html, plain

    mode = _check_mode(mode or _session["mode"])
    bank = _bank(questions if questions is not None else _session["questions"])
    s = _shown_for(bank, qid)
    q = s.question
    if q.numeric:
        value = parse_number(letters)
        if value is None:
            key = "quiz_number_expected" if isinstance(letters, str) and letters.strip().lower() in "abcdefghij" \
                and letters.strip() else "quiz_not_a_number"
            raise CourseError(messages.text(key, qid=qid, given=letters))
        given = value
    else:
        given = _choice_ids(s, letters)
    responses.save(qid, given, mode)
    lang = language()
    result, body = feedback_html(s, given, mode, lang)
    if mode == "exam" or q.keyless or q.numeric:
        print(plain(re.sub(r"<[^>]+>", " ", body)).strip().replace("  ", " "))
        return
    print(UI[lang][result])
    for letter, c in zip(s.letters, s.choices):
        if c.id in given:
            print(f"  {letter}) {plain(c.explain[lang])}")


def summary(target="chapter", questions=None) -> None:
    """Print, lesson by lesson, how many questions were answered right out of how many, and which are still open.

    Practice answers are scored against the bank's key, as the widgets score them. Answers given in exam mode are
    counted as answered but not scored here (they are graded later), and an exam file without a key scores nothing.
    """
    bank = _bank(questions)
    saved = responses.read(repair=True)
    lessons = {}
    for q in bank.select(target):
        lessons.setdefault(q.lesson, []).append(q)
    totals = {"right": 0, "total": 0, "answered": 0, "exam": 0}
    for lesson, qs in lessons.items():
        answered = [q for q in qs if q.id in saved]
        exam = {q.id for q in answered if bank.keyless or saved[q.id].get("mode") == "exam"}
        n_right = sum(right(q, responses.plain_answer(saved[q.id])) for q in answered if q.id not in exam)
        todo = [q.id for q in qs if q.id not in saved]
        counts = {"right": n_right, "total": len(qs), "answered": len(answered), "exam": len(exam)}
        for name, value in counts.items():
            totals[name] += value
        print(_summary_line(lesson, counts, todo, scored=not bank.keyless))
    if len(lessons) > 1:
        print(_summary_line(messages.text("quiz_summary_all"), totals, [], scored=not bank.keyless))


def _summary_line(name: str, counts: dict, todo: list[str], scored: bool) -> str:
    """One line of summary(): the score (or, for a keyless exam file, the answered count), then what is open."""
    key = "quiz_summary_score" if scored else "quiz_summary_answered"
    line = messages.text(key, name=name, **{k: counts[k] for k in ("right", "total", "answered")})
    if scored and counts["exam"]:
        line += messages.text("quiz_summary_exam", n=counts["exam"])
    if todo:
        line += messages.text("quiz_summary_open", ids=", ".join(todo))
    return line


def right(question: Question, given, params: dict | None = None) -> bool:
    """Is ``given`` ([choice ids] or a number) the key of ``question``? Damaged answers are wrong."""
    if question.numeric:
        return isinstance(given, (int, float)) and not isinstance(given, bool) and question.accepts(float(given), params)
    if not isinstance(given, (list, tuple)) or not all(isinstance(x, str) for x in given):
        return False
    return sorted(set(given)) == question.correct_ids


def score(responses_or_path=None, bank=None, ids=None) -> dict[str, bool]:
    """{qid: right?} for grading: answers from load_responses() (or a path), keys from the bank.

    Without ``ids`` only answered questions known to the bank are listed; with ``ids``
    (lesson, question id, "chapter" or a list) every selected question is, unanswered = False.
    Number questions are judged with their first parameter values (variants: course_utils.quiz.exam).
    """
    if responses_or_path is None or isinstance(responses_or_path, (str, Path)):
        answers = load_responses(responses_or_path)
    else:
        answers = dict(responses_or_path)
    if not isinstance(bank, Bank):
        bank = _bank(bank)
    if bank.keyless:
        raise CourseError(f"{bank.source} has no answer key: score with the full bank (quiz.load_bank(path)).")
    selected = bank.select(ids) if ids is not None else [bank.questions[q] for q in answers if q in bank.questions]
    return {q.id: right(q, answers.get(q.id)) for q in selected}


def export_answers(path="quiz_answers.json") -> Path:
    """The saved answers of this folder as plain JSON {question id: [choice ids] | number}, for a grader."""
    return responses.export_answers(path)


def _exam_question(q: Question) -> dict:
    out = {"id": q.id, "lesson": q.lesson}
    if q.numeric:
        out.update(kind="number", prompt=dict(q.prompt))
        if q.params:
            out["params"] = {k: list(v) for k, v in q.params.items()}
    else:
        out.update(prompt=dict(q.prompt), multiple=q.multiple)
        if not q.shuffle:
            out["shuffle"] = False
    if q.code:
        out["code"] = q.code
    if not q.numeric:
        out["choices"] = [{"id": c.id, "text": dict(c.text)} for c in q.choices]
    return out


def make_variants(selected: list, n_variants: int, per_variant: int | None = None, seed: str = "exam") -> list[dict]:
    """n variants: a subset of ``per_variant`` questions in its own order, shuffled choices, drawn parameters."""
    out = []
    for k in range(n_variants):
        rng = random.Random(f"{seed}/{k}")
        chosen = rng.sample(selected, per_variant or len(selected))
        items = []
        for q in chosen:
            item = {"id": q.id}
            if q.numeric:
                item["params"] = {name: rng.choice(values) for name, values in q.params.items()}
            else:
                ids = q.choice_ids
                if q.shuffle:
                    rng.shuffle(ids)
                item["choices"] = ids
            items.append(item)
        out.append({"questions": items})
    return out


def export_exam(ids_or_lesson, path, bank=None, variants: int = 0, per_variant: int | None = None,
                seed: str = "exam", title: dict | None = None) -> Path:
    """Write the selected questions without answer key, explanations, claims or formulas (for mode="exam").

    ``variants=N`` adds N per-student variants (``per_variant`` questions each, default all; own question
    order, choice order and number parameters); a student's variant is ``variant_for(student id, N)``.
    """
    source = bank if isinstance(bank, Bank) else _bank(bank)
    selected = source.select(ids_or_lesson)
    if title is None:
        if isinstance(ids_or_lesson, str) and ids_or_lesson in source.titles:
            title = source.titles[ids_or_lesson]
        elif len(source.titles) == 1:  # one instructor file: its own title
            title = next(iter(source.titles.values()))
        else:
            title = {"en": "Quiz", "ko": "퀴즈"}
    doc = {"kind": EXAM_KIND, "title": title, "questions": [_exam_question(q) for q in selected]}
    if variants:
        doc["variants"] = make_variants(selected, variants, per_variant, seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ("# Exam questions without answer key (course_utils.quiz.export_exam); use with "
              "quiz.show('chapter', mode='exam', questions=this file). Format: quizzes/README.md\n")
    path.write_text(header + yaml.dump(doc, Dumper=_ReadableDumper, allow_unicode=True, sort_keys=False, width=100),
                    encoding="utf-8")
    load_bank(path)  # the file we ship must load
    return path


class _ReadableDumper(yaml.SafeDumper):
    """Code blocks as YAML literal blocks, so an exported exam file stays readable."""


_ReadableDumper.add_representer(
    str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))


def print_questions(target="chapter", lang: str | None = None, questions=None) -> None:
    """The quiz as plain text, in the order and letters the widgets show this learner; answer with quiz.answer()."""
    from .widgets import plain, prompt_text

    lang = language(lang)
    for s in arrange(_bank(questions), target, _key()):
        q = s.question
        print(f"[{q.id}] {plain(prompt_text(s, lang))}")
        if q.code:
            print("\n".join("    " + line for line in q.code.rstrip().splitlines()))
        if q.numeric:
            print("  " + ("(숫자로 답하세요)" if lang == "ko" else "(answer with a number)"))
        for letter, c in zip(s.letters, s.choices):
            print(f"  {letter}) {plain(c.text[lang])}")
        print()
