"""When the exchange received a submission: the only time lateness is decided on (``make collect``).

nbgrader 0.9.6's file-system exchange records two times, and the student writes both: ``nbgrader submit``, run
in the student's own process, names the inbox folder ``<student>+<assignment>+<timestamp>+<random>`` and writes
``timestamp.txt`` into it, each from the student's clock; the inbox is writable by every student, so a folder
made by hand can claim any time. ``nbgrader collect`` copies that ``timestamp.txt`` into
``submitted/<student>/<assignment>/`` and ``nbgrader autograde`` takes it as the submission's time.

What counts here instead is the **change time (ctime) of the inbox folder and of everything in it**, as the
exchange's file system recorded it (``inbox.receipt_of``), taken when ``make collect`` copies the submission: the
kernel of the machine that holds the exchange (the NFS server on a cluster) sets a ctime whenever a file is
created, written, renamed, linked or has its mode changed, and no unprivileged process can set it back
(``touch``/``utime`` set mtime and atime; ctime then moves to *now*). Each file's ctime is read again after its
copy, so the receipt is never earlier than the last change to what was collected: a submission edited in the inbox
after the due date counts as received after it. No link is followed (``inbox``: a link is left out of the copy).
The time of the collect itself would also be trustworthy, but it would make every submission as late as the
instructor's last collect.

``make collect`` runs ``nbgrader collect --update`` with ``ReceiptCollect`` as the exchange's collector: it takes
each student's submission received last from folders that are really theirs (``inbox.submissions``: named for a
gradable id, a real folder, owned by that user), copies it without following links, and writes its receipt to
``receipts/<student>/<assignment>.json`` in the course folder, the instructor's (students cannot write there: it is
not in the exchange). A folder it refuses, or a submission over the size limit, is named in one line and the others
are collected. ``make autograde`` uses that receipt and nothing else: the student's ``timestamp.txt`` is replaced by
it before nbgrader grades (``autograde.stage``).
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from course_utils.grading.course import assignments, nbgrader
from course_utils.grading.terminal import printable

FOLDER = "receipts"
SHOWN_REFUSALS, SHOWN_NOTES = 50, 5  # lines in make collect's output; all of them in report_path's file
COLLECTOR = "course_utils.grading.receipts.ReceiptCollect"
NBGRADER_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # nbgrader's timestamp.txt format, in UTC


def report_path(root: Path, assignment: str) -> Path:
    """Every refused folder and every file left out by the last collect of ``assignment``."""
    return Path(root) / FOLDER / f"collect-{assignment}.txt"


def path_of(root: Path, student: str, assignment: str) -> Path:
    return Path(root) / FOLDER / student / f"{assignment}.json"


def record(root: Path, student: str, assignment: str, received: datetime, source: str, folder: str = "") -> Path:
    """Write (replace) a submission's receipt in the course folder (``folder``: the inbox folder it came from)."""
    path = path_of(root, student, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"received": received.astimezone(timezone.utc).isoformat(), "source": source, "folder": folder,
               "recorded": datetime.now(timezone.utc).isoformat()}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path


def _recorded(root: Path, student: str, assignment: str) -> dict:
    path = path_of(root, student, assignment)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def read(root: Path, student: str, assignment: str) -> datetime | None:
    """The recorded receipt (aware, UTC), or None when there is none."""
    recorded = _recorded(root, student, assignment)
    if not recorded:
        return None
    return datetime.fromisoformat(recorded["received"]).astimezone(timezone.utc)


def nbgrader_text(moment: datetime | None) -> str:
    """The receipt as nbgrader writes a timestamp.txt ("" when there is none: nbgrader then records no time)."""
    return moment.astimezone(timezone.utc).strftime(NBGRADER_FORMAT) if moment is not None else ""


def collect(root: Path, only: list[str] | None = None) -> int:
    """``nbgrader collect --update`` of each assignment, recording receipts; the number of receipts written.

    The file-system exchange collects through ReceiptCollect; another exchange (COURSE_EXCHANGE, as
    grading/hub/jupyter/nbgrader_config.py reads it: ngshare) through the collector its configuration names, which
    records the service's own time of receipt with ``record``. Every line nbgrader logs at INFO or above is shown:
    a refused folder is something the instructor must see."""
    before = {p: p.stat().st_mtime_ns for p in (Path(root) / FOLDER).rglob("*.json")}
    collector = ([f"--ExchangeFactory.collect={COLLECTOR}"]
                 if os.environ.get("COURSE_EXCHANGE", "filesystem") == "filesystem" else [])
    for assignment in only or assignments(root):
        log = Path(root) / FOLDER / f"collect-{assignment}.log"
        code, _ = nbgrader(root, "collect", "--update", *collector, assignment, timeout=900, log_path=log)
        lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
        if code != 0:
            raise SystemExit(f"nbgrader collect {assignment} failed: {(lines or ['exit code ' + str(code)])[-1]}")
        for line in lines:
            print(printable(line.split("] ", 1)[-1]))  # student ids and file names are the students' text
        report = report_path(root, assignment)
        flagged = report.read_text(encoding="utf-8").count("\n") if report.is_file() else 0
        if flagged:
            print(f"{assignment}: {flagged} folder(s) refused or file(s) left out, every one listed in {report}")
    written = [p for p in (Path(root) / FOLDER).rglob("*.json") if before.get(p) != p.stat().st_mtime_ns]
    print(f"Collected; {len(written)} receipt(s) recorded in {Path(root) / FOLDER}.")
    return len(written)


