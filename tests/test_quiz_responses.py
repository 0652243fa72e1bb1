"""quiz_responses.json: atomic saves, plain-code answers, damaged files cost only the damaged answers, grading reads."""
from __future__ import annotations

import json

import pytest

from course_utils import CourseError, quiz
from course_utils.quiz import responses


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COURSE_LANG", raising=False)
    # Letters are per learner; this learner's are pinned here so the tests below can say "b".
    monkeypatch.setenv("COURSE_LEARNER", "test-learner")
    monkeypatch.setitem(quiz._session, "mode", "practice")
    monkeypatch.setitem(quiz._session, "questions", None)
    return tmp_path


def _letter(qid, start=None):
    """The letter test-learner sees for the key of ``qid`` (or for the choice whose text starts with ``start``)."""
    q = quiz.load_bank().questions[qid]
    shown = quiz.shown(q, "test-learner")
    return shown.letter_of(next(c.id for c in q.choices if (c.correct if start is None else c.text["en"].startswith(start))))


def _id(qid, start):
    return next(c.id for c in quiz.load_bank().questions[qid].choices if c.text["en"].startswith(start))


def test_answer_saves_at_once_and_prints_feedback(in_tmp, capsys):
    quiz.answer("trainer.eval_strategy", _letter("trainer.eval_strategy"))
    out = capsys.readouterr().out
    assert "Correct" in out and "eval_strategy" in out
    quiz.answer("trainer.eval_strategy", _letter("trainer.eval_strategy", "`do_eval`").upper())
    assert "Not quite" in capsys.readouterr().out
    acc = quiz.load_bank().questions["loop.accelerate"]
    shown = quiz.shown(acc, "test-learner")
    quiz.answer("loop.accelerate", [shown.letter_of(i) for i in reversed(acc.correct_ids)])
    erratic = quiz.load_bank().questions["curves.erratic"]
    quiz.answer("curves.erratic", ", ".join(quiz.shown(erratic, "test-learner").letter_of(i) for i in erratic.correct_ids))
    assert quiz.load_responses() == {"trainer.eval_strategy": [_id("trainer.eval_strategy", "`do_eval`")],
                                     "loop.accelerate": acc.correct_ids, "curves.erratic": erratic.correct_ids}
    assert [p.name for p in in_tmp.iterdir()] == ["quiz_responses.json"]  # no temporary file left behind
    data = json.loads((in_tmp / "quiz_responses.json").read_text(encoding="utf-8"))
    assert data["format"] == responses.FORMAT and data["answers"]["trainer.eval_strategy"]["attempts"] == 2


def test_korean_feedback_is_plain_hamnida_style(in_tmp, capsys, monkeypatch):
    """Issue 22: the same register as the lessons' self-checks (✓ 정답입니다 / ✗ 아직입니다), not 아쉽네요."""
    from course_utils.quiz.widgets import UI

    monkeypatch.setenv("COURSE_LANG", "ko")
    quiz.answer("trainer.eval_strategy", _letter("trainer.eval_strategy", "`do_eval`"))
    out = capsys.readouterr().out
    assert "✗ 아직입니다. 다시 해 보세요." in out and "아쉽" not in out
    quiz.answer("trainer.optimizer_steps", "1")
    assert "✗ 아직입니다. 다시 해 보세요." in capsys.readouterr().out
    quiz.answer("trainer.eval_strategy", _letter("trainer.eval_strategy"))
    assert "✓ 정답입니다." in capsys.readouterr().out
    for key, text in UI["ko"].items():
        assert "아쉽" not in text and "네요" not in text, (key, text)


@pytest.mark.parametrize("qid, letters, message", [
    ("trainer.eval_strategy", "e", "'e' is not a choice of 'trainer.eval_strategy': use one of a, b, c, d."),
    ("trainer.eval_strategy", "a,b", "'trainer.eval_strategy' has one answer"),
    ("trainer.eval_strategy", "", "is not a choice"),
    ("loop.accelerate", "a,z", "'z' is not a choice of 'loop.accelerate'"),
    ("trainer.eval_strateg", "b", "No question 'trainer.eval_strateg'"),
])
def test_wrong_letter_or_id_is_one_clear_error(in_tmp, qid, letters, message):
    with pytest.raises(CourseError) as err:
        quiz.answer(qid, letters)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert not (in_tmp / "quiz_responses.json").exists()


def test_answers_from_two_lessons_in_one_folder_are_kept(in_tmp):
    """Every lesson of notebooks/en shares the file: a save re-reads it, so kernels keep each other's answers."""
    quiz.answer("trainer.fp16", "b")
    other_kernel = json.loads((in_tmp / "quiz_responses.json").read_text(encoding="utf-8"))
    other_kernel["answers"]["loop.no_grad"] = {"letters": ["b"], "mode": "practice", "attempts": 1, "saved": "x"}
    (in_tmp / "quiz_responses.json").write_text(json.dumps(other_kernel), encoding="utf-8")
    quiz.answer("trainer.eval_dataset", "c")
    assert set(quiz.load_responses()) == {"trainer.fp16", "loop.no_grad", "trainer.eval_dataset"}


