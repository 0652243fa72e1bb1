"""`make autograde`: every submission graded in its own nbgrader process; a batch never stops on one.

Before anything is written, the sandbox must start here (``sandbox.preflight``):
without it the command stops with one line and exit code 2, and the gradebook is
untouched. Then, per submission (student x assignment):

* **staging**: only the notebook(s) of the assignment and the declared files
  (``sandbox.DECLARED_FILES``; nbgrader's ``submission_secret.txt``) are copied from
  ``submitted/<student>/<assignment>/`` into a private folder that nbgrader reads
  instead; everything else is dropped and named in the log. Nothing of a
  submission is imported or run on this machine outside the sandbox. The student's ``timestamp.txt`` is never
  staged: nbgrader gets the exchange's receipt in its place (``receipts``), or an empty one (no time);
* **late work**: course.yaml's due date, the student's extension and the receipt are written into the gradebook
  and nbgrader's ``AssignLatePenalties`` applies course.yaml's penalty (``lateness``), recomputed at every run;
* **nbgrader autograde** in its own process with a time limit;
* **the outcome**: ``graded``; ``zero`` when the submission itself is at fault
  (not a notebook, not valid JSON, a symbolic link, too large); ``not graded``
  when the grader is (nbgrader or the sandbox failed, over time): no score is
  stored for it — a submission graded before keeps its old score, a new one is
  removed again — and the reason is in the log, so the instructor can grade it again.

The log is ``autograded/autograde-log.csv``; each submission's nbgrader log is kept
in ``logs/<student>/<assignment>.log``, outside the folders feedback is made from.

While the batch runs, ``progress.Progress`` shows done/total, the elapsed time and an ETA: a tqdm bar when stdout is a
terminal, plain ``autograde: 12/40 done, ...`` lines otherwise (CI logs, a pipe, pytest).
"""
from __future__ import annotations

import fnmatch
import os
import queue
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from course_utils.grading import lateness, receipts, sandbox, warm
from course_utils.grading.nbgrader_runner import NbgraderRunner
from course_utils.grading.policy import NO_RECEIPT
from course_utils.grading.progress import Progress, say_line
from course_utils.grading.terminal import shown
from course_utils.grading.spreadsheet import SpreadsheetWriter
from course_utils.grading.course import (INSTRUCTOR_ONLY, NBGRADER_FILES, add_students, assignments, db_url,
                                         ensure_released, is_student_id, nbgrader, refusal, submitted_students)

MAX_NOTEBOOK_BYTES = 20 << 20
LOG_NAME = "autograde-log.csv"
GRADED, ZERO, NOT_GRADED = "graded", "zero", "not graded"


@dataclass
class Outcome:
    student: str
    assignment: str
    status: str  # GRADED, ZERO (the submission's fault) or NOT_GRADED (the grader's)
    reason: str
    seconds: float
    score: float | None = None
    max_score: float | None = None
    dropped: str = ""
    late_penalty: float | None = None  # points course.yaml's late rule took off (None: not graded now)
    late: str = ""                     # why (the sentence the feedback page shows)


def source_notebooks(root: Path, assignment: str) -> list[str]:
    return sorted(p.stem for p in (root / "source" / assignment).glob("*.ipynb"))


def precheck(folder: Path, notebooks: list[str]) -> str | None:
    """Why this submission cannot be graded as it is, by its own fault (None: let nbgrader grade it)."""
    import nbformat

    if folder.is_symlink():
        return "the submission folder is a symbolic link"
    for name in notebooks:
        path = folder / f"{name}.ipynb"
        if path.is_symlink() or (path.exists() and not _plain_file(path)):
            return f"{name}.ipynb is a link or not a plain file (submit plain files)"
    present = [name for name in notebooks if (folder / f"{name}.ipynb").is_file()]
    if not present:
        return f"no notebook named {', '.join(n + '.ipynb' for n in notebooks)} in the submission"
    for name in present:
        path = folder / f"{name}.ipynb"
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return f"{path.name} is {path.stat().st_size >> 20} MB (limit {MAX_NOTEBOOK_BYTES >> 20} MB)"
        try:
            # read() only warns on what the schema forbids (a cell whose source is a number); nbconvert checks
            # the same schema after nbgrader's first step and stops: the grader's failure, at the student's will
            nbformat.validate(nbformat.read(path, as_version=4), relax_add_props=True)
        except Exception as exc:  # nbformat raises several types for broken files
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return f"{path.name} is not a valid notebook ({first[:200]})"
    return None


