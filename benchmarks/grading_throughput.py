"""How fast the grader gets through a class: release, an honest + hostile batch, `autograde --jobs J`.

    python benchmarks/grading_throughput.py [--quick] [--students 40] [--jobs J] [--course grading]

Only the command line and files, as an instructor uses them (so it measures
whatever grader is installed, before and after a redesign):

1. copies the course folder (default ``grading/``, or ``COURSE_GRADING_DIR``)
   to a temporary folder, without anything generated (release/, submitted/,
   autograded/, feedback/, gradebook.db, grades, report/);
2. ``python -m course_utils.grading release --course TMP``;
3. writes ``submitted/<student>/<assignment>/<assignment>.ipynb`` for every
   student x assignment: the released notebook with the key's answers (the
   source's solution cells without the SOLUTION markers: full marks), except a
   fixed share of hostile ones (the last answer cell replaced by): a loop that
   ignores interrupts, a kernel crash (``os._exit``), an output flood (20 MB of
   prints, then the right answer), and the blank release;
4. times ``python -m course_utils.grading autograde --course TMP --jobs J``
   (wall clock of that one command) and reads ``autograded/autograde-log.csv``.

The last line of the output is one JSON object: submissions, wall seconds,
seconds per submission, jobs, cores, the load average at start and end, the
count of each status in the log, mean seconds per submission kind, and how
many honest submissions got full marks (a grader that fails fast is not fast).
The grader's own settings apply (cell timeout 60 s unless
``COURSE_GRADING_CELL_TIMEOUT`` or ``--cell-timeout``): the loop costs one cell
timeout each.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from course_utils.device import usable_cores

REPO_ROOT = Path(__file__).resolve().parent.parent
GENERATED = {"release", "submitted", "autograded", "feedback", "gradebook.db", "grades.csv", "grades-canvas.csv",
             "report", ".ipynb_checkpoints", "__pycache__"}

# The hostile answers, each replacing the last answer cell of a notebook (earlier answers keep their points).
HOSTILE = {
    "loop": "import time\nwhile True:\n    try:\n        time.sleep(0.5)\n    except KeyboardInterrupt:\n        pass",
    "crash": "import os\nos._exit(1)",
    "flood": "for _ in range(20000):\n    print('x' * 1000)\n",  # then the key's answer: the work itself is right
}
# One class in 20 submissions: 16 honest, one of each hostile kind, spread over different assignments
# (with 5 assignments, positions 3, 6, 12 and 19 fall on assignments 4, 2, 3 and 5).
PATTERN = ["honest"] * 20
for position, kind in zip((3, 6, 12, 19), ("loop", "crash", "flood", "blank")):
    PATTERN[position] = kind


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 students (also COURSE_SMOKE=1)")
    parser.add_argument("--students", type=int, default=None, help="students in the class (default 40; quick: 4)")
    parser.add_argument("--jobs", type=int, default=None, help="autograde --jobs (default: twice the cores, at most 16, as make autograde)")
    parser.add_argument("--course", default=None,
                        help="course folder to copy (default: COURSE_GRADING_DIR, else grading/ of this repository)")
    parser.add_argument("--cell-timeout", type=int, default=None,
                        help="COURSE_GRADING_CELL_TIMEOUT for the run (default: the grader's own)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary course folder (its path is printed)")
    args = parser.parse_args()
    args.quick = args.quick or os.environ.get("COURSE_SMOKE", "").lower() in {"1", "true", "yes"}
    args.students = args.students or (4 if args.quick else 40)
    if not args.jobs:  # the grader's own default (what `make autograde` uses)
        from course_utils.grading.autograde import default_jobs

        args.jobs = default_jobs()
    return args


def load() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def note(text: str) -> None:
    print(f"note {text}", flush=True)


def copy_course(source: Path, dest: Path) -> None:
    if not (source / "nbgrader_config.py").is_file():
        raise SystemExit(f"{source} is not an nbgrader course (no nbgrader_config.py): pass --course DIR.")
    shutil.copytree(source, dest, ignore=lambda folder, names: GENERATED & set(names) if Path(folder) == source
                    else {n for n in names if n in {"__pycache__", ".ipynb_checkpoints"}})


def grading_cli(step: str, course: Path, *extra: str, env: dict, log: Path) -> tuple[int, float]:
    """Run ``python -m course_utils.grading STEP --course COURSE``; (exit code, wall seconds). Output to ``log``."""
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as handle:
        code = subprocess.run([sys.executable, "-m", "course_utils.grading", step, "--course", str(course), *extra],
                              cwd=REPO_ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT).returncode
    return code, time.perf_counter() - start


def answer_cells(nb) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution")]


def key_answers(course: Path, assignment: str) -> dict[str, str]:
    """grade_id -> the instructor's answer (a source solution cell without its SOLUTION marker lines)."""
    import nbformat

    nb = nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    return {nb.cells[i].metadata["nbgrader"]["grade_id"]: "\n".join(
        line for line in nb.cells[i].source.splitlines() if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)
        for i in answer_cells(nb)}


