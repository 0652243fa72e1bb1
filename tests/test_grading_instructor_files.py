"""The instructor's files are safe to open (issue 21): grades.csv, grades-canvas.csv and the report.

One real round trip on a private copy of the course, through the command an instructor runs
(`python -m course_utils.grading ...`: release, autograde in the sandbox, grades, report): students whose
ids, names and roster fields are spreadsheet formulas, and quiz answers no float can hold.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.grading import course as grading_course
from test_grading_roundtrip import QUIZ, released, submit  # tests/ is on sys.path under pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the grading sandbox needs Linux")

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP's list, restated: the test must not trust the code's
NUMERIC = "exam.padding_added"                     # the number question every variant has
HUGE = int("9" * 400)                              # no float holds it: float(HUGE) raises OverflowError
FILE_HUGE, KERNEL_HUGE, HONEST = "=2+5", "@SUM(A1)", "honest"
ABSENT = "-1+1"  # in the gradebook (roster import), no submission. Not graded as a submission: nbgrader's
# command line reads `--student -1+1` as an option (autograde passes the id as a separate argument)


def _cli(root: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {"COURSE_GRADING_CELL_TIMEOUT": "120", "COURSE_GRADING_SUBMISSION_TIMEOUT": "400"}
    return subprocess.run([sys.executable, "-m", "course_utils.grading", *args, "--course", str(root)],
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=timeout)


def _right_answers(root: Path, student: str) -> dict:
    """{question id: [choice ids] | number}: the key for this student's variant."""
    from course_utils.quiz import exam, load_bank

    key_bank = load_bank(root / "source" / QUIZ / "exam_bank.yaml")
    answers = {}
    for item in exam.variant_spec(root / "release" / QUIZ / "chapter_exam.yaml", student)["questions"]:
        q = key_bank.questions[item["id"]]
        answers[item["id"]] = q.key_value(item.get("params")) if q.numeric else list(q.correct_ids)
    assert NUMERIC in answers, f"{student}'s variant has no {NUMERIC}: pick another number question"
    return answers


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """release -> three quiz submissions -> autograde --jobs 1 -> names from a roster -> grades -> report."""
    from course_utils.quiz import responses

    root = grading_course.instructor_init(tmp_path_factory.mktemp("course"))
    for folder in (root / "source").iterdir():  # the quiz alone: every case here is a quiz submission (runtime)
        if folder.name != QUIZ:
            shutil.rmtree(folder)
    result = _cli(root, "release")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    # all right, answered with the widgets (the file they save)
    folder = submit(root, HONEST, QUIZ, released(root, QUIZ))
    for qid, answer in _right_answers(root, HONEST).items():
        responses.save(qid, answer, "exam", path=folder / "quiz_responses.json")
    # all right, but the number question's saved value has 400 digits (a hand-edited quiz_responses.json)
    saved = {qid: ({"value": HUGE} if qid == NUMERIC else {"choices": answer}) | {"mode": "exam"}
             for qid, answer in _right_answers(root, FILE_HUGE).items()}
    submit(root, FILE_HUGE, QUIZ, released(root, QUIZ), files={"quiz_responses.json": json.dumps(
        {"format": responses.FORMAT, "answers": saved})})
    # all right in its file, but the kernel sends the grader a 400-digit number for the number question (send
    # replaced; the grading kernel restores the quiz modules, not this one): it reaches the autograded notebook,
    # where the report reads the answers
    nb = released(root, QUIZ)
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "answers").source = (
        "import course_utils.grading.export as _export\n_real_send = _export.send\n"
        "def _send(**values):\n"
        f"    values['answers'] = {{**values['answers'], {NUMERIC!r}: int('9' * 400)}}\n"
        "    _real_send(**values)\n"
        "_export.send = _send\n")
    folder = submit(root, KERNEL_HUGE, QUIZ, nb)
    for qid, answer in _right_answers(root, KERNEL_HUGE).items():
        responses.save(qid, answer, "exam", path=folder / "quiz_responses.json")

    autograde = _cli(root, "autograde", "--jobs", "1")
    # Names and LMS ids as an LMS's class list brings them (`nbgrader db student import`), stored with nbgrader's
    # Gradebook API: that import opens its CSV with universal newlines, which would turn the \r into \n
    from nbgrader.api import Gradebook

    with Gradebook(grading_course.db_url(root)) as gb:
        gb.update_or_create_student(FILE_HUGE, first_name="\t=1+1", last_name="\r@SUM(A1)",
                                    email="+1@example.org", lms_user_id="1002")
        gb.update_or_create_student(HONEST, first_name="Ha", last_name="-Nul", lms_user_id="1001")
        gb.update_or_create_student(ABSENT, first_name="Dae", last_name="Lee", lms_user_id="1004")
    grades = _cli(root, "grades")
    without_roster = {name: _text(root / name) for name in ("grades.csv", "grades-canvas.csv")}
    roster = root / "roster.csv"
    roster.write_text("nbgrader_id,Student,ID,SIS User ID,SIS Login ID,Section\n"
                      f'"{FILE_HUGE}","=HYPERLINK(""http://x"")",2002,"+S-2","@s2","-1+1"\n'
                      f'"{KERNEL_HUGE}","Kim, Min",2003,S-3,mkim,"=A1"\n'
                      f'{HONEST},"Ha, Nul",2001,S-1,hnul,A\n', encoding="utf-8")
    with_roster = _cli(root, "grades", "--roster", str(roster))
    report = _cli(root, "report")
    return {"root": root, "autograde": autograde, "grades": grades, "with_roster": with_roster, "report": report,
            "without_roster": without_roster}


