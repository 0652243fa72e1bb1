"""Late penalties in nbgrader's own gradebook, recomputed from nothing at every autograde.

Before nbgrader grades a submission, the gradebook is made to say what course.yaml and the exchange's receipt say
(``sync_due_dates`` once per batch; ``prepare`` per submission): each assignment's due date, the student's
extension (nbgrader's ``SubmittedAssignment.extension``) and the submission's time (the receipt, or none). nbgrader's
``AssignLatePenalties`` then asks ``PolicyLatePenalty`` — nbgrader's ``LateSubmissionPlugin`` interface — for each
notebook's penalty: the share of the points possible ``policy.assess`` gave (handed over in the environment), capped
by nbgrader at what the notebook scored. So ``nbgrader export``, the formgrader and the feedback page's score show
the score after the penalty as nbgrader computes it, and nothing of an earlier grading survives: a due date moved or
an extension granted, then a regrade, gives the penalty of the new dates (nbgrader issue #723 cannot happen).

``check_applied`` reads the penalties back after nbgrader ran (a penalty that is not course.yaml's is set right and
the log says why). ``save``/``load`` keep each graded submission's
verdict beside its nbgrader log (``logs/<student>/<assignment>.late.json``) for the feedback page.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from course_utils.grading import policy as course_policy
from course_utils.grading import receipts
from course_utils.grading.course import assignments, db_url

FRACTION_VARIABLE = "COURSE_GRADING_LATE_FRACTION"
PLUGIN = "course_utils.grading.lateness.PolicyLatePenalty"
PLUGIN_OPTION = f"--AssignLatePenalties.plugin_class={PLUGIN}"
TOLERANCE = 1e-6


@dataclass
class Prepared:
    """One submission's verdict, and what the gradebook held before (put back when grading fails)."""

    verdict: course_policy.Verdict
    schedule: course_policy.Schedule | None
    received: datetime | None                 # the exchange's receipt (None: none recorded)
    earlier: tuple | None = None  # (timestamp, extension) of a submission graded before


@dataclass
class Record:
    """What the feedback page and the log say about lateness (``logs/<student>/<assignment>.late.json``)."""

    reason: str
    fraction: float
    penalty: float = 0.0                      # points taken off the whole submission
    notebooks: dict = field(default_factory=dict)  # notebook -> {"penalty", "max_score"}
    received: str | None = None
    due: str | None = None


def load_policy(root: Path) -> course_policy.Policy | None:
    """course.yaml of this course (None without one); a mistake stops the command with one line per mistake."""
    if not (Path(root) / course_policy.POLICY_FILE).is_file():
        return None
    return course_policy.load_or_exit(root, assignments(root))


def _utc_naive(moment: datetime | None) -> datetime | None:
    """nbgrader stores times as naive UTC."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment is not None else None


def sync_due_dates(root: Path, policy: course_policy.Policy) -> None:
    """Every assignment's due date in the gradebook is course.yaml's (none where course.yaml gives none)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url(root)) as gb:
        for assignment in gb.assignments:
            schedule = policy.schedule(assignment.name)
            assignment.duedate = _utc_naive(schedule.due) if schedule else None
        gb.db.commit()


def prepare(root: Path, student: str, assignment: str, policy: course_policy.Policy | None) -> Prepared:
    """The verdict for this submission's receipt, written into the gradebook for nbgrader (before it grades)."""
    from nbgrader.api import Gradebook, MissingEntry

    schedule = policy.schedule(assignment, student) if policy else None
    received = receipts.read(root, student, assignment)
    prepared = Prepared(course_policy.assess(schedule, received), schedule, received)
    base = policy.schedule(assignment) if policy else None
    extension = schedule.due - base.due if schedule is not None and schedule.extended else None
    with Gradebook(db_url(root)) as gb:
        try:
            submission = gb.find_submission(assignment, student)
            prepared.earlier = (submission.timestamp, submission.extension)
        except MissingEntry:
            submission = gb.update_or_create_submission(assignment, student)
        submission.timestamp = _utc_naive(received)
        submission.extension = extension
        gb.db.commit()
    return prepared