def submission(course: Path, assignment: str, kind: str, key: dict[str, str]):
    """The released notebook as a student of ``kind`` hands it in."""
    import nbformat

    nb = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    if kind == "blank":
        return nb
    cells = answer_cells(nb)
    for i in cells:
        nb.cells[i].source = key[nb.cells[i].metadata["nbgrader"]["grade_id"]]
    last = nb.cells[cells[-1]]
    if kind == "flood":
        last.source = HOSTILE["flood"] + last.source
    elif kind in HOSTILE:
        last.source = HOSTILE[kind]
    return nb


def write_submissions(course: Path, students: int) -> dict[tuple[str, str], str]:
    """submitted/<student>/<assignment>/<assignment>.ipynb for every pair; (student, assignment) -> kind."""
    import nbformat

    assignments = sorted(p.name for p in (course / "release").iterdir() if p.is_dir())
    if not assignments:
        raise SystemExit(f"release produced no assignment in {course / 'release'}.")
    keys = {a: key_answers(course, a) for a in assignments}
    kinds = {}
    for s in range(students):
        student = f"student{s + 1:03d}"
        for a in assignments:
            kind = PATTERN[len(kinds) % len(PATTERN)]
            folder = course / "submitted" / student / a
            folder.mkdir(parents=True)
            nbformat.write(submission(course, a, kind, keys[a]), folder / f"{a}.ipynb")
            kinds[(student, a)] = kind
    return kinds


def read_log(course: Path) -> list[dict]:
    path = course / "autograded" / "autograde-log.csv"
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def number(text) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def main() -> int:
    args = parse_args()
    source = Path(args.course or os.environ.get("COURSE_GRADING_DIR") or REPO_ROOT / "grading").resolve()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("COURSE_SMOKE", None)  # the grader's own behaviour, not the lessons' smoke switch
    if args.cell_timeout:
        env["COURSE_GRADING_CELL_TIMEOUT"] = str(args.cell_timeout)
    work = Path(tempfile.mkdtemp(prefix="grading-throughput-"))
    course = work / "course"
    try:
        copy_course(source, course)
        code, release_seconds = grading_cli("release", course, env=env, log=work / "release.log")
        if code != 0:
            sys.stderr.write((work / "release.log").read_text(encoding="utf-8")[-3000:])
            raise SystemExit(f"release failed (exit {code}); its log is above.")
        kinds = write_submissions(course, args.students)
        note(f"{len(kinds)} submissions: {args.students} students x {len(kinds) // args.students} assignments; "
             + ", ".join(f"{k} {n}" for k, n in sorted(Counter(kinds.values()).items())))
        load_start = load()
        note(f"autograde --jobs {args.jobs} on {usable_cores()} cores, load average at start {load_start}")
        code, wall = grading_cli("autograde", course, "--jobs", str(args.jobs), env=env,
                                 log=work / "autograde.log")
        load_end = load()
        rows = read_log(course)
        if code != 0 or not rows:
            sys.stderr.write((work / "autograde.log").read_text(encoding="utf-8")[-3000:])
        by_kind = defaultdict(list)
        honest_full = honest = 0
        for row in rows:
            kind = kinds.get((row.get("student"), row.get("assignment")), "unknown")
            if number(row.get("seconds")) is not None:
                by_kind[kind].append(number(row["seconds"]))
            if kind == "honest":
                honest += 1
                score, maximum = number(row.get("score")), number(row.get("max_score"))
                honest_full += score is not None and maximum is not None and score == maximum
        result = {
            "benchmark": "grading_throughput", "submissions": len(kinds), "students": args.students,
            "kinds": dict(sorted(Counter(kinds.values()).items())), "jobs": args.jobs, "cores": usable_cores(),
            "wall_seconds": round(wall, 1), "seconds_per_submission": round(wall / max(1, len(kinds)), 2),
            "release_seconds": round(release_seconds, 1), "load_start": load_start, "load_end": load_end,
            "status_counts": dict(sorted(Counter(row.get("status", "?") for row in rows).items())),
            "logged": len(rows), "mean_seconds_by_kind": {k: round(sum(v) / len(v), 1) for k, v in sorted(by_kind.items())},
            "honest_full_marks": f"{honest_full}/{honest}", "cell_timeout": env.get("COURSE_GRADING_CELL_TIMEOUT", "default"),
            "warm": env.get("COURSE_GRADING_WARM", "default"),
            "exit_code": code,
        }
        if args.keep:
            note(f"course kept in {course}")
        print(json.dumps(result), flush=True)
        return 0 if code == 0 and len(rows) == len(kinds) else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
