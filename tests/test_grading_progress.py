"""`make autograde`'s progress (done/total, elapsed, ETA; a bar on a terminal, plain lines elsewhere) and
`make regrade STUDENT=... ASSIGNMENT=...`. Fast: a fake clock, fake streams, a fake grading job; no sandbox."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from course_utils.grading import autograde as ag
from course_utils.grading import progress as batch_progress

ROOT = Path(__file__).resolve().parents[1]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    """What tqdm writes to a terminal, kept."""

    def isatty(self) -> bool:
        return True


# ---------------------------------------------------------------- the formatter and the ETA maths
@pytest.mark.parametrize("seconds, text", [
    (0, "0 s"), (42.4, "42 s"), (59.6, "1 min 00 s"), (185, "3 min 05 s"), (3599, "59 min 59 s"),
    (3600, "1 h 00 min"), (3725, "1 h 02 min"), (-3, "0 s"),
])
def test_durations_read_as_an_instructor_reads_them(seconds, text):
    assert batch_progress.format_duration(seconds) == text


@pytest.mark.parametrize("seconds, text", [
    (0, "about 5 s left"), (3, "about 5 s left"), (41, "about 40 s left"), (43, "about 45 s left"),
    (59, "about 60 s left"),
    (60, "about 1 min left"), (89, "about 1 min left"), (90, "about 2 min left"), (420, "about 7 min left"),
    (3540, "about 59 min left"), (3600, "about 1 h 00 min left"),
    (3900, "about 1 h 05 min left"),
])
def test_the_eta_is_no_more_precise_than_it_is(seconds, text):
    assert batch_progress.format_left(seconds) == text


def test_eta_is_the_mean_time_per_submission_times_the_rest_over_the_jobs():
    # 3 done in 30 s of grading (10 s each), 37 left, 4 at a time: 10 * 37 / 4
    assert batch_progress.eta_seconds(30.0, 3, 40, 4) == pytest.approx(92.5)
    # one job: every remaining submission in turn
    assert batch_progress.eta_seconds(30.0, 3, 40, 1) == pytest.approx(370.0)
    # fewer left than jobs: they run side by side, one submission's time, not 2/8 of it
    assert batch_progress.eta_seconds(20.0, 2, 4, 8) == pytest.approx(10.0)
    assert batch_progress.eta_seconds(0.0, 0, 40, 4) is None  # nothing finished: no estimate yet
    assert batch_progress.eta_seconds(50.0, 5, 5, 4) == 0.0


def test_the_plain_line_format():
    assert batch_progress.progress_line(12, 40, 185, 420) == "autograde: 12/40 done, 3 min 05 s elapsed, about 7 min left"
    assert batch_progress.progress_line(0, 40, 5, None) == "autograde: 0/40 done, 5 s elapsed, ETA after the first submission"
    assert batch_progress.progress_line(40, 40, 528, 0.0) == "autograde: 40/40 done, 8 min 48 s elapsed"


# ---------------------------------------------------------------- the plain lines (CI logs, a pipe)
def test_without_a_terminal_plain_lines_after_the_first_at_most_every_interval_and_at_the_end():
    clock, out = Clock(), io.StringIO()
    progress = batch_progress.Progress(5, 2, stream=out, clock=clock, every=15)
    for at, took in ((10, 10), (12, 12), (20, 9), (31, 11), (33, 8)):
        clock.now = 1000.0 + at
        progress.say(f"s{at}/03_evaluation: graded 5.0/5.0 in {took} s")
        progress.finished(took, f"s{at}/03_evaluation")
    progress.close()
    assert out.getvalue().splitlines() == [
        "autograde: 5 submission(s) to grade, 2 at a time",
        "s10/03_evaluation: graded 5.0/5.0 in 10 s",
        "autograde: 1/5 done, 10 s elapsed, about 20 s left",  # 10 s each, 4 left, 2 at a time
        "s12/03_evaluation: graded 5.0/5.0 in 12 s",           # 2 s after the last line: none
        "s20/03_evaluation: graded 5.0/5.0 in 9 s",            # 10 s after: none
        "s31/03_evaluation: graded 5.0/5.0 in 11 s",
        "autograde: 4/5 done, 31 s elapsed, about 10 s left",  # 21 s after: (10+12+9+11)/4 * 1 / 1 = 10.5
        "s33/03_evaluation: graded 5.0/5.0 in 8 s",
        "autograde: 5/5 done, 33 s elapsed",                   # the last one always
    ]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_tqdm_disable_on_a_terminal_gives_the_plain_lines(monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    clock, out = Clock(), Terminal()
    progress = batch_progress.Progress(2, 4, stream=out, clock=clock)
    clock.now += 65
    progress.finished(65, "a/01_preprocessing")
    progress.close()
    assert out.getvalue().splitlines() == ["autograde: 2 submission(s) to grade, 2 at a time",
                                           "autograde: 1/2 done, 1 min 05 s elapsed, about 1 min left"]


# ---------------------------------------------------------------- the bar on a terminal
def test_on_a_terminal_a_bar_with_the_eta_and_log_lines_above_it(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    clock, out = Clock(), Terminal()
    progress = batch_progress.Progress(4, 2, stream=out, clock=clock)
    clock.now += 30
    progress.say("alice/03_evaluation: graded 5.0/5.0 in 30.0 s")
    evil = ag.shown("evil\x1b[2J\rname")  # as autograde passes it: escaped once, here as in the log lines
    progress.finished(30.0, f"{evil}/03_evaluation")
    clock.now += 5
    progress.close()
    text = out.getvalue()
    assert "\x1b" not in text, "a student's escape sequence reached the terminal"
    screens = [part for line in text.split("\n") for part in line.split("\r") if part.strip()]
    assert "alice/03_evaluation: graded 5.0/5.0 in 30.0 s" in screens  # the log line whole, on its own line
    last = screens[-1]
    # 30 s each, 3 left, 2 at a time: 45 s, 5 s of it gone by at close
    assert re.search(r"^autograde:\s+25%\|.*\| 1/4, 35 s elapsed, about 40 s left \(last: 'evil\\x1b\[2J\\rname'/03_ev",
                     last), screens


# ---------------------------------------------------------------- autograde() wires it in
def test_autograde_prints_progress_and_keeps_its_log_lines(monkeypatch, tmp_path, capsys):
    """The batch runner with a fake grading job: the per-submission lines and the summary as before, the progress
    lines beside them, and a student name with a control character escaped everywhere."""
    evil = "mallory\x1b[2J"
    students = ["alice", evil, "bob"]
    for student in students:
        (tmp_path / "submitted" / student / "03_evaluation").mkdir(parents=True)
    monkeypatch.setattr(ag.sandbox, "preflight", lambda: None)
    monkeypatch.setattr(ag, "ensure_released", lambda root: None)
    monkeypatch.setattr(ag, "add_students", lambda root: None)
    monkeypatch.setattr(ag, "assignments", lambda root: ["03_evaluation"])
    monkeypatch.setattr(ag, "submitted_students", lambda root: students)
    monkeypatch.setattr(ag, "write_log", lambda root, outcomes: None)

    class FakeSlot:
        def grade(self, root, student, assignment, timeout, scratch, say):
            say(f"{ag.shown(student)}/{assignment}: graded 5.0/5.0 in 0.0 s")
            return ag.Outcome(student, assignment, ag.GRADED, "", 0.0, 5.0, 5.0)

        def close(self):
            pass

    monkeypatch.setattr(ag, "Slot", FakeSlot)
    outcomes = ag.autograde(tmp_path, jobs=2)
    out = capsys.readouterr().out
    assert [o.score for o in outcomes] == [5.0, 5.0, 5.0]
    lines = out.splitlines()
    assert lines[0] == "autograde: 3 submission(s) to grade, 2 at a time"
    assert "alice/03_evaluation: graded 5.0/5.0 in 0.0 s" in lines
    assert "'mallory\\x1b[2J'/03_evaluation: graded 5.0/5.0 in 0.0 s" in lines
    assert re.search(r"^autograde: 1/3 done, \d+ s elapsed, about \d+ s left$", out, re.M), out
    assert re.search(r"^autograde: 3/3 done, \d+ s elapsed$", out, re.M), out
    assert lines[-1].startswith("Autograded 3 submission(s) in "), out
    assert "\x1b" not in out


# ---------------------------------------------------------------- make regrade
def _make(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "STUDENT",
                                                              "ASSIGNMENT", "COURSE_GRADING_DIR"}}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("variables", [[], ["STUDENT=alice"], ["ASSIGNMENT=03_evaluation"],
                                       ["STUDENT=", "ASSIGNMENT="]])
def test_regrade_says_in_one_line_what_is_missing(variables):
    done = _make("regrade", *variables)
    assert done.returncode != 0
    assert done.stdout.splitlines() == [
        "make regrade needs STUDENT=<student id> and ASSIGNMENT=<assignment>, e.g. make regrade STUDENT=alice "
        "ASSIGNMENT=03_evaluation"], done.stdout + done.stderr


def test_regrade_names_a_submission_that_is_not_there(tmp_path):
    done = _make("regrade", f"COURSE_GRADING_DIR={tmp_path}", "STUDENT=alice", "ASSIGNMENT=03_evaluation")
    assert done.returncode != 0
    assert done.stdout.splitlines() == [
        f"make regrade: no submission {tmp_path}/submitted/alice/03_evaluation (collect it first)"], done.stdout


@pytest.mark.parametrize("student", [
    "-1 'o\"dd",  # a leading "-", quotes, a space: still one id
    "x$(shell touch {marker})y",  # make must not expand a student's folder name: it would run on the instructor's host
    "bob$x",  # nor shorten it to another student's ("bob")
])
def test_regrade_runs_autograde_for_that_one_submission(tmp_path, student):
    """The recipe as make runs it, with a stand-in interpreter that records its arguments; those arguments, given
    to the real command line, grade one student's one assignment."""
    import json
    import sys
    import unittest.mock

    from course_utils.grading import cli

    course = tmp_path / "course"
    marker = ROOT / f"regrade-expanded-by-make-{tmp_path.name}"  # relative in the id: make runs in ROOT
    student = student.format(marker=marker.name)
    (course / "submitted" / student / "03_evaluation").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("")
    argv_file = tmp_path / "argv.json"
    fake = tmp_path / "python"
    fake.write_text(f"#!{sys.executable}\nimport json, sys\njson.dump(sys.argv[1:], open({str(argv_file)!r}, 'w'))\n")
    fake.chmod(0o755)
    printed = _make("-n", "regrade", f"COURSE_GRADING_DIR={course}", f"STUDENT={student}", "ASSIGNMENT=03_evaluation")
    assert printed.stdout.splitlines()[-1].endswith(
        f"-m course_utils.grading --course {course} autograde --student=\"$STUDENT\" --assignment=\"$ASSIGNMENT\""), \
        printed.stdout
    done = _make("regrade", f"PY={fake}", "GRADING_STAMP=", f"COURSE_GRADING_DIR={course}", f"STUDENT={student}",
                 "ASSIGNMENT=03_evaluation")
    assert done.returncode == 0, done.stdout + done.stderr
    argv = json.loads(argv_file.read_text())
    assert argv == ["-m", "course_utils.grading", "--course", str(course), "autograde", f"--student={student}",
                    "--assignment=03_evaluation"]
    assert not marker.exists(), "make expanded the student id"
    seen = {}

    def fake_autograde(root, students, only, timeout, jobs):
        seen.update(root=root, students=students, only=only)
        return []

    with unittest.mock.patch.object(cli.autograde, "autograde", fake_autograde):
        assert cli.main(argv[2:]) == 0
    assert seen == {"root": course.resolve(), "students": [student], "only": ["03_evaluation"]}


