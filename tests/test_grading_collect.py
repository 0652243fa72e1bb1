"""`make collect` reads the exchange's inbox as hostile (course_utils/grading/inbox.py), through nbgrader's real
file-system exchange and real OS users.

Every student can write into nbgrader's inbox. Found by an attack on the grader (a student with the public
repository), each a case here:
* a folder named after a classmate (``bob+<assignment>+2099-…``): nbgrader 0.9.6 collects it as bob's, with only a
  warning, because the time in its name is the latest;
* a link in a submission pointing at files outside it, which can be swung between the receipt and the copy (late
  work with an on-time receipt);
* a dangling link, a pipe, or a folder over the size limit: nbgrader's collect raised and stopped for everyone;
* a folder whose name holds no readable time: nbgrader's own init_src stops on it, for everyone;
* a student's own folder named with a future time, made before the real, later submission.

The students are the system's own users (Debian's ``daemon``, ``bin`` …), so the owner check runs as it does on a
shared JupyterHub; making folders owned by them needs root (CI runs as root).
"""
from __future__ import annotations

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
from course_utils.grading import receipts
from test_grading_roundtrip import A1, answered  # tests/ is on sys.path under pytest
from test_grading_term import _cli, _submit, _write_policy

pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"), reason="nbgrader's exchange needs Linux"),
              pytest.mark.skipif(os.geteuid() != 0, reason="folders owned by other users need root (CI is root)")]

VICTIM, ATTACKER, LINKER, BREAKER, HOG, CHANGER, ODD = "daemon", "nobody", "bin", "sys", "games", "man", "mail"
FUTURE = "2099-01-01 00:00:00.000000 UTC"
MAX_DIR_KB = 400  # this course's limit, so that an oversized folder is cheap to make
LINKS = 60


def _own(path: Path, user: str) -> None:
    import pwd

    entry = pwd.getpwnam(user)
    for top, dirs, files in os.walk(path):
        for name in [top, *(os.path.join(top, n) for n in dirs + files)]:
            os.lchown(name, entry.pw_uid, entry.pw_gid)


def _handmade(exchange: Path, name: str, nb, owner: str) -> Path:
    folder = exchange / "trainer-course" / "inbound" / name
    folder.mkdir()
    nbformat.write(nb, folder / f"{A1}.ipynb")
    (folder / "timestamp.txt").write_text(FUTURE)
    _own(folder, owner)
    return folder


def _inbox_of(exchange: Path, student: str) -> Path:
    [folder] = [f for f in (exchange / "trainer-course" / "inbound").iterdir()
                if f.name.startswith(f"{student}+") and FUTURE not in f.name]
    return folder


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    base = tmp_path_factory.mktemp("collect")
    root = grading_course.instructor_init(base / "course")
    for folder in (root / "source").iterdir():
        if folder.name != A1:
            shutil.rmtree(folder)
    exchange, home = base / "exchange", base / "home"
    exchange.mkdir()
    with (root / "nbgrader_config.py").open("a", encoding="utf-8") as handle:
        handle.write(f"\nc.Exchange.root = {str(exchange)!r}\nc.CourseDirectory.max_dir_size = {MAX_DIR_KB}\n")
    _write_policy(root, datetime.now(timezone.utc) + timedelta(days=7))
    _cli(root, "release")
    code, tail = grading_course.nbgrader(root, "release_assignment", A1, "--force", timeout=300)
    assert code == 0, tail
    work = answered(root, A1)
    blank = nbformat.read(root / "release" / A1 / f"{A1}.ipynb", as_version=4)

    # CHANGER's own folder named far in the future, with the work as it was then ...
    _handmade(exchange, f"{CHANGER}+{A1}+{FUTURE}+early", blank, CHANGER)
    time.sleep(1.1)
    for student in (VICTIM, LINKER, BREAKER, HOG, CHANGER):  # ... and each student's real submission, later
        _submit(exchange, home, student, work)
        _own(_inbox_of(exchange, student), student)
    # ATTACKER: a folder named for VICTIM, its name's time the latest of all
    _handmade(exchange, f"{VICTIM}+{A1}+{FUTURE}+{ATTACKER}", blank, ATTACKER)
    # LINKER: links to a file and a folder outside the submission
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not part of the submission")
    linker = _inbox_of(exchange, LINKER)
    (linker / "extra.ipynb").symlink_to(outside / "secret.txt")
    (linker / "folder").symlink_to(outside)
    for n in range(LINKS):  # a flood of lines meant to bury the line about ATTACKER's folder
        (linker / f"link{n:03d}").symlink_to(outside / "secret.txt")
    # BREAKER: a dangling link and a named pipe; HOG: more than the folder size limit
    breaker = _inbox_of(exchange, BREAKER)
    (breaker / "gone.ipynb").symlink_to(base / "nowhere")
    os.mkfifo(breaker / "pipe")
    with (breaker / "huge.bin").open("wb") as handle:  # sparse: no disk, and never read (its size says enough)
        handle.truncate(100_000 * 1000 + 1)
    (_inbox_of(exchange, HOG) / "blob.bin").write_bytes(os.urandom(MAX_DIR_KB * 1000 + 1))
    # ODD's folder, whose name's time nbgrader cannot parse, and one named for no valid student id
    _handmade(exchange, f"{ODD}+{A1}+yesterday+x", blank, ODD)
    _handmade(exchange, f".hidden+{A1}+{FUTURE}+x", blank, ATTACKER)

    output = _cli(root, "collect")
    return {"root": root, "output": output, "work": work, "blank": blank, "exchange": exchange}