def _plain_file(path: Path) -> bool:
    """A regular file of the submission's own: not a link, not a hard link to a file elsewhere (it could be
    the instructor's source), not a special file."""
    import stat

    info = path.lstat()
    return stat.S_ISREG(info.st_mode) and info.st_nlink == 1


def _valid_timestamp(path: Path) -> bool:
    """nbgrader stops on a timestamp it cannot parse (a grader failure a student could cause at will)."""
    from nbgrader.utils import parse_utc

    try:
        text = path.read_text(encoding="utf-8").strip()
        return not text or (len(text) < 100 and parse_utc(text) is not None)
    except (ValueError, OverflowError, UnicodeDecodeError, OSError):
        return False


def stage(folder: Path, notebooks: list[str], target: Path, timestamp: str = "") -> list[str]:
    """Copy what grading takes from a submission into target; return the names of everything dropped.

    Only the top level is looked at (what grading takes lives there), without following links: a folder
    that links to / costs nothing. ``timestamp.txt`` is ours: ``timestamp`` (the exchange's receipt as nbgrader
    writes it; "" for none) replaces the student's, which never decides lateness (one nbgrader cannot read is
    still named as dropped)."""
    target.mkdir(parents=True, exist_ok=True)
    keep = {f"{name}.ipynb" for name in notebooks} | set(sandbox.DECLARED_FILES) | set(NBGRADER_FILES)
    dropped = []
    for path in sorted(folder.iterdir()):
        if path.name == "timestamp.txt" and _plain_file(path) and _valid_timestamp(path):
            continue  # replaced below
        if path.name in keep and path.name != "timestamp.txt" and _plain_file(path) and (
                path.suffix == ".ipynb" or path.lstat().st_size <= sandbox.MAX_DECLARED_FILE_BYTES):
            shutil.copyfile(path, target / path.name)
        else:
            dropped.append(shown(path.name) + ("/" if path.is_dir() and not path.is_symlink() else ""))
    (target / "timestamp.txt").write_text(timestamp, encoding="utf-8")  # nbgrader release_feedback reads it
    return dropped


def remove_submission(root: Path, student: str, assignment: str) -> None:
    """Take a submission that was never graded out of the gradebook (nbgrader adds it before grading)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url(root)) as gb:
        try:
            gb.remove_submission(assignment, student)
        except MissingEntry:
            pass


def zero(root: Path, student: str, assignment: str) -> None:
    """Give every graded cell of this submission 0 points (what nbgrader does for a missing notebook)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url(root)) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        gb.db.commit()


def score(root: Path, student: str, assignment: str) -> tuple[float | None, float | None]:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url(root)) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return None, None
        return float(submission.score), float(submission.max_score)


def _was_graded_before(root: Path, student: str, assignment: str) -> bool:
    return score(root, student, assignment)[0] is not None


def default_jobs() -> int:
    """Submissions graded at a time unless told: twice the cores, at most 16. A warm job needs 2-4 s of CPU per
    submission and waits whole cell timeouts on a looping one, so more jobs than cores keep the cores busy
    (benchmarks/README.md: 240 submissions in 8.8 min with 4 jobs on 2 cores); each holds a ~210 MB template.
    COURSE_GRADING_JOBS, when set, decides instead."""
    from course_utils.device import usable_cores

    return int(os.environ.get("COURSE_GRADING_JOBS") or min(16, 2 * usable_cores()))


