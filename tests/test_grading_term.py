"""A term through the real round trip (issue 25): due dates, late periods, a hard deadline, an extension, a due date
moved and a regrade, a forged timestamp.txt.

One private course (make instructor-init) with one assignment (01_preprocessing, the cheapest), nbgrader's real
file-system exchange in a temporary folder: the instructor releases it (`make release`, `nbgrader
release_assignment`), five students submit through nbgrader's own ExchangeSubmit, one after another with pauses in
between (the exchange's receipts come out in that order), and a sixth kind of student makes the inbox folder by
hand with a forged timestamp.txt; `make collect` records the receipts, course.yaml is then written around them,
and one `make autograde` batch, `make feedback` and `make grades` follow; then the due date is moved later, that
one student is regraded (`autograde --student --assignment`, what `make regrade` runs), and feedback and grades
run again. Scores are read back with nbgrader's Gradebook API, its export and the feedback pages.
"""
from __future__ import annotations

import csv
import math
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest

from course_utils.grading import course as grading_course
from course_utils.grading import inbox
from course_utils.grading import policy as course_policy
from course_utils.grading import receipts
from test_grading_roundtrip import A1, answered  # tests/ is on sys.path under pytest

pytestmark = [pytest.mark.integration,  # make test-integration (CI runs it after make test)
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the grading sandbox needs Linux")]

ON_TIME, LATE, FORGER, EXTENDED, TOO_LATE = "ontime", "late", "forger", "extended", "toolate"
FORGED = "2000-01-01 00:00:00.000000 UTC"  # what the forger's timestamp.txt and inbox folder name claim
POINTS = 6.0


def _cli(root: Path, *args: str, timeout: float = 900) -> str:
    env = {**os.environ, "COURSE_GRADING_CELL_TIMEOUT": "120", "COURSE_GRADING_SUBMISSION_TIMEOUT": "400"}
    result = subprocess.run([sys.executable, "-m", "course_utils.grading", *args, "--course", str(root)],
                            capture_output=True, text=True, env=env, timeout=timeout)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"


def _write_policy(root: Path, due: datetime, hard: datetime | None = None, extensions: dict | None = None) -> None:
    text = ("late:\n  period: 1 day\n  penalty: 10%\n  periods: 3\n"
            f"assignments:\n  {A1}:\n    due: {_utc(due)}\n")
    if hard is not None:
        text += f"    hard_deadline: {_utc(hard)}\n"
    text += "extensions:\n" + "".join(f"  {student}:\n    {A1}: {_utc(when)}\n"
                                      for student, when in (extensions or {}).items()) if extensions else ""
    (root / course_policy.POLICY_FILE).write_text(text, encoding="utf-8")


def _submit(exchange: Path, home: Path, student: str, nb) -> None:
    """`nbgrader submit 01_preprocessing` as the student runs it (nbgrader's own ExchangeSubmit, in this process)."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeSubmit
    from traitlets.config import Config

    folder = home / student / A1
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{A1}.ipynb")
    config = Config()
    config.CourseDirectory.course_id = "trainer-course"
    config.CourseDirectory.assignment_id = A1
    config.CourseDirectory.student_id = student
    config.Exchange.root = str(exchange)
    config.Exchange.assignment_dir = str(home / student)
    config.Exchange.cache = str(home / student / ".cache")
    coursedir = CourseDirectory(config=config)
    ExchangeSubmit(coursedir=coursedir, authenticator=Authenticator(config=config), config=config).start()


def _forge(exchange: Path, nb) -> None:
    """The inbox is writable by every student: a folder made by hand, its name and timestamp.txt claiming 2000."""
    folder = exchange / "trainer-course" / "inbound" / f"{FORGER}+{A1}+{FORGED}+handmade"
    folder.mkdir()
    nbformat.write(nb, folder / f"{A1}.ipynb")
    (folder / "timestamp.txt").write_text(FORGED)
    (folder / "submission_secret.txt").write_text("")  # nbgrader release_feedback stopped on it, for everyone


def _gradebook(root: Path) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(grading_course.db_url(root)) as gb:
        return {s.student.id: {"score": s.score, "penalty": s.late_submission_penalty, "timestamp": s.timestamp,
                               "extension": s.extension, "duedate": s.duedate}
                for s in gb.find_assignment(A1).submissions}


def _csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _page(root: Path, student: str) -> str:
    return (root / "feedback" / student / A1 / f"{A1}.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    from nbgrader.api import Gradebook

    root = grading_course.instructor_init(tmp_path_factory.mktemp("course"))
    for folder in (root / "source").iterdir():  # one assignment: every case here is a submission of it (runtime)
        if folder.name != A1:
            shutil.rmtree(folder)
    exchange, home = tmp_path_factory.mktemp("exchange"), tmp_path_factory.mktemp("home")
    with (root / "nbgrader_config.py").open("a", encoding="utf-8") as handle:
        handle.write(f"\nc.Exchange.root = {str(exchange)!r}\n")
        handle.write("c.ExchangeCollect.check_owner = False\n")  # every student here is this one OS user; the
        # owner check itself is tested in test_grading_collect.py with real users
    announced = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=7)
    _write_policy(root, announced)  # the term's first plan: due in a week
    out = {"root": root, "exchange": exchange, "home": home, "announced": announced, "release": _cli(root, "release")}
    out["released"] = nbformat.read(root / "release" / A1 / f"{A1}.ipynb", as_version=4)
    code, tail = grading_course.nbgrader(root, "release_assignment", A1, "--force", timeout=300)
    assert code == 0, tail

    # The receipts come out in this order; the pauses keep each group's apart from the next
    nb = answered(root, A1)
    _submit(exchange, home, ON_TIME, nb)
    time.sleep(1.5)
    for student in (LATE, EXTENDED):
        _submit(exchange, home, student, nb)
    _forge(exchange, nb)
    time.sleep(1.5)
    _submit(exchange, home, TOO_LATE, nb)
    out["collect"] = _cli(root, "collect")
    received = {s: receipts.read(root, s, A1) for s in (ON_TIME, LATE, FORGER, EXTENDED, TOO_LATE)}
    out["received"] = received

    # The dates the instructor settles on: due just after the first submission, a hard deadline just after the
    # middle group, an extension of a day for one of them
    due = datetime.fromtimestamp(math.ceil(received[ON_TIME].timestamp()), timezone.utc)
    middle = max(received[s] for s in (LATE, FORGER, EXTENDED))
    hard = datetime.fromtimestamp(math.ceil(middle.timestamp()), timezone.utc)
    out.update(due=due, hard=hard)
    _write_policy(root, due, hard, {EXTENDED: due + timedelta(days=1)})
    out["autograde"] = _cli(root, "autograde", "--jobs", "2")
    out["log"] = {row["student"]: row for row in _csv(root / "autograded" / "autograde-log.csv")}
    with Gradebook(grading_course.db_url(root)) as gb:  # Canvas ids, as an LMS class list brings them
        for n, student in enumerate(sorted(received)):
            gb.update_or_create_student(student, lms_user_id=str(1000 + n))
    out["grades"] = _cli(root, "grades")
    out["grades.csv"] = _csv(root / "grades.csv")
    with (root / "grades-canvas.csv").open(newline="", encoding="utf-8") as handle:
        out["canvas"] = list(csv.reader(handle))
    out["feedback"] = _cli(root, "feedback")
    out["pages"] = {s: _page(root, s) for s in received}
    out["gradebook"] = _gradebook(root)

    # The due date moves a day later for everyone; the late student is regraded (make regrade)
    _write_policy(root, due + timedelta(days=1))
    out["regrade"] = _cli(root, "autograde", f"--student={LATE}", f"--assignment={A1}")
    out["regraded"] = _gradebook(root)
    out["feedback again"] = _cli(root, "feedback")
    out["pages again"] = {s: _page(root, s) for s in received}
    out["grades again"] = _cli(root, "grades")
    return out


def test_the_released_notebook_opens_with_the_due_date_and_the_late_policy(term):
    first = term["released"].cells[0]
    assert first.cell_type == "markdown" and first.id == grading_course.NOTE_CELL_ID
    assert f"**Due date:** {course_policy.show_time(term['announced'])}." in first.source
    assert "10 % of the points possible taken off per started period of 1 day late (at most 3 periods" in first.source
    assert "when the course's exchange received your submission" in first.source
    source = nbformat.read(term["root"] / "source" / A1 / f"{A1}.ipynb", as_version=4)
    assert not any("Due date" in cell.source for cell in source.cells)  # the source stays the single source
    assert "(with its due date)" in term["release"]


def test_collect_records_the_exchanges_receipts_in_the_order_the_work_arrived(term):
    received = term["received"]
    assert all(received.values()), received
    assert received[ON_TIME] + timedelta(seconds=1) < min(received[s] for s in (LATE, FORGER, EXTENDED))
    assert max(received[s] for s in (LATE, FORGER, EXTENDED)) + timedelta(seconds=1) < received[TOO_LATE]
    assert "5 receipt(s) recorded" in term["collect"]


def test_a_submission_on_time_loses_nothing(term):
    graded = term["gradebook"][ON_TIME]
    assert graded["score"] == POINTS and not graded["penalty"]
    assert term["log"][ON_TIME]["late_penalty"] == "0.0"
    assert "before the due date" in term["log"][ON_TIME]["late"]


def test_one_late_by_part_of_a_period_loses_that_periods_share(term):
    graded = term["gradebook"][LATE]
    assert graded["score"] == POINTS and graded["penalty"] == pytest.approx(0.6)  # 10 % of 6 points
    reason = term["log"][LATE]["late"]
    assert "after the due date" in reason and "1 started late period of 1 day at 10 % each" in reason
    page = term["pages"][LATE]
    assert f"{A1} (Score: 5.4 / 6.0)" in page and "Late submission penalty (Score: -0.6)" in page  # nbgrader's own
    assert ("1 started late period of 1 day at 10 % each, 10 % of the points possible taken off: −0.6 point(s)."
            in page)


def test_one_past_the_hard_deadline_scores_zero_with_the_reason(term):
    graded = term["gradebook"][TOO_LATE]
    assert graded["score"] == POINTS and graded["penalty"] == pytest.approx(POINTS)  # its work is kept, its score 0
    hard = course_policy.show_time(term["hard"])
    assert f"after the hard deadline {hard}: the submission scores 0" in term["log"][TOO_LATE]["late"]
    page = term["pages"][TOO_LATE]
    assert f"{A1} (Score: 0.0 / 6.0)" in page and f"after the hard deadline {hard}" in page


def test_an_extension_makes_a_late_one_on_time(term):
    graded = term["gradebook"][EXTENDED]
    assert term["received"][EXTENDED] > term["due"]  # late for the class ...
    assert graded["score"] == POINTS and not graded["penalty"]  # ... on time for this student
    assert graded["extension"] == timedelta(days=1)  # nbgrader's own record of it
    assert "(your extension): no late penalty" in term["pages"][EXTENDED]


def test_a_forged_timestamp_decides_nothing(term):
    graded = term["gradebook"][FORGER]
    collected = term["root"] / "submitted" / FORGER / A1 / "timestamp.txt"
    assert collected.read_text() == FORGED  # nbgrader collect copied the forgery ...
    assert graded["timestamp"] == term["received"][FORGER].replace(tzinfo=None)  # ... the gradebook has the receipt
    assert graded["penalty"] == pytest.approx(0.6)
    assert "received 2000" not in term["log"][FORGER]["late"]


def test_gradebook_exports_and_pages_carry_the_score_after_the_penalty(term):
    rows = {row["student_id"]: row for row in term["grades.csv"]}
    columns = ("raw_score", "late_submission_penalty", "score")
    assert {s: tuple(float(r[c]) for c in columns) for s, r in rows.items()} == {
        ON_TIME: (6, 0, 6), LATE: (6, 0.6, 5.4), FORGER: (6, 0.6, 5.4), EXTENDED: (6, 0, 6), TOO_LATE: (6, 6, 0)}
    assert all(r["duedate"] == str(term["due"].replace(tzinfo=None)) for r in rows.values())
    header, points, *students = term["canvas"]
    assert header[5:] == [A1, f"{A1} late penalty"] and points[5:] == ["6", "(read only)"]
    assert sorted(row[5:] for row in students) == [["0", "6"], ["5.4", "0.6"], ["5.4", "0.6"], ["6", "0"], ["6", "0"]]
    assert "First export" in term["grades"]


def test_a_due_date_moved_later_and_a_regrade_clear_the_penalty(term):
    before, after = term["gradebook"], term["regraded"]
    assert after[LATE]["score"] == POINTS and not after[LATE]["penalty"]
    assert after[LATE]["duedate"] == (term["due"] + timedelta(days=1)).replace(tzinfo=None)
    assert {s: after[s]["penalty"] for s in (FORGER, TOO_LATE)} == {s: before[s]["penalty"] for s in (FORGER, TOO_LATE)}
    assert f"{A1} (Score: 6.0 / 6.0)" in term["pages again"][LATE]
    assert "Changed since the last export (grades-previous.csv): 1" in term["grades again"]
    assert f"{LATE}/{A1}: score 5.4 -> 6 (late penalty 0.6 -> 0)" in term["grades again"]


def test_earlier_feedback_is_kept_dated_and_the_newest_is_the_one_released(term):
    root = term["root"]
    kept = sorted((root / "feedback").glob(f"*/{A1}/history/*/{A1}.html"))
    assert [p.relative_to(root / "feedback").parts[0] for p in kept] == [LATE], kept  # pages that changed, only
    assert kept[0].read_text(encoding="utf-8") == term["pages"][LATE]  # the page the student had before
    stamp = kept[0].parent.name
    assert datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc) > term["received"][TOO_LATE]
    assert "1 earlier page(s) kept in history/" in term["feedback again"]
    assert sorted(p.name for p in (root / "feedback" / LATE / A1).glob("*.html")) == [f"{A1}.html"]


def test_a_broken_submission_secret_does_not_stop_release_feedback_for_the_class(term):
    """The forger's submission_secret.txt is empty: make feedback replaces it, says so, and nbgrader
    release_feedback releases every page (it stopped at an AssertionError before: attack of 2026-12-06)."""
    root = term["root"]
    assert (f"{FORGER}/{A1}: submission_secret.txt was not one nbgrader submit writes: replaced"
            in term["feedback"]), term["feedback"]
    assert len((root / "feedback" / FORGER / A1 / "submission_secret.txt").read_text()) == 128
    code, tail = grading_course.nbgrader(root, "release_feedback", A1, timeout=300)
    assert code == 0, tail
    released = list((term["exchange"] / "trainer-course" / "feedback").glob("*.html"))
    assert len(released) == len(term["received"]), released


def test_collect_gives_a_receipt_to_what_plain_nbgrader_collect_copied_and_keeps_the_others(term):
    """Last (it adds a submission): one collected by plain `nbgrader collect` gets its receipt from the next `make
    collect`; the receipts recorded before stay as they were (a later collect is no later receipt)."""
    root = term["root"]
    _submit(term["exchange"], term["home"], "plain", answered(root, A1))
    code, tail = grading_course.nbgrader(root, "collect", A1, timeout=300)
    assert code == 0 and (root / "submitted" / "plain" / A1).is_dir(), tail
    assert receipts.read(root, "plain", A1) is None
    output = _cli(root, "collect")
    assert "1 receipt(s) recorded" in output
    assert receipts.read(root, "plain", A1) > term["received"][TOO_LATE]
    assert {s: receipts.read(root, s, A1) for s in term["received"]} == term["received"]


# ---------------------------------------------------------------- the receipt itself (no nbgrader)
def test_a_receipt_moves_later_with_any_change_and_never_earlier(tmp_path):
    folder = tmp_path / "inbox"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.ipynb").write_text("{}")
    first = inbox.receipt_of(folder)
    time.sleep(0.05)
    os.utime(folder / "sub" / "a.ipynb", (0, 0))  # backdating the modification time ...
    second = inbox.receipt_of(folder)
    assert second > first  # ... is a change, now
    time.sleep(0.05)
    old = tmp_path / "old.ipynb"
    old.write_text("{}")
    os.utime(old, (0, 0))
    time.sleep(0.05)
    old.rename(folder / "sub" / "moved.ipynb")  # a file made earlier, moved in later
    assert inbox.receipt_of(folder) > second
    assert inbox.receipt_of(tmp_path / "gone") >= second  # nothing to read: the present time, never earlier
