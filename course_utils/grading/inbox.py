"""The exchange's inbox, read as hostile: which folder is whose submission, and a copy that follows no link.

Every student can write into nbgrader's file-system inbox (``inbound/``, mode 0733), and nbgrader 0.9.6's collect
trusts what is written there: the student id and the time in a folder's name (it only *warns* when the folder's
owner is someone else), and ``shutil.copytree`` follows symbolic links, checked once and opened later. So a student
could hand in a folder named after a classmate, make a link that points at different files while the copy runs,
or stop the collect for everyone with a dangling link or a folder over the size limit. Here instead:

* a folder counts as a submission only when its name is ``<student>+<assignment>+<time>[+<random>]`` with a
  student id the course can grade (``course.is_student_id``), it is a real folder (not a link), and, when the
  owner check is on (nbgrader's ``ExchangeCollect.check_owner``, on by default), its owner's user name is that id;
  anything else is *refused* with one line naming it, and the others are collected;
* of a student's submissions, the one received last counts (``receipt_of``, the change times the exchange's file
  system recorded), not the one whose name claims the latest time;
* ``copy_submission`` copies regular files and folders only, each opened with ``O_NOFOLLOW`` relative to its
  already-open parent folder, so nothing swapped in during the copy is followed; links, pipes and devices are left
  out with a line; over the folder size limit the submission is refused, not the collect.

No library copies a tree without following links at every step (``shutil.copytree(symlinks=True)`` keeps the
links, which the autograder's staging would then follow), hence this small hand-written walk.
"""
from __future__ import annotations

import fnmatch
import os
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from course_utils.grading.course import is_student_id

MAX_ENTRIES = 10_000  # more files than this: the submission is refused (a receipt would be the present time)
MAX_DEPTH = 32  # folders nested deeper: refused (a walk of thousands of levels would overflow Python's stack)
CHUNK = 1 << 20
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)  # a pipe never blocks


class Refused(Exception):
    """A submission that is not collected, with the one-line reason; ``owner``: the folder's owner when that is why."""

    def __init__(self, reason: str, owner: str | None = None) -> None:
        super().__init__(reason)
        self.owner = owner


@dataclass
class Submission:
    folder: Path
    student: str
    received: datetime