# ---------------------------------------------------------------- text a student chose, on the terminal
FAKE_LINE = "\x1b[2J\x1b[1Agraded 10/10 bob/01_preprocessing: graded"  # clear the screen, fake another's line


@pytest.mark.parametrize("bar", [False, True])
def test_a_reason_quoting_the_students_notebook_reaches_the_terminal_escaped(tmp_path, bar):
    """nbformat's error repeats the field it rejects, and precheck's reason quotes it: the line that prints it must
    not carry the student's control characters to the instructor's terminal, bar or no bar."""
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "01_preprocessing.ipynb").write_text(
        json.dumps({"nbformat": FAKE_LINE, "nbformat_minor": 0, "cells": [], "metadata": {}}))
    why = ag.precheck(folder, ["01_preprocessing"])
    assert why and "\x1b" in why  # the student's text is in the reason ...
    stream = io.StringIO()
    progress = batch_progress.Progress(1, 1, stream=stream, bar=bar)
    progress.say(f"alice/01_preprocessing: zero ({why})")
    progress.close()
    out = stream.getvalue()
    assert "\x1b[2J" not in out and "\\x1b[2J" in out  # ... and only its escape reaches the terminal


def test_the_plain_log_line_escapes_control_characters(capsys):
    batch_progress.say_line(f"alice/01: zero ({FAKE_LINE}\nforged line)")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "\x1b" not in out and "\\x1b[1A" in out and "\\nforged line" in out