def _damage(in_tmp, old, new):
    path = in_tmp / "quiz_responses.json"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_truncated_file_keeps_the_intact_answers_and_a_backup(in_tmp, capsys):
    for qid in ("trainer.fp16", "trainer.eval_strategy", "loop.no_grad"):
        quiz.answer(qid, _letter(qid))
    capsys.readouterr()
    key = quiz.load_responses()
    line = next(x for x in (in_tmp / "quiz_responses.json").read_text(encoding="utf-8").splitlines()
                if x.strip().startswith('"trainer.eval_strategy"'))
    _damage(in_tmp, line, line[: line.index('"mode"')])  # a line cut short
    damaged = (in_tmp / "quiz_responses.json").read_text(encoding="utf-8")

    assert quiz.load_responses() == {"trainer.fp16": key["trainer.fp16"], "loop.no_grad": key["loop.no_grad"]}
    err = capsys.readouterr().err
    assert "quiz_responses.json is damaged" in err and "left unchanged" in err
    assert (in_tmp / "quiz_responses.json").read_text(encoding="utf-8") == damaged  # grading never writes

    quiz.answer("trainer.gradient_accumulation", "b")  # the learner's kernel repairs (any answer will do)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "recovered 2 answer(s)" in err and "kept the damaged file as" in err
    backups = list(in_tmp.glob("quiz_responses.unreadable-*.json"))
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == damaged
    assert len(quiz.load_responses()) == 3
    assert capsys.readouterr().err == ""  # the repaired file is clean


@pytest.mark.parametrize("content, recovered", [
    ("", 0),
    ("\x00\x01 not json at all", 0),
    ('["a", "b"]', 0),
    ('{"format": "course-quiz-responses/1", "answers": {"trainer.fp16": {"letters": "b"}, "loop.no_grad": {"letters": ["b"]}}}', 1),
    ('{"answers": {"trainer.fp16": {"letters": ["B"]}, "loop.no_grad": {"letters": []}}}', 0),
    ('{"answers": {"trainer.fp16": {"choices": ["b"]}, "trainer.optimizer_steps": {"value": "1377"}}}', 1),
    ('{"answers": {"trainer.optimizer_steps": {"value": 1377}, "loop.no_grad": {"choices": ["B!"]}}}', 1),
])
def test_hand_edited_file_costs_only_the_affected_answers(in_tmp, capsys, content, recovered):
    (in_tmp / "quiz_responses.json").write_text(content, encoding="utf-8")
    view = quiz.build("chapter")  # never crashes
    assert sum(v.result is not None for v in view.views) == recovered
    assert "is damaged" in capsys.readouterr().err
    assert len(list(in_tmp.glob("quiz_responses.unreadable-*.json"))) == 1
    quiz.answer("trainer.eval_dataset", "c")
    assert len(quiz.load_responses()) == recovered + 1


def test_undecodable_bytes_do_not_crash(in_tmp, capsys):
    (in_tmp / "quiz_responses.json").write_bytes(b"\xff\xfe\x00garbage")
    assert quiz.load_responses() == {}
    assert "cannot be read" in capsys.readouterr().err


def test_score_for_grading(in_tmp):
    bank = quiz.load_bank()
    answers = {"trainer.eval_strategy": bank.questions["trainer.eval_strategy"].correct_ids,
               "trainer.fp16": [_id("trainer.fp16", "16-bit integer")],
               "loop.accelerate": list(reversed(bank.questions["loop.accelerate"].correct_ids)),
               "trainer.optimizer_steps": 1377, "advanced.total_batch": 31.0, "not.in_bank": ["a"]}
    assert quiz.score(answers) == {"trainer.eval_strategy": True, "trainer.fp16": False, "loop.accelerate": True,
                                   "trainer.optimizer_steps": True, "advanced.total_batch": False}
    lesson = quiz.score(answers, ids="04_advanced_training")
    assert lesson == {q: False for q in bank.lessons["04_advanced_training"]}
    quiz.answer("trainer.eval_dataset", _letter("trainer.eval_dataset"))
    assert quiz.score(in_tmp / "quiz_responses.json") == {"trainer.eval_dataset": True}
    assert quiz.score() == {"trainer.eval_dataset": True}
    assert quiz.score({"trainer.fp16": "b", "trainer.optimizer_steps": True}) == {  # damaged answers are wrong
        "trainer.fp16": False, "trainer.optimizer_steps": False}