def _check_ran(result: subprocess.CompletedProcess) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    return output


def _text(path: Path) -> str:
    """The file as written: newline="" keeps a carriage return inside a field (read_text makes it a newline)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return handle.read()


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _formulas(rows: list[list[str]]) -> list[str]:
    """Every field a spreadsheet would evaluate: one that starts with OWASP's characters."""
    return [field for row in rows for field in row if field.startswith(FORMULA_STARTS)]


def test_every_submission_is_graded_and_one_bad_answer_costs_only_that_answer(course):
    _check_ran(course["autograde"])
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(course["without_roster"]["grades.csv"], newline=""))}
    # the 400-digit value in the saved file is one malformed answer, the other 7 are read and right
    # (math.isfinite on it raised OverflowError in the kernel, and every question of the quiz failed);
    # sent by the kernel, the check of that one question fails, the 7 others pass
    assert float(rows[HONEST]["score"]) == 8.0 == float(rows[HONEST]["max_score"])
    assert float(rows["'" + FILE_HUGE]["score"]) == 7.0
    assert float(rows["'" + KERNEL_HUGE]["score"]) == 7.0
    assert float(rows["'" + ABSENT]["score"]) == 0.0  # in the gradebook, nothing submitted


def test_grades_csv_has_no_formula_and_keeps_its_columns(course):
    _check_ran(course["grades"])
    text = course["without_roster"]["grades.csv"]
    rows = _rows(text)
    assert rows[0] == ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                       "raw_score", "late_submission_penalty", "score", "max_score"]
    assert _formulas(rows) == []
    by_id = {row[3]: row for row in rows[1:]}
    assert set(by_id) == {"'=2+5", "'@SUM(A1)", HONEST, "'-1+1"}
    assert by_id["'=2+5"][4:7] == ["'\r@SUM(A1)", "'\t=1+1", "'+1@example.org"]
    assert by_id[HONEST][4] == "'-Nul"
    # OWASP: the neutralised field is quoted too; the scores stay bare numbers (a spreadsheet sums them)
    assert '"\'=2+5"' in text and '"\'\t=1+1"' in text
    assert all(row[7:] == [str(float(x)) for x in row[7:]] for row in rows[1:])
    assert ",8.0,0.0,8.0,8.0" in text


def test_canvas_csv_has_no_formula_from_the_gradebook_or_the_roster(course):
    output = _check_ran(course["with_roster"])
    # without a roster: names and LMS ids from the gradebook (the student without an LMS id is left out)
    rows = _rows(course["without_roster"]["grades-canvas.csv"])
    assert _formulas(rows) == []
    assert rows[2:] == [["Lee, Dae", "1004", "", "", "", "", ""],                 # -1+1: nothing submitted
                        ["'\r@SUM(A1), \t=1+1", "1002", "", "", "", "7", "0"],      # =2+5 (no late penalty)
                        ["'-Nul, Ha", "1001", "", "", "", "8", "0"]]                # honest
    # with a roster whose every text field is a formula
    text = _text(course["root"] / "grades-canvas.csv")
    rows = _rows(text)
    assert _formulas(rows) == []
    assert rows[1] == ["Points Possible", "", "", "", "", "8", "(read only)"]
    assert ["'=HYPERLINK(\"http://x\")", "2002", "'+S-2", "'@s2", "'-1+1", "7", "0"] in rows
    assert ["Kim, Min", "2003", "S-3", "mkim", "'=A1", "7", "0"] in rows
    assert '"\'=A1",7,0\r\n' in text  # the neutralised field quoted, the score a bare number
    assert "In the roster but not in the gradebook" not in output


