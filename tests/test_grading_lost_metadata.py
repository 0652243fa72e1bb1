"""Honest work keeps its points when its cells lost their nbgrader metadata (issue 21, part 6).

A student who pastes the work into a new notebook, or saves it with a tool that drops cell metadata, hands in
cells with no grade ids. RebuildFromSource must still find which cell is which: a cell whose text is what the
release shows of a read-only or test cell is that cell, and each answer is the student's first unidentified cell
after the source cell that precedes the answer (the exercise's text). Before the fix the rebuilt notebook ran the
restored tests before the student's cells: 0/6 for the key's answers.

Fast checks call RebuildFromSource on a released course (order of the rebuilt cells); the round trip grades
stripped notebooks with the real CLI and sandbox. The tamper defences (edited, deleted, duplicated tests) are
tests/test_grading_roundtrip.py's; one stripped tamperer here shows that losing the metadata opens no new door.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid

import nbformat
import pytest

A1, A4 = "01_preprocessing", "04_advanced_training"


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def key_answers(root, assignment: str) -> dict[str, str]:
    """The instructor's answers (the source's solution cells without the BEGIN/END SOLUTION lines)."""
    nb = nbformat.read(root / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    return {grade_id(c): "\n".join(line for line in c.source.splitlines() if "SOLUTION" not in line)
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}


def stripped(root, assignment: str, **answers: str):
    """The release with the key's answers (or the ones given), every cell's metadata and id gone: what a
    new notebook with the cells pasted in, or a tool that drops metadata, hands in."""
    nb = nbformat.read(root / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    key = {**key_answers(root, assignment), **answers}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = key[grade_id(cell)]
        cell.metadata = {}
        cell.id = uuid.uuid4().hex[:8]
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A private course with lessons 1 and 4 only (short release and grading), released."""
    if not sys.platform.startswith("linux") or not shutil.which("bwrap"):
        pytest.fail("the grading sandbox needs Linux and bubblewrap (apt-get install bubblewrap)")
    from course_utils.grading import course as grading_course

    root = grading_course.instructor_init(tmp_path_factory.mktemp("lost") / "course")
    for folder in (root / "source").iterdir():
        if folder.name not in (A1, A4):
            shutil.rmtree(folder)
    grading_course.release(root)
    return root


def rebuild(root, assignment: str, nb):
    """RebuildFromSource alone, as nbgrader's sanitize step calls it (the released gradebook)."""
    from course_utils.grading.preprocessors import RebuildFromSource

    rebuilder = RebuildFromSource(source_directory=str(root / "source"))
    resources = {"nbgrader": {"assignment": assignment, "notebook": assignment,
                              "db_url": "sqlite:///" + str(root / "gradebook.db")}}
    return rebuilder.preprocess(nb, resources)[0]


def order(nb) -> list[str]:
    """The rebuilt notebook as grade ids ("+" for the student's own plain cells)."""
    return [grade_id(c) or "+" for c in nb.cells]


# ---------------------------------------------------------------- fast: the rebuilt order
def test_stripped_cells_are_recognised_in_place(course):
    nb = rebuild(course, A1, stripped(course, A1))
    source = nbformat.read(course / "source" / A1 / f"{A1}.ipynb", as_version=4)
    assert order(nb) == [grade_id(c) for c in source.cells], "every cell found, in the source's (and student's) order"
    key = key_answers(course, A1)
    answers = {grade_id(c): c.source for c in nb.cells if c.metadata["nbgrader"].get("solution")}
    assert answers == key, "each answer cell holds the student's answer, none came back empty"