def test_summary_scores_the_answers_and_lists_open_questions(in_tmp, capsys, monkeypatch):
    """quiz.summary() says how many questions were answered right out of how many, lesson by lesson, in both
    languages (course_utils.messages), and which are still open."""
    lesson = quiz.load_bank().lessons["04_advanced_training"]
    n = len(lesson)
    quiz.answer("trainer.fp16", _letter("trainer.fp16"))  # right
    quiz.answer("trainer.gradient_accumulation", _letter("trainer.gradient_accumulation", "Saving the gradients"))  # wrong
    capsys.readouterr()
    quiz.summary("04_advanced_training")
    out = capsys.readouterr().out
    still_open = ", ".join(q for q in lesson if q not in ("trainer.fp16", "trainer.gradient_accumulation"))
    assert out == f"04_advanced_training: 1 of {n} correct (2 answered); still open: {still_open}\n"

    quiz.answer("trainer.gradient_accumulation", _letter("trainer.gradient_accumulation"))  # corrected: the last counts
    monkeypatch.setenv("COURSE_LANG", "ko")
    capsys.readouterr()
    quiz.summary("04_advanced_training")
    assert capsys.readouterr().out.startswith(f"04_advanced_training: {n}문제 중 2문제 정답(2문제 답함). 남은 문제: ")


def test_summary_of_the_chapter_adds_a_total_and_does_not_score_exam_answers(in_tmp, capsys):
    bank = quiz.load_bank()
    quiz.answer("trainer.eval_strategy", _letter("trainer.eval_strategy"))  # right, practice
    quiz.answer("trainer.optimizer_steps", 1377)  # right, practice (a number question)
    quiz.answer("trainer.fp16", _letter("trainer.fp16"), mode="exam")  # right, but an exam answer: not scored here
    capsys.readouterr()
    quiz.summary()
    lines = capsys.readouterr().out.splitlines()
    chapter = bank.select("chapter")  # lessons 1-6, the chapter quiz of lesson 7
    assert len(lines) == len({q.lesson for q in chapter}) + 1
    by_lesson = dict(line.split(": ", 1) for line in lines)
    assert by_lesson["02_trainer_api"].startswith(f"1 of {len(bank.lessons['02_trainer_api'])} correct (1 answered)")
    assert by_lesson["03_evaluation"].startswith(f"1 of {len(bank.lessons['03_evaluation'])} correct (1 answered)")
    assert by_lesson["04_advanced_training"].startswith(
        f"0 of {len(bank.lessons['04_advanced_training'])} correct (1 answered); 1 exam-mode answer(s) not scored here")
    assert by_lesson["All lessons"] == f"2 of {len(chapter)} correct (3 answered); 1 exam-mode answer(s) " \
                                      "not scored here: they are graded later"


def test_summary_of_a_keyless_exam_file_counts_answers_only(in_tmp, capsys):
    exam_file = quiz.export_exam("04_advanced_training", in_tmp / "exam.yaml")
    quiz.answer("trainer.fp16", "a", mode="exam", questions=exam_file)
    capsys.readouterr()
    quiz.summary("04_advanced_training", questions=exam_file)
    out = capsys.readouterr().out
    assert out.startswith(f"04_advanced_training: 1 of {len(quiz.load_bank().lessons['04_advanced_training'])} answered")
    assert "correct" not in out


def test_print_questions_for_front_ends_without_widgets(capsys):
    quiz.print_questions("trainer.eval_strategy", lang="en")
    out = capsys.readouterr().out
    letter = _letter("trainer.eval_strategy")
    assert "[trainer.eval_strategy]" in out and f"  {letter}) eval_strategy" in out and "Right" not in out


@pytest.mark.timeout(60)
def test_a_long_line_of_spaces_costs_only_itself(in_tmp, capsys):
    """The salvage reads each line in time linear in its length. A regular expression ending in `\\s*,?\\s*$`
    took quadratic time on `"a":{}`, 300,000 spaces and an `x` (about 10 minutes), and the quiz's set-up cell
    reads the student's file on the grader before any student code: the submission was "not graded" at the
    student's will (attack of 2026-12-06)."""
    for qid in ("trainer.fp16", "loop.no_grad"):
        quiz.answer(qid, _letter(qid))
    capsys.readouterr()
    key = quiz.load_responses()
    line = next(x for x in (in_tmp / "quiz_responses.json").read_text(encoding="utf-8").splitlines()
                if x.strip().startswith('"trainer.fp16"'))
    _damage(in_tmp, line, '"a":{}' + " " * 300_000 + "x")
    assert quiz.load_responses() == {"loop.no_grad": key["loop.no_grad"]}
    assert "quiz_responses.json is damaged" in capsys.readouterr().err