def autograde(root: Path, students: list[str] | None = None, only: list[str] | None = None,
              timeout: float | None = None, jobs: int = 1) -> list[Outcome]:
    """Grade every submitted/<student>/<assignment>/; never stops on one submission.

    ``jobs`` submissions are graded at a time (each in its own nbgrader process and kernel).
    """
    from concurrent.futures import ThreadPoolExecutor

    problem = sandbox.preflight()
    if problem is not None:
        raise SystemExit(f"Cannot autograde: {problem}. Nothing was graded.")
    timeout = timeout or float(os.environ.get("COURSE_GRADING_SUBMISSION_TIMEOUT", "900"))
    configured = sandbox.exchange_root(root)
    if configured:  # hidden from kernels when it lies in a folder the sandbox mounts (sandbox._hidden_exchanges)
        os.environ[sandbox.CONFIGURED_EXCHANGE] = configured
    ensure_released(root)
    add_students(root)
    policy = lateness.load_policy(root)  # a mistake in course.yaml stops here, before anything is graded
    if policy is not None:
        lateness.sync_due_dates(root, policy)
    known = assignments(root)
    refused = [student for student in students or [] if not is_student_id(student)]
    if refused:  # `make regrade STUDENT=...` with a name nbgrader would read as a glob or print unescaped
        raise SystemExit(refusal(refused[0]) + ". Nothing was graded.")
    work = [(student, assignment) for student in students or submitted_students(root) for assignment in only or known
            if (root / "submitted" / student / assignment).exists()
            or (root / "submitted" / student / assignment).is_symlink()]

    progress = Progress(len(work), jobs) if work else None  # started first: the templates' start counts too
    say = progress.say if progress else say_line
    slots: queue.Queue = queue.Queue()

    def grade(item: tuple[str, str]) -> Outcome:
        student, assignment = item
        slot = slots.get()
        scratch = Path(tempfile.mkdtemp(prefix="course-grading-"))
        began = time.monotonic()  # from the job's start on it: a template (re)start and a retry count too
        try:
            outcome = slot.grade(root, student, assignment, timeout, scratch, say)
            if "database is locked" in outcome.reason:  # SQLite and parallel jobs: grade it once more
                shutil.rmtree(scratch, ignore_errors=True)
                outcome = slot.grade(root, student, assignment, timeout, scratch, say)
            return outcome
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            slots.put(slot)
            if progress is not None:
                progress.finished(time.monotonic() - began, f"{shown(student)}/{shown(assignment)}")

    try:
        for _ in range(max(1, min(jobs, len(work)))):
            slots.put(Slot())
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # threads only wait on other processes
            outcomes = list(pool.map(grade, work))
    finally:
        if progress is not None:
            progress.close()
        while not slots.empty():
            slots.get().close()
    write_log(root, outcomes)
    print_summary(outcomes)
    return outcomes


class Slot:
    """One grading job's machinery: a warm kernel template (unless COURSE_GRADING_WARM=0), started on first use
    and again whenever it died, so one submission that brings it down costs no other its grade."""

    def __init__(self) -> None:
        enabled = warm.enabled()
        self.warm = warm.WarmSandbox() if enabled else None
        self.runner = NbgraderRunner() if enabled else None
        if enabled:  # every job's template and runner import at once; the first grade waits
            self.warm.start()
            self.runner.start()

    def grade(self, root: Path, student: str, assignment: str, timeout: float, scratch: Path,
              say: Callable[[str], None] | None = None) -> Outcome:
        say = say or say_line
        env = {}
        if self.warm is not None:
            try:
                self.warm.ensure_running()
            except (RuntimeError, OSError) as error:
                outcome = not_graded(root, student, assignment, f"the grader failed: {error}", 0.0)
                say(f"{shown(student)}/{assignment}: {NOT_GRADED} ({outcome.reason})")
                return outcome
            env = self.warm.env()
        try:
            return grade_one(root, student, assignment, timeout, scratch, env, self.runner, say)
        finally:
            if self.warm is not None:
                self.warm.clean()

    def close(self) -> None:
        if self.warm is not None:
            self.warm.close()
            self.runner.stop()


def run_budget(timeout: float) -> float:
    """Seconds a submission's cells may run together: the submission limit less a reserve for the grader's own
    work (kernel start, judging, saving; a third of the limit, at most 120 s). Cells past the budget score 0
    with the reason (RobustExecute): the submission's doing. Only a grader that overruns the whole limit
    makes a submission "not graded"."""
    return max(1.0, timeout - min(120.0, timeout / 3))


def not_graded(root: Path, student: str, assignment: str, reason: str, seconds: float, dropped: str = "") -> Outcome:
    """The grader's failure: no score in the log (an earlier grade stays in the gradebook, and the reason says
    so, never as this attempt's score)."""
    earlier, maximum = score(root, student, assignment)
    if earlier is not None:
        reason += f"; the earlier score {earlier:g}/{maximum:g} stays in the gradebook"
    return Outcome(student, assignment, NOT_GRADED, reason, seconds, None, maximum, dropped)


def _grader_fault(code: int, tail: str, timeout: float) -> str:
    if code == -9:
        return f"grading took longer than {timeout:.0f} s and was stopped"
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    # The exception's own line ("RuntimeError: Kernel died before replying to kernel_info", "GraderFault: ...")
    # says most; nbgrader's closing "[ERROR] Please see ..." lines say nothing.
    raised = [line for line in lines if re.match(r"^[A-Za-z_.]*(Error|Fault|Exception)[A-Za-z_]*: ", line)]
    logged = [line for line in lines if "[ERROR]" in line and "Please see" not in line
              and "There was an error processing" not in line]
    return "the grader failed: " + ((raised or logged or lines or [f"nbgrader exit code {code}"])[-1][:300])