@dataclass
class Limits:
    """nbgrader's CourseDirectory settings for copies: ignore and include globs, sizes in kilobytes."""
    ignore: list[str] = field(default_factory=lambda: [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"])
    include: list[str] = field(default_factory=lambda: ["*"])
    max_file_size: int = 100_000
    max_dir_size: int = 100_000


def _owner(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


def student_of(name: str, assignment: str) -> str:
    """The student id in an inbox folder's name, or Refused. ``nbgrader submit`` refuses ids with '+' or '*'."""
    parts = name.split("+")
    if len(parts) not in (3, 4) or parts[1] != assignment:
        raise Refused(f"{name!r} is not named <student>+{assignment}+<time>[+<random>]")
    if not is_student_id(parts[0]):
        raise Refused(f"{name!r}: {parts[0]!r} is not a student id the course grades")
    return parts[0]


def receipt_of(folder: Path) -> datetime:
    """The latest change time (ctime) of ``folder`` and everything in it, no link followed, in UTC.

    ctime is set by the kernel of the machine that holds the exchange whenever an entry is created, written,
    renamed, linked or has its mode changed; no unprivileged process can set it back. Anything that cannot be read
    gives the present time: a receipt may come out later than the truth, never earlier."""
    latest, count = 0.0, 0
    try:
        latest = os.lstat(folder).st_ctime
        base = str(folder).rstrip(os.sep).count(os.sep)
        for top, dirs, files in os.walk(folder, onerror=_raise):
            if top.count(os.sep) - base > MAX_DEPTH:
                raise OSError("folders nested too deep")
            for name in dirs + files:
                count += 1
                if count > MAX_ENTRIES:
                    raise OSError("too many files")
                latest = max(latest, os.lstat(os.path.join(top, name)).st_ctime)
    except OSError:
        latest = time.time()
    return datetime.fromtimestamp(latest, timezone.utc)


def _raise(error: OSError) -> None:
    raise error


def submissions(inbound: Path, assignment: str, check_owner: bool = True,
                only: str = "*") -> tuple[list[Submission], list[Refused]]:
    """The submission that counts for each student, and each refused folder's reason.

    Of a student's folders the one whose own change time is latest counts (received last: the kernel sets it when
    the folder is made, renamed or its entries change); only that one is walked for its receipt, so a student's
    many folders cost one ``lstat`` each. Whichever folder counts, its receipt covers everything copied from it.
    A folder that vanishes or cannot be read while the inbox is read is refused, alone.
    ``only``: nbgrader's ``--student`` (a glob; ``*`` for all)."""
    newest: dict[str, tuple[float, Path]] = {}
    refused = []
    for entry in sorted(os.scandir(inbound), key=lambda e: e.name):
        if not fnmatch.fnmatchcase(entry.name, f"*+{assignment}+*"):
            continue
        try:
            student = student_of(entry.name, assignment)
            if not fnmatch.fnmatchcase(student, only):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as error:  # removed (or made unreadable) since the listing
                raise Refused(f"{entry.name!r} could not be read: {error.strerror or error}") from None
            if not stat.S_ISDIR(info.st_mode):
                raise Refused(f"{entry.name!r} is not a folder (a link or a file)")
            owner = _owner(info.st_uid)
            if check_owner and owner != student:
                raise Refused(f"{entry.name!r} is owned by {owner!r}, not by {student!r}: not theirs", owner)
        except Refused as reason:
            refused.append(reason)
            continue
        if student not in newest or info.st_ctime > newest[student][0]:
            newest[student] = (info.st_ctime, Path(entry.path))
    return [Submission(folder, student, receipt_of(folder)) for student, (_, folder) in sorted(newest.items())], refused


def copy_submission(src: Path, dest: Path, limits: Limits) -> tuple[datetime, list[str]]:
    """Copy an inbox folder into ``dest`` (which must not exist): regular files and folders only, no link followed.

    Returns the latest change time seen, each file's taken after it was read (so it is never earlier than any
    change to what was copied), and one line per entry left out. Raises Refused over the size or entry limits."""
    notes: list[str] = []
    budget = {"bytes": limits.max_dir_size * 1000, "entries": MAX_ENTRIES}
    top = os.open(src, _OPEN_DIR)
    try:
        latest = _copy_folder(top, dest, "", limits, budget, notes)
    finally:
        os.close(top)
    return datetime.fromtimestamp(latest, timezone.utc), notes


def _copy_folder(folder: int, dest: Path, where: str, limits: Limits, budget: dict, notes: list[str]) -> float:
    if where.count("/") > MAX_DEPTH:
        raise Refused(f"folders nested more than {MAX_DEPTH} deep")
    dest.mkdir(mode=0o755)
    latest = 0.0
    for name in sorted(os.listdir(folder)):
        shown = f"{where}{name}"
        if any(fnmatch.fnmatch(name, pattern) for pattern in limits.ignore):
            continue
        budget["entries"] -= 1
        if budget["entries"] < 0:
            raise Refused(f"more than {MAX_ENTRIES} files")
        try:
            kind = os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
            if stat.S_ISDIR(kind):
                child = os.open(name, _OPEN_DIR, dir_fd=folder)
                try:
                    latest = max(latest, _copy_folder(child, dest / name, f"{shown}/", limits, budget, notes))
                finally:
                    os.close(child)
            elif stat.S_ISREG(kind):
                if any(fnmatch.fnmatch(name, pattern) for pattern in limits.include):
                    latest = max(latest, _copy_file(folder, name, dest / name, shown, limits, budget, notes))
            else:
                notes.append(f"left out {shown!r}: not a regular file or folder (a link, a pipe or a device)")
        except OSError as error:  # swapped for a link or removed while copying
            notes.append(f"left out {shown!r}: {error.strerror or error}")
    return max(latest, os.fstat(folder).st_ctime)


def _copy_file(folder: int, name: str, dest: Path, shown: str, limits: Limits, budget: dict,
               notes: list[str]) -> float:
    source = os.open(name, _OPEN_FILE, dir_fd=folder)
    try:
        info = os.fstat(source)
        if not stat.S_ISREG(info.st_mode):
            notes.append(f"left out {shown!r}: not a regular file")
            return 0.0
        most = limits.max_file_size * 1000
        if info.st_size > most:  # decided on the size before reading (a sparse file costs no disk, only time)
            notes.append(f"left out {shown!r}: larger than {limits.max_file_size} kB (max_file_size)")
            return info.st_ctime
        if info.st_size > budget["bytes"]:
            raise Refused(f"larger than {limits.max_dir_size} kB in all (max_dir_size)")
        chunks, size = [], 0
        while chunk := os.read(source, CHUNK):  # the file may grow while it is read: never past the limits
            size += len(chunk)
            if size > min(most, budget["bytes"]):
                raise Refused(f"{shown!r} grew past the size limits while it was copied")
            chunks.append(chunk)
        budget["bytes"] -= size
        dest.write_bytes(b"".join(chunks))
        return os.fstat(source).st_ctime  # after reading: any change to what was read is at or before this
    finally:
        os.close(source)