def restore(root: Path, student: str, assignment: str, prepared: Prepared) -> None:
    """Grading failed: the submission graded before keeps the times its kept score was computed with."""
    from nbgrader.api import Gradebook, MissingEntry

    if prepared.earlier is None:
        return
    with Gradebook(db_url(root)) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return
        submission.timestamp, submission.extension = prepared.earlier
        gb.db.commit()


def environment(prepared: Prepared) -> dict:
    return {FRACTION_VARIABLE: repr(prepared.verdict.fraction)}


def check_applied(root: Path, student: str, assignment: str, prepared: Prepared) -> tuple[Record, str]:
    """Read back the penalties nbgrader stored: (the record for the feedback page, a warning or "").

    A stored penalty that is not course.yaml's (nbgrader_config.py lost AssignLatePenalties) is set to course.yaml's,
    and the warning says so: the score after the penalty is right either way."""
    from nbgrader.api import Gradebook

    verdict = prepared.verdict
    notebooks, total, wrong = {}, 0.0, []
    with Gradebook(db_url(root)) as gb:
        submission = gb.find_submission(assignment, student)
        for notebook in submission.notebooks:
            stored = float(notebook.late_submission_penalty or 0.0)
            expected = course_policy.penalty_points(verdict.fraction, float(notebook.max_score), float(notebook.score))
            if abs(stored - expected) > TOLERANCE:
                wrong.append(f"{notebook.name}: {stored:g} stored, {expected:g} expected")
                notebook.late_submission_penalty = expected if expected > 0 else None
                stored = expected
            notebooks[notebook.name] = {"penalty": round(stored, 6), "max_score": float(notebook.max_score)}
            total += stored
        gb.db.commit()
    warning = ("nbgrader did not store course.yaml's late penalty (" + "; ".join(wrong) + "), the grader set it: "
               "check that nbgrader_config.py keeps AssignLatePenalties in Autograde.autograde_preprocessors"
               if wrong else "")
    schedule = prepared.schedule
    return Record(verdict.reason, verdict.fraction, round(total, 6), notebooks,
                  prepared.received.isoformat() if prepared.received else None,
                  schedule.due.isoformat() if schedule else None), warning


def record_path(root: Path, student: str, assignment: str) -> Path:
    return Path(root) / "logs" / student / f"{assignment}.late.json"


def save(root: Path, student: str, assignment: str, record: Record) -> None:
    path = record_path(root, student, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(record), indent=1) + "\n", encoding="utf-8")


def load(root: Path, student: str, assignment: str) -> Record | None:
    path = record_path(root, student, assignment)
    if not path.is_file():
        return None
    return Record(**json.loads(path.read_text(encoding="utf-8")))


def __getattr__(name: str):
    """``PolicyLatePenalty``, built on first use (nbgrader imports in seconds; the grading commands import this)."""
    if name != "PolicyLatePenalty":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from nbgrader.plugins import LateSubmissionPlugin

    class PolicyLatePenalty(LateSubmissionPlugin):
        """nbgrader's late-penalty plugin for course.yaml: the share of the notebook's points possible that
        ``policy.assess`` gave this submission (``make autograde`` computes it from the receipt and hands it over
        in COURSE_GRADING_LATE_FRACTION); nbgrader caps it at the notebook's score. nbgrader calls it only when
        the gradebook says the submission is late, which ``prepare`` made course.yaml's answer."""

        def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float):
            fraction = float(os.environ.get(FRACTION_VARIABLE) or 0)
            if fraction <= 0:
                return None
            parent = self.parent  # AssignLatePenalties, which names the notebook being graded
            notebook = parent.gradebook.find_submission_notebook(parent.notebook_id, parent.assignment_id,
                                                                 student_id)
            penalty = round(fraction * float(notebook.max_score), 6)  # 0.1 * 6 is 0.6000000000000001
            self.log.info("course.yaml: %g of %g points possible taken off (%g s late)", penalty,
                          notebook.max_score, total_seconds_late)
            return penalty

    globals()[name] = PolicyLatePenalty
    return PolicyLatePenalty


def describe(record: Record) -> str:
    """The sentence the feedback page shows."""
    if record.penalty > 0:
        return f"{record.reason[:1].upper()}{record.reason[1:]}: −{record.penalty:g} point(s)."
    return f"{record.reason[:1].upper()}{record.reason[1:]}."

