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
    monkeypatch.setitem(quiz._session, "mode", "practice")
    monkeypatch.setitem(quiz._session, "questions", None)
    return tmp_path


def test_answer_saves_at_once_and_prints_feedback(in_tmp, capsys):
    quiz.answer("trainer.eval_strategy", "b")
    out = capsys.readouterr().out
    assert "Correct" in out and "eval_strategy" in out
    quiz.answer("trainer.eval_strategy", "D")
    assert "Not quite" in capsys.readouterr().out
    quiz.answer("loop.accelerate", ["b", "a"])
    quiz.answer("curves.erratic", "a, b")
    assert quiz.load_responses() == {"trainer.eval_strategy": ["d"], "loop.accelerate": ["a", "b"], "curves.erratic": ["a", "b"]}
    assert [p.name for p in in_tmp.iterdir()] == ["quiz_responses.json"]  # no temporary file left behind
    data = json.loads((in_tmp / "quiz_responses.json").read_text(encoding="utf-8"))
    assert data["format"] == responses.FORMAT and data["answers"]["trainer.eval_strategy"]["attempts"] == 2


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
    for qid, letter in [("trainer.fp16", "b"), ("trainer.eval_strategy", "b"), ("loop.no_grad", "a")]:
        quiz.answer(qid, letter)
    capsys.readouterr()
    _damage(in_tmp, '"letters": ["b"], "mode": "practice", "saved"', '"letters": ["b"')  # first of the two "b" lines
    damaged = (in_tmp / "quiz_responses.json").read_text(encoding="utf-8")

    assert quiz.load_responses() == {"trainer.fp16": ["b"], "loop.no_grad": ["a"]}  # eval_strategy's line was damaged
    err = capsys.readouterr().err
    assert "quiz_responses.json is damaged" in err and "left unchanged" in err
    assert (in_tmp / "quiz_responses.json").read_text(encoding="utf-8") == damaged  # grading never writes

    quiz.answer("trainer.gradient_accumulation", "b")  # the learner's kernel repairs
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
    answers = {"trainer.eval_strategy": ["b"], "trainer.fp16": ["a"], "loop.accelerate": ["b", "a"], "not.in_bank": ["a"]}
    assert quiz.score(answers) == {"trainer.eval_strategy": True, "trainer.fp16": False, "loop.accelerate": True}
    lesson = quiz.score(answers, ids="04_advanced_training")
    assert lesson == {"trainer.fp16": False, "trainer.gradient_accumulation": False,
                      "advanced.effective_batch": False, "advanced.lr_schedule": False}
    quiz.answer("trainer.eval_dataset", "c")
    assert quiz.score(in_tmp / "quiz_responses.json") == {"trainer.eval_dataset": True}
    assert quiz.score() == {"trainer.eval_dataset": True}


def test_summary_lists_done_and_open_questions(in_tmp, capsys):
    quiz.answer("trainer.fp16", "a")
    capsys.readouterr()
    quiz.summary("04_advanced_training")
    out = capsys.readouterr().out
    assert out.startswith("04_advanced_training: 1/4 answered; still open: trainer.gradient_accumulation")
    assert "Correct" not in out and "wrong" not in out.lower()


def test_print_questions_for_front_ends_without_widgets(capsys):
    quiz.print_questions("trainer.eval_strategy", lang="en")
    out = capsys.readouterr().out
    assert "[trainer.eval_strategy]" in out and "  b) eval_strategy" in out and "Right" not in out
