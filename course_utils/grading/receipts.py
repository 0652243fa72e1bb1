"""When the exchange received a submission: the only time lateness is decided on (``make collect``).

nbgrader 0.9.6's file-system exchange records two times, and the student writes both: ``nbgrader submit``, run
in the student's own process, names the inbox folder ``<student>+<assignment>+<timestamp>+<random>`` and writes
``timestamp.txt`` into it, each from the student's clock; the inbox is writable by every student, so a folder
made by hand can claim any time. ``nbgrader collect`` copies that ``timestamp.txt`` into
``submitted/<student>/<assignment>/`` and ``nbgrader autograde`` takes it as the submission's time.

What counts here instead is the **change time (ctime) of the inbox folder and of everything in it**, as the
exchange's file system recorded it, taken when ``make collect`` copies the submission: the kernel of the machine
that holds the exchange (the NFS server on a cluster) sets a ctime whenever a file is created, written, renamed,
linked or has its mode changed, and no unprivileged process can set it back (``touch``/``utime`` set mtime and
atime; ctime then moves to *now*). So the latest ctime is never earlier than the last change to what is
collected: a submission edited in the inbox after the due date counts as received after it. Files a symbolic link
points to count too (``nbgrader collect`` copies what they point to). The time of the collect itself would also be
trustworthy, but it would make every submission as late as the instructor's last collect.

``make collect`` runs ``nbgrader collect --update`` with ``ReceiptCollect`` as the exchange's collector and writes
each receipt to ``receipts/<student>/<assignment>.json`` in the course folder, the instructor's (students cannot
write there: it is not in the exchange). ``make autograde`` uses that receipt and nothing else: the student's
``timestamp.txt`` is replaced by it before nbgrader grades (``autograde.stage``).
"""
from __future__ import annotations

import json
import os
import stat
import time
from datetime import datetime, timezone
from pathlib import Path

from course_utils.grading.course import assignments, nbgrader
from course_utils.grading.terminal import printable

FOLDER = "receipts"
COLLECTOR = "course_utils.grading.receipts.ReceiptCollect"
MAX_ENTRIES = 10_000  # a submission with more files than this gets the collect's own time (never earlier)
NBGRADER_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # nbgrader's timestamp.txt format, in UTC


def receipt_of(folder: Path) -> datetime:
    """The latest change time of ``folder`` and everything in it (links followed once, no loops), in UTC.

    Anything that cannot be read, or more than MAX_ENTRIES entries, gives the present time: a receipt may come
    out later than the truth, never earlier."""
    latest, seen, count = 0.0, set(), 0
    try:
        for top, dirs, files in os.walk(folder, followlinks=True):
            info = os.stat(top)
            if (info.st_dev, info.st_ino) in seen:
                dirs[:] = []
                continue
            seen.add((info.st_dev, info.st_ino))
            latest = max(latest, info.st_ctime, os.lstat(top).st_ctime)
            for name in dirs + files:
                count += 1
                if count > MAX_ENTRIES:
                    raise OSError("too many files")
                path = os.path.join(top, name)
                latest = max(latest, os.lstat(path).st_ctime)
                if os.path.islink(path):
                    latest = max(latest, os.stat(path).st_ctime)  # the file a link points to: its content is copied
    except OSError:
        latest = time.time()
    if not seen:
        latest = time.time()
    return datetime.fromtimestamp(latest, timezone.utc)


def path_of(root: Path, student: str, assignment: str) -> Path:
    return Path(root) / FOLDER / student / f"{assignment}.json"


def record(root: Path, student: str, assignment: str, received: datetime, source: str) -> Path:
    """Write (replace) a submission's receipt in the course folder."""
    path = path_of(root, student, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"received": received.astimezone(timezone.utc).isoformat(), "source": source,
               "recorded": datetime.now(timezone.utc).isoformat()}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path