def test_report_skips_the_unusable_answer_names_it_and_analyses_the_rest(course):
    root = course["root"]
    output = _check_ran(course["report"])
    # named in the command's output (as repr: the id is the student's text) and in report/skipped.csv
    assert f"{QUIZ} '{KERNEL_HUGE}' {NUMERIC}: a number beyond a float's range" in output, output[-2000:]
    skipped = _rows(_text(root / "report" / "skipped.csv"))
    assert skipped == [["assignment", "student", "question", "reason"],
                       [QUIZ, "'" + KERNEL_HUGE, NUMERIC, "a number beyond a float's range"]]
    # FILE_HUGE's 400 digits never reached the report: the kernel read them as a malformed answer
    # the others are analysed: every student had the number question, one of them gave the right number
    questions = {r["question"]: r for r in csv.DictReader((root / "report" / "questions.csv").open(newline=""))}
    students = 4  # the three who submitted and ABSENT, who counts as not right
    assert questions[NUMERIC]["students"] == str(students)
    assert float(questions[NUMERIC]["share_right"]) == pytest.approx(1 / students, abs=1e-3)
    shares = {r["choice"]: float(r["share"]) for r in
              csv.DictReader((root / "report" / "distractors.csv").open(newline="")) if r["question"] == NUMERIC}
    assert shares["(not a usable number)"] == pytest.approx(1 / students, abs=1e-3)
    assert shares["(no answer)"] == pytest.approx(2 / students, abs=1e-3)
    # a choice question all three submitters had (right): 3 of those whose variant has it (ABSENT's may not)
    common = set.intersection(*(set(_right_answers(root, s)) for s in (HONEST, FILE_HUGE, KERNEL_HUGE))) - {NUMERIC}
    assert common
    absent = set(_right_answers(root, ABSENT))
    for qid in common:
        assert float(questions[qid]["share_right"]) == pytest.approx(3 / (3 + (qid in absent)), abs=1e-3), qid
    for name in ("items.csv", "exercises.csv", "questions.csv", "distractors.csv"):
        assert _formulas(_rows(_text(root / "report" / name))) == [], name
    assert (root / "report" / "item_analysis.png").stat().st_size > 10_000


def test_the_writer_neutralises_text_and_keeps_numbers_numbers():
    # every text field that starts like a formula, only those, and no number (a negative score stays -1.5)
    from course_utils.grading.spreadsheet import SpreadsheetWriter

    handle = io.StringIO(newline="")
    SpreadsheetWriter(handle).writerows([["=2+5", "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "a=b", "'=x"],
                                         [-1.5, 0, 8.0, None, "", True, "-1.5", "Kim, Min"]])
    assert handle.getvalue() == ('"\'=2+5","\'+1","\'-1+1","\'@SUM(A1)","\'\t=1","\'\r=1","a=b","\'=x"\r\n'
                                 '-1.5,0,8.0,"","",True,"\'-1.5","Kim, Min"\r\n')


def test_a_400_digit_answer_costs_that_answer_only(tmp_path, capsys):
    # the same cases without the sandbox: math.isfinite and float() raised OverflowError on HUGE
    from course_utils.quiz import analysis, responses
    from course_utils.quiz.numeric import parse_number

    path = tmp_path / "quiz_responses.json"
    path.write_text(json.dumps({"format": responses.FORMAT, "answers": {
        NUMERIC: {"value": HUGE, "mode": "exam"}, "exam.zero_grad": {"choices": ["d"], "mode": "exam"}}}))
    assert responses.load_responses(path) == {"exam.zero_grad": ["d"]}
    assert "1 answer(s) malformed" in capsys.readouterr().err
    assert parse_number(HUGE) is None and parse_number(-HUGE) is None and parse_number(float("nan")) is None
    assert parse_number(-3) == -3.0
    shares = analysis.choice_shares([{NUMERIC: HUGE}, {NUMERIC: 21}, {NUMERIC: float("inf")}, {}])[NUMERIC]
    assert shares == {analysis.UNUSABLE: 0.5, "21": 0.25, analysis.NO_ANSWER: 0.25}
