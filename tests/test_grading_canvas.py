"""grades-canvas.csv from a real nbgrader gradebook (nbgrader.api.Gradebook in a temporary course)."""
# nbgrader 0.9.6's own add_submission warns under SQLAlchemy 2.1 (objects not in session); not ours.
# pytestmark below keeps the output readable.
from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

from course_utils.grading.canvas import CANVAS_COLUMNS, read_roster, write_canvas_csv

pytestmark = pytest.mark.filterwarnings("ignore:Object of type <Submitted")


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory) -> Path:
    """Two assignments (5 and 10 points); alice submitted both (the second 1 point late), bob only the
    first, carol only the second; dave never submitted anything but is in the gradebook.
    Made once (nbgrader runs alembic on a new gradebook, seconds); each test gets a copy."""
    from nbgrader.api import Gradebook

    from course_utils.grading.canvas import _gradebook_url

    folder = tmp_path_factory.mktemp("gradebook")
    with Gradebook(_gradebook_url(folder)) as gb:
        for name, cells in (("01_preprocessing", {"ex1": 2, "ex2": 3}), ("02_trainer_api", {"ex1": 4, "ex2": 6})):
            gb.add_assignment(name)
            gb.add_notebook(name, name)
            for cell, points in cells.items():
                gb.add_grade_cell(cell, name, name, max_score=points, cell_type="code")
        gb.add_student("alice", first_name="Alice", last_name="Kim", lms_user_id="1001")
        gb.add_student("bob", first_name="Bob", last_name="Lee")
        gb.add_student("carol")
        gb.add_student("dave", lms_user_id="1004")
        scores = {("alice", "01_preprocessing"): {"ex1": 2, "ex2": 2},
                  ("alice", "02_trainer_api"): {"ex1": 4, "ex2": 3},
                  ("bob", "01_preprocessing"): {"ex1": 2, "ex2": 3},
                  ("carol", "02_trainer_api"): {"ex1": 0, "ex2": 0.5}}
        for (student, assignment), cells in scores.items():
            submission = gb.add_submission(assignment, student)
            for cell, score in cells.items():
                gb.find_grade(cell, assignment, assignment, student).auto_score = score
            if (student, assignment) == ("alice", "02_trainer_api"):
                submission.notebooks[0].late_submission_penalty = 1.0
        gb.db.commit()
    return folder / "gradebook.db"


@pytest.fixture
def course(tmp_path, gradebook):
    shutil.copy(gradebook, tmp_path / "gradebook.db")
    return tmp_path


def read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def write_roster(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8-sig")  # as Excel saves it, with a BOM
    return path


def test_roster_maps_nbgrader_ids_to_canvas_and_lists_who_is_missing(course, capsys):
    # A Canvas export with an nbgrader_id column added: its "Points Possible" row is skipped.
    roster = write_roster(course / "roster.csv", (
        "Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (77),nbgrader_id\n"
        "    Points Possible,,,,,10,\n"
        '"Kim, Alice",1001,S-1,akim,Sec A,,alice\n'
        '"Lee, Bob",1002,S-2,blee,Sec B,,bob\n'
        '"Park, Erin",1005,S-5,epark,Sec A,,erin\n'
        '"Student, Test",9999,,,Sec A,,\n'))
    result = write_canvas_csv(course, roster)
    assert result.path == course / "grades-canvas.csv" and os.fspath(result) == str(result.path)
    assert read(result.path) == [
        CANVAS_COLUMNS + ["01_preprocessing", "01_preprocessing late penalty", "02_trainer_api",
                          "02_trainer_api late penalty"],
        ["Points Possible", "", "", "", "", "5", "(read only)", "10", "(read only)"],  # Canvas skips read-only columns
        ["Kim, Alice", "1001", "S-1", "akim", "Sec A", "4", "0", "6", "1"],  # 7 - 1 late penalty
        ["Lee, Bob", "1002", "S-2", "blee", "Sec B", "5", "0", "", ""],    # no submission: empty, not 0
    ]
    assert result.not_in_roster == ["carol", "dave"] and result.not_in_gradebook == ["erin"]
    assert result.students == 2 and result.missing == ["carol", "dave", "erin"]
    printed = capsys.readouterr().out
    assert "carol, dave" in printed and "erin" in printed


def test_without_roster_the_gradebooks_lms_ids_are_used(course, capsys):
    result = write_canvas_csv(course)
    rows = read(result.path)
    assert rows[2:] == [["Kim, Alice", "1001", "", "", "", "4", "0", "6", "1"],
                        ["dave", "1004", "", "", "", "", "", "", ""]]
    assert result.not_in_roster == ["bob", "carol"] and result.not_in_gradebook == []
    assert "bob, carol" in capsys.readouterr().out


@pytest.mark.parametrize("text, message", [
    ("Student,ID,Section\n\"Kim, Alice\",1001,A\n", "needs a column 'nbgrader_id'"),
    ("nbgrader_id,Student,Section\nalice,\"Kim, Alice\",A\n", "at least one of ID"),
    ("nbgrader_id,ID\nalice,1001\nalice,1002\n", "more than once: alice"),
    ("nbgrader_id,ID,SIS Login ID\nalice,1001,\nbob,,\n", "for bob"),
])
def test_a_roster_that_cannot_be_matched_says_why(course, text, message):
    with pytest.raises(SystemExit, match=message):
        read_roster(write_roster(course / "roster.csv", text))
    assert not (course / "grades-canvas.csv").exists()


def test_command_line_and_no_gradebook(course, tmp_path_factory):
    from course_utils.grading import canvas as grading_canvas

    roster = write_roster(course / "roster.csv", "nbgrader_id,SIS Login ID\nbob,blee\n")
    assert grading_canvas.main(["--course", str(course), "--roster", str(roster)]) == 0
    assert read(course / "grades-canvas.csv")[2] == ["", "", "", "blee", "", "5", "0", "", ""]
    with pytest.raises(SystemExit, match="run `make autograde` first"):
        write_canvas_csv(tmp_path_factory.mktemp("empty"))


def test_formulas_in_the_roster_and_gradebook_are_written_as_text(course):
    # Student-controlled text (a name, a section, a student's own SIS login) that a spreadsheet would run
    # (OWASP's CSV injection: = + - @, a tab, a carriage return): quoted, with a leading ', never bare;
    # scores stay bare numbers
    roster = course / "roster.csv"
    roster.write_text('nbgrader_id,Student,ID,SIS User ID,SIS Login ID,Section\n'
                      'alice,"=HYPERLINK(""http://x"",""y"")",1001,+S-1,@akim,-1+1\n'
                      'bob,"Lee, Bob",1002,S-2,blee,"=A1"\n', encoding="utf-8")
    result = write_canvas_csv(course, roster)
    with open(result.path, newline="", encoding="utf-8") as handle:
        text = handle.read()
    rows = read(result.path)
    assert not [f for row in rows for f in row if f.startswith(("=", "+", "-", "@", "\t", "\r"))], rows
    assert rows[2] == ["'=HYPERLINK(\"http://x\",\"y\")", "1001", "'+S-1", "'@akim", "'-1+1", "4", "0", "6", "1"]
    assert rows[3] == ["Lee, Bob", "1002", "S-2", "blee", "'=A1", "5", "0", "", ""]
    assert '"\'=A1",5,0,"",""\r\n' in text and text.splitlines()[1].endswith(',5,"(read only)",10,"(read only)"')
