"""The nbgrader source assignments are well formed, and the quiz key agrees with the question bank.

Fast checks (no kernel): what RebuildFromSource relies on, what the release must never contain,
and that the chapter quiz's hidden key and exam file match quizzes/ (a bank edit must not silently
change what is graded right).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from course_utils import quiz
from course_utils.grading.checks import HIDDEN_BEGIN, HIDDEN_END, split_test


def hidden_part_with_marker(source: str) -> str:
    return source.split(HIDDEN_BEGIN, 1)[1].split(HIDDEN_END, 1)[0]

GRADING = Path(__file__).resolve().parent.parent / "grading"
SOURCES = sorted(GRADING.glob("source/*/*.ipynb"))
QUIZ = GRADING / "source" / "07_chapter_quiz"


def test_one_assignment_per_lesson_and_the_quiz():
    assert [p.stem for p in SOURCES] == ["01_preprocessing", "02_trainer_api", "03_evaluation",
                                         "04_advanced_training", "07_chapter_quiz", "08_use_your_model"]
    assert all(p.parent.name == p.stem for p in SOURCES)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_every_cell_is_an_nbgrader_cell(path):
    nb = nbformat.read(path, as_version=4)
    ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells]
    assert None not in ids, "every source cell needs nbgrader metadata (RebuildFromSource matches cells by id)"
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        meta = cell.metadata["nbgrader"]
        assert cell.cell_type == "markdown" or not cell.get("outputs"), "outputs must be stripped"
        if meta.get("solution"):
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, meta["grade_id"]
        elif meta.get("grade"):
            assert meta["locked"] and meta["points"] > 0, meta["grade_id"]
            assert "### BEGIN HIDDEN TESTS" in cell.source and "### END HIDDEN TESTS" in cell.source, \
                f"{meta['grade_id']}: every test cell has hidden tests"
            exported, check = split_test(hidden_part_with_marker(cell.source))
            assert check.strip() and "send(" in exported and "assert" not in exported, \
                f"{meta['grade_id']}: the hidden test sends plain values (send) and judges them after ### CHECK"
            assert "send(" not in check and "import course_utils" not in check, \
                f"{meta['grade_id']}: the check runs outside the kernel, on `data` alone"
        else:
            assert meta["locked"], f"{meta['grade_id']}: text and set-up cells are read-only"


def solution_key(name: str = "KEY") -> dict:
    """A table of the chapter exam's solution cell: KEY (choice ids), FACTS or FORMULAS (number questions)."""
    nb = nbformat.read(QUIZ / "07_chapter_quiz.ipynb", as_version=4)
    solution = "\n".join(c.source for c in nb.cells if c.metadata["nbgrader"].get("solution"))
    return ast.literal_eval(re.search(rf"^{name} = (\{{.*\}})$", solution, re.M).group(1))


def test_exam_key_lives_with_the_instructor_and_matches_the_release():
    from course_utils.quiz import exam

    key_bank = quiz.load_bank(QUIZ / "exam_bank.yaml")
    practice = quiz.load_bank()
    assert not set(key_bank.questions) & set(practice.questions), "an exam question is in the installed bank"
    assert exam.mismatches(QUIZ / "exam_bank.yaml", QUIZ / "chapter_exam.yaml") == []
    assert solution_key() == {qid: list(q.correct_ids) for qid, q in key_bank.questions.items() if not q.numeric}
    numbers = {qid: q for qid, q in key_bank.questions.items() if q.numeric}
    assert solution_key("FORMULAS") == {qid: q.answer["formula"] for qid, q in numbers.items()}
    assert solution_key("FACTS") == {qid: q.facts for qid, q in numbers.items() if q.facts}


def test_exam_file_has_no_key_and_one_test_per_question_of_a_variant():
    text = (QUIZ / "chapter_exam.yaml").read_text(encoding="utf-8")
    exam_file = yaml.safe_load(text)
    assert exam_file["kind"] == "exam" and "correct" not in text and "explain" not in text and "formula" not in text
    per_variant = {len(v["questions"]) for v in exam_file["variants"]}
    nb = nbformat.read(QUIZ / "07_chapter_quiz.ipynb", as_version=4)
    tests = [c for c in nb.cells if c.metadata["nbgrader"].get("grade")]
    assert per_variant == {len(tests)}, "one test cell per question of a student's variant"


def test_instructor_init_makes_a_private_course_outside_the_repository(tmp_path):
    from course_utils.grading import course

    target = course.instructor_init(tmp_path / "private")
    assert (target / "nbgrader_config.py").is_file() and (target / "source" / "07_chapter_quiz" / "exam_bank.yaml").is_file()
    assert course.course_root(target) == target and oct(target.stat().st_mode & 0o777) == "0o700"
    with pytest.raises(SystemExit, match="inside the public repository"):
        course.instructor_init(GRADING / "private-copy")
    with pytest.raises(SystemExit, match="not empty"):
        course.instructor_init(target)
