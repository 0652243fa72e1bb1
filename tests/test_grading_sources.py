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
            hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1]
            assert "_b.type(" in hidden, f"{meta['grade_id']}: hidden tests check exact types"
        else:
            assert meta["locked"], f"{meta['grade_id']}: text and set-up cells are read-only"


def quiz_key() -> dict[str, list[str]]:
    """{question id: letters} as the hidden tests of the chapter quiz grade it."""
    nb = nbformat.read(QUIZ / "07_chapter_quiz.ipynb", as_version=4)
    key = {}
    for cell in nb.cells:
        qid = re.search(r'quiz\.load_responses\(\)\.get\("([^"]+)"\)', cell.source)
        letters = re.search(r"_b\.sorted\(_given\) == (\[[^\]]*\])", cell.source)
        if qid and letters:
            key[qid.group(1)] = ast.literal_eval(letters.group(1))
    return key


def test_quiz_hidden_key_matches_the_bank():
    key = quiz_key()
    assert len(key) == 10
    bank = quiz.load_bank()
    assert all(quiz.score({qid: letters}, bank)[qid] for qid, letters in key.items()), \
        "the hidden key of 07_chapter_quiz disagrees with quizzes/: rebuild the quiz assignment"
    solution = "\n".join(c.source for c in nbformat.read(QUIZ / "07_chapter_quiz.ipynb", as_version=4).cells
                         if c.metadata["nbgrader"].get("solution"))
    answers = dict(re.findall(r'quiz\.answer\("([^"]+)", "([^"]+)"\)', solution))
    assert {q: sorted(v.split(",")) for q, v in answers.items()} == key


def test_exam_file_has_the_questions_and_no_key():
    text = (QUIZ / "chapter_exam.yaml").read_text(encoding="utf-8")
    exam = yaml.safe_load(text)
    assert exam["kind"] == "exam" and "correct" not in text and "explain" not in text
    assert [q["id"] for q in exam["questions"]] == list(quiz_key())
    bank = quiz.load_bank()
    for q in exam["questions"]:  # same wording and order of choices as the bank the key comes from
        assert [c["text"]["en"] for c in q["choices"]] == [c.text["en"] for c in bank.questions[q["id"]].choices]