def test_stripped_sections_moved_and_extra_cells_keep_the_students_order(course):
    """Exercise 2 done before exercise 1, a scratch cell before an answer, a note after it: each answer is
    found between its exercise's text and its tests, and the student's own cells stay where they were."""
    nb = stripped(course, A4)
    texts = [c.source for c in nbformat.read(course / "release" / A4 / f"{A4}.ipynb", as_version=4).cells]
    at = {name: next(i for i, t in enumerate(texts) if t.startswith(start)) for name, start in
          (("ex1", "## Exercise 1"), ("ex2", "## Exercise 2"), ("ex3", "## Exercise 3"))}
    section2 = nb.cells[at["ex2"]:at["ex3"]]
    cells = nb.cells[:at["ex1"]] + section2 + nb.cells[at["ex1"]:at["ex2"]] + nb.cells[at["ex3"]:]
    ex3 = cells.index(next(c for c in cells if c.source.startswith("## Exercise 3")))
    cells.insert(ex3 + 1, nbformat.v4.new_code_cell("print('trying things')"))
    cells.insert(ex3 + 3, nbformat.v4.new_markdown_cell("My note: cosine decays to zero."))
    nb.cells = cells
    rebuilt = rebuild(course, A4, nb)
    # The source's opening (up to exercise 1's text) always runs first; then the student's order. The scratch
    # cell, first in its section, is taken as the answer cell; the real answer and the note stay plain cells
    # right after it. All of them run before the tests, as the student ran them.
    assert order(rebuilt) == ["intro", "setup", "ex1_text", "ex2_text", "ex2_answer", "ex2_fp16", "ex1_answer",
                              "ex1_effective_batch", "ex1_eval_epoch", "ex3_text", "ex3_answer", "+", "+", "ex3_cosine"]
    assert [c.source for c in rebuilt.cells[10:13]] == [
        "print('trying things')", key_answers(course, A4)["ex3_answer"], "My note: cosine decays to zero."]


def test_stripped_answers_without_text_or_tests_are_matched_in_order(course):
    """Only the student's code cells pasted into a new notebook: the answers, in order, are the answer cells;
    the text and the tests come back from the gradebook after them."""
    nb = stripped(course, A1)
    nb.cells = [c for c, s in zip(nb.cells, nbformat.read(course / "source" / A1 / f"{A1}.ipynb", as_version=4).cells)
                if s.metadata["nbgrader"].get("solution")]
    rebuilt = order(rebuild(course, A1, nb))
    assert rebuilt.index("ex1_answer") < rebuilt.index("ex1_pair") < rebuilt.index("ex2_answer") \
        < rebuilt.index("ex2_token_types") < rebuilt.index("ex3_answer") < rebuilt.index("ex3_collator")
    assert "+" not in rebuilt


# ---------------------------------------------------------------- the real round trip
@pytest.fixture(scope="module")
def graded(course):
    submissions = {
        ("stripped", A1): (stripped(course, A1), 6),
        ("stripped", A4): (stripped(course, A4), 5),
        # nothing answered: recognising cells by their text must not give points for free
        ("blank", A1): (stripped(course, A1, **{g: "# YOUR CODE HERE\nraise NotImplementedError()" for g in
                                                key_answers(course, A1)}), 0),
    }
    # Without metadata, exercise 2 wrong, every test cell edited to `pass` and a test of its own added: the
    # edited cells are only the student's plain cells, the real tests come back from the gradebook and judge
    # (5 of 6: exercise 2 fails)
    tamperer = stripped(course, A1, ex2_answer="n_second_sentence_tokens = 18")
    for cell in tamperer.cells:
        if cell.cell_type == "code" and cell.source.startswith("# Exercise"):
            cell.source = "pass  # no more test"
    tamperer.cells.append(nbformat.v4.new_code_cell("print('all tests passed')"))
    submissions[("tamperer", A1)] = (tamperer, 5)
    for (student, assignment), (nb, _) in submissions.items():
        (course / "submitted" / student / assignment).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, course / "submitted" / student / assignment / f"{assignment}.ipynb")
    env = {**os.environ, "COURSE_GRADING_CELL_TIMEOUT": "120"}  # set-up is slow under the parallel test load
    result = subprocess.run([sys.executable, "-m", "course_utils.grading", "--course", str(course), "autograde",
                             "--jobs", "1"], capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gb:
        scores = {(s.student.id, a.name): s.score for a in gb.assignments for s in a.submissions}
    return {key: (scores.get(key), want) for key, (_, want) in submissions.items()}


def test_stripped_notebooks_score_what_their_work_earns(graded):
    wrong = [f"{student}/{assignment}: {got}, want {want}" for (student, assignment), (got, want) in graded.items()
             if got != want]
    assert not wrong, "\n".join(wrong)