def grade_one(root: Path, student: str, assignment: str, timeout: float, scratch: Path,
              env: dict | None = None, runner: NbgraderRunner | None = None,
              say: Callable[[str], None] | None = None) -> Outcome:
    start = time.monotonic()
    folder = root / "submitted" / student / assignment
    notebooks = source_notebooks(root, assignment)
    why, status, dropped, late = precheck(folder, notebooks), GRADED, [], None
    if why is None:
        staged_root = scratch / "submitted"
        before = _was_graded_before(root, student, assignment)
        prepared = lateness.prepare(root, student, assignment, lateness.load_policy(root))  # from nothing, each time
        dropped = stage(folder, notebooks, staged_root / student / assignment,
                        receipts.nbgrader_text(prepared.received))
        # --student=ID, one argument: an id that starts with "-" is never read as an option
        code, tail = nbgrader(root, "autograde", assignment, f"--student={student}", "--force",
                              f"--CourseDirectory.submitted_directory={staged_root}",
                              f"--RobustExecute.submission_budget={run_budget(timeout):.0f}", lateness.PLUGIN_OPTION,
                              timeout=timeout, env={sandbox.SCRATCH_VARIABLE: str(scratch), **(env or {}),
                                                    **lateness.environment(prepared)},
                              log_path=root / "logs" / student / f"{assignment}.log", runner=runner)
        if code != 0:
            why, status = _grader_fault(code, tail, timeout), NOT_GRADED
            if not before:
                remove_submission(root, student, assignment)
            else:
                lateness.restore(root, student, assignment, prepared)
        else:
            late, warning = lateness.check_applied(root, student, assignment, prepared)
            lateness.save(root, student, assignment, late)
            why = warning or None
        _remove_instructor_files(root / "autograded" / student / assignment)
    else:
        status = ZERO
        zero(root, student, assignment)
        lateness.record_path(root, student, assignment).unlink(missing_ok=True)  # no page; no stale reason either
    seconds = round(time.monotonic() - start, 1)
    if status == NOT_GRADED:
        outcome = not_graded(root, student, assignment, why, seconds, " ".join(dropped))
    else:
        outcome = Outcome(student, assignment, status, why or "", seconds, *score(root, student, assignment),
                          " ".join(dropped), late.penalty if late else None, late.reason if late else "")
    points, maximum, why = outcome.score, outcome.max_score, outcome.reason
    note = f" ({why})" if why else ""
    note += f" [late: {outcome.late}]" if late is not None and late.penalty > 0 else ""
    note += f" [dropped, not graded: {' '.join(dropped)[:200]}]" if dropped else ""
    score_text = f" {points}/{maximum}" if points is not None else ""
    (say or say_line)(f"{shown(student)}/{assignment}: {status}{score_text} in {outcome.seconds} s{note}")
    return outcome


def _remove_instructor_files(folder: Path) -> None:
    """nbgrader copies the source folder's other files next to the graded notebook; an exam key must not stay
    where feedback is made from."""
    for path in folder.rglob("*") if folder.is_dir() else []:
        if any(fnmatch.fnmatch(path.name, pattern) for pattern in INSTRUCTOR_ONLY):
            path.unlink()


def write_log(root: Path, outcomes: list[Outcome]) -> None:
    path = root / "autograded" / LOG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = SpreadsheetWriter(handle)  # student ids are the students' text: no formulas
        writer.writerow(["student", "assignment", "status", "score", "max_score", "seconds", "reason", "dropped",
                         "late_penalty", "late"])
        for o in outcomes:
            writer.writerow([o.student, o.assignment, o.status, o.score, o.max_score, o.seconds, o.reason, o.dropped,
                             o.late_penalty, o.late])


def print_summary(outcomes: list[Outcome]) -> None:
    if not outcomes:
        print("No submissions found in submitted/<student>/<assignment>/.")
        return
    seconds = [o.seconds for o in outcomes]
    zeros = sum(o.status == ZERO for o in outcomes)
    failed = sum(o.status == NOT_GRADED for o in outcomes)
    print(f"Autograded {len(outcomes)} submission(s) in {sum(seconds):.0f} s ({sum(seconds) / len(seconds):.1f} s "
          f"each); {zeros} could not be graded by their own fault and got 0; {failed} NOT graded because the "
          "grader failed (no score stored; see the reasons above and grade them again).")
    late = sum(bool(o.late_penalty) for o in outcomes)
    unrecorded = sum(o.late == NO_RECEIPT for o in outcomes)
    if late:
        print(f"{late} submission(s) lost points for late work (course.yaml; the reasons are in {LOG_NAME}).")
    if unrecorded:
        print(f"{unrecorded} submission(s) with a due date have no receipt from the exchange, so no late penalty: "
              "collect with `make collect` (it records when the exchange received each submission).")