def _submitted(collected, student: str) -> Path:
    return collected["root"] / "submitted" / student / A1


def test_a_folder_named_for_a_classmate_is_refused_and_the_classmates_own_is_collected(collected):
    assert (f"refused: '{VICTIM}+{A1}+{FUTURE}+{ATTACKER}' is owned by '{ATTACKER}', not by '{VICTIM}'"
            in collected["output"]), collected["output"]
    assert nbformat.read(_submitted(collected, VICTIM) / f"{A1}.ipynb", as_version=4) == collected["work"]
    assert not (collected["root"] / "submitted" / ATTACKER).exists()


def test_links_are_left_out_of_the_copy_and_never_followed(collected):
    copy = _submitted(collected, LINKER)
    assert sorted(p.name for p in copy.iterdir()) == [f"{A1}.ipynb", "submission_secret.txt", "timestamp.txt"]
    report = receipts.report_path(collected["root"], A1).read_text(encoding="utf-8")
    for name in ("extra.ipynb", "folder", *(f"link{n:03d}" for n in range(LINKS))):
        assert f"{LINKER} {A1}: left out '{name}': not a regular file or folder" in report, name
    shown = collected["output"].count(f"{LINKER} {A1}: left out")
    assert shown == receipts.SHOWN_NOTES, shown  # the rest counted, not printed: no line can be buried
    assert f"... and {LINKS + 2 - receipts.SHOWN_NOTES} more such line(s)" in collected["output"]


def test_a_broken_submission_is_refused_alone_and_the_collect_goes_on(collected):
    output = collected["output"]
    assert f"{BREAKER} {A1}: left out 'gone.ipynb'" in output and f"{BREAKER} {A1}: left out 'pipe'" in output
    assert f"{BREAKER} {A1}: left out 'huge.bin': larger than 100000 kB (max_file_size)" in output
    assert (_submitted(collected, BREAKER) / f"{A1}.ipynb").is_file()
    assert f"refused: {HOG}'s submission" in output and f"larger than {MAX_DIR_KB} kB in all" in output
    assert not _submitted(collected, HOG).exists() and receipts.read(collected["root"], HOG, A1) is None
    assert nbformat.read(_submitted(collected, ODD) / f"{A1}.ipynb", as_version=4) == collected["blank"]
    assert f"refused: '.hidden+{A1}+{FUTURE}+x': '.hidden' is not a student id" in output
    for student in (VICTIM, LINKER, BREAKER, CHANGER, ODD):
        assert receipts.read(collected["root"], student, A1) is not None, student
    assert "5 receipt(s) recorded" in output


def test_the_submission_received_last_counts_not_the_one_whose_name_says_so(collected):
    assert nbformat.read(_submitted(collected, CHANGER) / f"{A1}.ipynb", as_version=4) == collected["work"]
    recorded = receipts._recorded(collected["root"], CHANGER, A1)
    assert FUTURE not in recorded["folder"] and recorded["folder"].startswith(f"{CHANGER}+{A1}+")


def test_a_second_collect_copies_nothing_again(collected):
    before = {s: receipts.read(collected["root"], s, A1) for s in (VICTIM, LINKER, BREAKER, CHANGER, ODD)}
    output = _cli(collected["root"], "collect")
    assert "0 receipt(s) recorded" in output and output.count("No newer submission to collect") == 5, output
    assert {s: receipts.read(collected["root"], s, A1) for s in before} == before


def test_folders_nested_thousands_deep_are_refused_not_a_crash(tmp_path):
    """os.walk and a recursive copy overflow Python's stack on thousands of nested folders (a student's mkdir
    loop): the receipt is the present time (never earlier) and the submission is refused, alone."""
    from course_utils.grading import inbox

    folder = deepest = tmp_path / "inbox"
    folder.mkdir()
    here = os.getcwd()
    os.chdir(folder)
    try:
        for _ in range(1500):  # relative steps: the absolute path is longer than the system allows
            os.mkdir("d")
            os.chdir("d")
        Path("work.ipynb").write_text("{}")
    finally:
        os.chdir(here)
    before = datetime.now(timezone.utc)
    assert inbox.receipt_of(deepest) >= before
    with pytest.raises(inbox.Refused, match=f"nested more than {inbox.MAX_DEPTH} deep"):
        inbox.copy_submission(folder, tmp_path / "copy", inbox.Limits())
    subprocess.run(["rm", "-rf", str(folder)], check=True)  # shutil.rmtree recurses too


def test_when_every_submission_is_one_users_the_refusal_says_what_to_set(collected):
    """A hub whose students are all one Unix user (Docker images: jovyan): every folder is refused, and the log says
    which setting collects them and what it costs."""
    folder = _handmade(collected["exchange"], f"lp+{A1}+{FUTURE}+x", collected["blank"], "root")
    try:
        code, tail = grading_course.nbgrader(collected["root"], "collect", "--update",
                                             f"--ExchangeFactory.collect={receipts.COLLECTOR}", "--student=lp", A1,
                                             timeout=300)
    finally:
        shutil.rmtree(folder)
    assert code == 0, tail
    assert "every submission is owned by 'root': if every student is that one Unix user here, set " \
           "c.ExchangeCollect.check_owner = False" in tail, tail