def read(root: Path, student: str, assignment: str) -> datetime | None:
    """The recorded receipt (aware, UTC), or None when there is none."""
    path = path_of(root, student, assignment)
    if not path.is_file():
        return None
    moment = datetime.fromisoformat(json.loads(path.read_text(encoding="utf-8"))["received"])
    return moment.astimezone(timezone.utc)


def nbgrader_text(moment: datetime | None) -> str:
    """The receipt as nbgrader writes a timestamp.txt ("" when there is none: nbgrader then records no time)."""
    return moment.astimezone(timezone.utc).strftime(NBGRADER_FORMAT) if moment is not None else ""


def collect(root: Path, only: list[str] | None = None) -> int:
    """``nbgrader collect --update`` of each assignment, recording receipts; the number of receipts written.

    The file-system exchange collects through ReceiptCollect; another exchange (COURSE_EXCHANGE, as
    grading/hub/jupyter/nbgrader_config.py reads it: ngshare) through the collector its configuration names, which
    records the service's own time of receipt with ``record``."""
    before = {p: p.stat().st_mtime_ns for p in (Path(root) / FOLDER).rglob("*.json")}
    collector = ([f"--ExchangeFactory.collect={COLLECTOR}"]
                 if os.environ.get("COURSE_EXCHANGE", "filesystem") == "filesystem" else [])
    for assignment in only or assignments(root):
        code, tail = nbgrader(root, "collect", "--update", *collector, assignment, timeout=900)
        lines = [line for line in tail.splitlines() if line.strip()]
        if code != 0:
            raise SystemExit(f"nbgrader collect {assignment} failed: {(lines or ['exit code ' + str(code)])[-1]}")
        for line in lines:
            if "Collecting submission" in line or "Updating submission" in line or "receipt" in line:
                print(printable(line.split("] ", 1)[-1]))  # student ids are the students' text
    written = [p for p in (Path(root) / FOLDER).rglob("*.json") if before.get(p) != p.stat().st_mtime_ns]
    print(f"Collected; {len(written)} receipt(s) recorded in {Path(root) / FOLDER}.")
    return len(written)


def __getattr__(name: str):
    """``ReceiptCollect``, built on first use (importing nbgrader takes seconds; `make` imports this module)."""
    if name != "ReceiptCollect":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from nbgrader.exchange.default.collect import ExchangeCollect

    class ReceiptCollect(ExchangeCollect):
        """nbgrader's file-system collect, which also records each collected submission's receipt (module
        docstring). A submission an earlier plain ``nbgrader collect`` already copied gets its receipt too, when
        the copy's timestamp.txt is the inbox folder's (the same submission)."""

        def do_copy(self, src, dest, log=None):
            super().do_copy(src, dest)
            self._record(Path(src), Path(dest))  # after the copy: a change made while copying counts as later

        def copy_files(self):
            self._recorded = set()
            super().copy_files()
            for rec in self.src_records:
                src = Path(self.inbound_path) / rec["filename"]
                dest = Path(self.coursedir.format_path(self.coursedir.submitted_directory, rec["username"],
                                                       self.coursedir.assignment_id))
                if dest in self._recorded or not dest.is_dir():
                    continue
                theirs, ours = src / "timestamp.txt", dest / "timestamp.txt"
                if _same_text(theirs, ours) and not path_of(self.coursedir.root, dest.parent.name, dest.name).exists():
                    self._record(src, dest)

        def _record(self, src: Path, dest: Path) -> None:
            received = receipt_of(src)
            record(self.coursedir.root, dest.parent.name, dest.name, received,
                   f"latest change time of the exchange's inbox folder {src.name!r} and its files")
            self._recorded = getattr(self, "_recorded", set()) | {dest}
            self.log.info("Recorded the exchange's receipt of %s/%s: %s", dest.parent.name, dest.name,
                          nbgrader_text(received))

    globals()[name] = ReceiptCollect
    return ReceiptCollect


def _same_text(first: Path, second: Path) -> bool:
    try:
        return (stat.S_ISREG(first.lstat().st_mode) and stat.S_ISREG(second.lstat().st_mode)
                and first.read_bytes() == second.read_bytes())
    except OSError:
        return False