def __getattr__(name: str):
    """``ReceiptCollect``, built on first use (importing nbgrader takes seconds; `make` imports this module)."""
    if name != "ReceiptCollect":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import shutil

    from nbgrader.exchange.default.collect import ExchangeCollect

    from course_utils.grading import inbox

    class ReceiptCollect(ExchangeCollect):
        """nbgrader's file-system collect, reading the inbox as hostile (``inbox``) and recording each collected
        submission's receipt (module docstring). nbgrader's own choice of records (by the time in the folder's
        name) and its copy (``shutil.copytree``, which follows links) are replaced; its checks of the course and
        the inbox, its options (ignore, include, sizes, check_owner) and its messages are kept."""

        def init_src(self):
            if self.before_duedate:
                self.fail("--before-duedate is not used here: course.yaml's late policy decides what counts "
                          "(run make collect)")
            # nbgrader's own init_src parses the time in every folder's name and stops on one it cannot read (any
            # student could stop the collect for all): its checks of the course and the inbox are repeated here
            if not self.coursedir.course_id:
                self.fail("No course id specified. Re-run with --course flag.")
            self.course_path = os.path.join(self.root, self.coursedir.course_id)
            self.inbound_path = os.path.join(self.course_path, "inbound")
            if not os.path.isdir(self.inbound_path):
                self.fail(f"Course not found: {self.inbound_path}")
            if not os.access(self.inbound_path, os.R_OK | os.X_OK):
                self.fail(f"You don't have read permissions for the directory: {self.inbound_path}")
            chosen, refused = inbox.submissions(Path(self.inbound_path), self.coursedir.assignment_id,
                                                self.check_owner, self.coursedir.student_id or "*")
            self._report = report_path(self.coursedir.root, self.coursedir.assignment_id)
            self._report.parent.mkdir(parents=True, exist_ok=True)
            self._report.write_text("", encoding="utf-8")
            self._shown([f"refused: {reason}" for reason in refused], SHOWN_REFUSALS)
            owners = {reason.owner for reason in refused if reason.owner}
            if not chosen and len(owners) == 1:  # e.g. a Docker-based hub: every student is the user jovyan
                self.log.warning(
                    "every submission is owned by %r: if every student is that one Unix user here, set "
                    "c.ExchangeCollect.check_owner = False in nbgrader_config.py (then any student could hand in "
                    "for another; grading/README.md, \"Whose submission, and which one\")", owners.pop())
            self.src_records = chosen

        def _shown(self, lines: list[str], most: int) -> None:
            """Every line into the collect's report file; the first ``most`` in the log, then a count (a student
            cannot bury a line the instructor must read under thousands of their own)."""
            with self._report.open("a", encoding="utf-8") as report:
                report.writelines(line + "\n" for line in lines)
            for line in lines[:most]:
                self.log.warning("%s", line)
            if len(lines) > most:
                self.log.warning("... and %d more such line(s): all in %s", len(lines) - most, self._report)

        def copy_files(self):
            if not self.src_records:
                self.log.warning("No submissions of '%s' for course '%s' to collect", self.coursedir.assignment_id,
                                 self.coursedir.course_id)
            limits = inbox.Limits(list(self.coursedir.ignore), list(self.coursedir.include),
                                  self.coursedir.max_file_size, self.coursedir.max_dir_size)
            for submission in self.src_records:
                try:
                    self._collect(submission, limits)
                except (inbox.Refused, OSError) as reason:
                    self._shown([f"refused: {submission.student}'s submission {submission.folder.name!r}: {reason}"],
                                SHOWN_REFUSALS)

        def _collect(self, submission, limits) -> None:
            student, assignment = submission.student, self.coursedir.assignment_id
            dest = Path(self.coursedir.format_path(self.coursedir.submitted_directory, student, assignment))
            before = _recorded(self.coursedir.root, student, assignment)
            if (dest.is_dir() and before.get("folder") == submission.folder.name
                    and datetime.fromisoformat(before["received"]) >= submission.received):
                self.log.info("No newer submission to collect: %s %s", student, assignment)
                return
            dest.parent.mkdir(parents=True, exist_ok=True)
            staging = dest.parent / f".{assignment}.collecting"
            shutil.rmtree(staging, ignore_errors=True)
            try:
                copied, notes = inbox.copy_submission(submission.folder, staging, limits)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            self._shown([f"{student} {assignment}: {note}" for note in notes], SHOWN_NOTES)
            self.log.info("%s submission: %s %s", "Updating" if dest.exists() else "Collecting", student,
                          assignment)
            if dest.exists():
                shutil.rmtree(dest)
            staging.rename(dest)
            received = max(submission.received, copied)
            record(self.coursedir.root, student, assignment, received,
                   "latest change time of the exchange's inbox folder and its files", submission.folder.name)
            self.log.info("Recorded the exchange's receipt of %s/%s: %s", student, assignment,
                          nbgrader_text(received))

    globals()[name] = ReceiptCollect
    return ReceiptCollect
