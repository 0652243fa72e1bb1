"""The instructor's grading round trip in one command each (grading/README.md; `make release` ... `make report`).

nbgrader does the work (generate_assignment, autograde, generate_feedback,
export, its Gradebook). What this module adds, because nbgrader's batch mode
stops or hangs on one bad submission:

* students are added to the gradebook from the folder names in submitted/;
* every submission (student x assignment) is graded in its own nbgrader
  process with a time limit; one that cannot be graded (not a notebook, a
  symlink, too large, a grader crash, over time) gets 0 and one log line
  saying why, and the batch goes on;
* feedback is generated per submission and checked for hidden-test text;
* the item analysis (share of the class right per question and exercise).

Usage: python -m course_utils.grading {students,release,autograde,feedback,grades,report} [--course DIR]
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MAX_NOTEBOOK_BYTES = 20 << 20
HIDDEN_BEGIN, HIDDEN_END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
LOG_NAME = "autograde-log.csv"


def course_root(course: str | os.PathLike | None = None) -> Path:
    """The nbgrader course folder (the one with nbgrader_config.py); default: grading/ of this repository."""
    root = Path(course) if course else Path(__file__).resolve().parent.parent / "grading"
    if not (root / "nbgrader_config.py").is_file():
        raise SystemExit(f"{root} is not an nbgrader course: nbgrader_config.py is missing. Pass --course DIR.")
    return root.resolve()


def assignments(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "source").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def submitted_students(root: Path) -> list[str]:
    folder = root / "submitted"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))


def nbgrader(root: Path, *args: str, timeout: float | None = None, env: dict | None = None,
             log_path: Path | None = None) -> tuple[int, str]:
    """Run one nbgrader command in the course folder; (exit code, the tail of its log)."""
    command = [sys.executable, "-m", "nbgrader", *args]
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])  # nbgrader calls `alembic`
    full_env = {**os.environ, "PATH": path, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "TQDM_DISABLE": "1",
                **(env or {})}
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, cwd=root, stdout=out, stderr=subprocess.STDOUT, env=full_env,
                                   start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)  # the nbgrader process and its kernel: a new session of our own
            process.wait()
            code = -9
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(text[-200_000:], encoding="utf-8")
    return code, text[-4000:]


# ---------------------------------------------------------------- students, release
def add_students(root: Path) -> list[str]:
    """Add every folder name of submitted/ to the gradebook as a student (nbgrader needs them there)."""
    from nbgrader.api import Gradebook

    added = []
    with Gradebook(_db_url(root)) as gb:
        known = {s.id for s in gb.students}
        for student in submitted_students(root):
            if student not in known:
                gb.add_student(student)
                added.append(student)
    if added:
        print(f"Added {len(added)} student(s) to the gradebook: {', '.join(added)}")
    return added


def _db_url(root: Path) -> str:
    """The gradebook's URL; nbgrader runs `alembic` when it creates one, so the venv's bin goes on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    return "sqlite:///" + str(root / "gradebook.db")


def release(root: Path) -> None:
    """Student versions of every source assignment in release/ (solutions and hidden tests removed)."""
    for assignment in assignments(root):
        code, tail = nbgrader(root, "generate_assignment", assignment, "--force")
        if code != 0:
            raise SystemExit(f"nbgrader generate_assignment {assignment} failed:\n{tail}")
        print(f"released {assignment} -> {root / 'release' / assignment}")
    check_release(root)


def ensure_released(root: Path) -> None:
    """Autograde needs each assignment's source cells in the gradebook: generate the ones missing."""
    from nbgrader.api import Gradebook, MissingEntry

    missing = []
    with Gradebook(_db_url(root)) as gb:
        for assignment in assignments(root):
            try:
                if not gb.find_assignment(assignment).notebooks:
                    missing.append(assignment)
            except MissingEntry:
                missing.append(assignment)
    for assignment in missing:
        print(f"{assignment} is not in the gradebook yet: generating it (what `make release` does)")
        code, tail = nbgrader(root, "generate_assignment", assignment, "--force")
        if code != 0:
            raise SystemExit(f"nbgrader generate_assignment {assignment} failed:\n{tail}")


def check_release(root: Path) -> None:
    """Refuse a release that contains hidden tests, solutions or saved quiz answers."""
    problems = []
    for path in (root / "release").rglob("*"):
        if path.name.startswith("quiz_responses"):
            problems.append(f"{path}: saved quiz answers")
        elif path.suffix == ".ipynb" and any(s in path.read_text(encoding="utf-8") for s in
                                             (HIDDEN_BEGIN, "BEGIN SOLUTION")):
            problems.append(f"{path}: hidden tests or a solution")
    if problems:
        raise SystemExit("The release leaks answers; fix the source and run `make release` again:\n" + "\n".join(problems))


# ---------------------------------------------------------------- autograde
@dataclass
class Outcome:
    student: str
    assignment: str
    status: str  # "graded" or "zero"
    reason: str
    seconds: float
    score: float | None = None
    max_score: float | None = None


def _precheck(folder: Path, notebooks: list[str]) -> str | None:
    """Why this submission cannot be graded as it is (None: let nbgrader grade it)."""
    import nbformat

    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            return f"{path.relative_to(folder.parent.parent)} is a symbolic link (submit plain files)"
    present = [name for name in notebooks if (folder / f"{name}.ipynb").is_file()]
    if not present:
        return f"no notebook named {', '.join(n + '.ipynb' for n in notebooks)} in the submission"
    for name in present:
        path = folder / f"{name}.ipynb"
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return f"{path.name} is {path.stat().st_size >> 20} MB (limit {MAX_NOTEBOOK_BYTES >> 20} MB)"
        try:
            nbformat.read(path, as_version=4)
        except Exception as exc:  # nbformat raises several types for broken files
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return f"{path.name} is not a valid notebook ({first[:200]})"
    return None


def _zero(root: Path, student: str, assignment: str) -> None:
    """Give every graded cell of this submission 0 points (what nbgrader does for a missing notebook)."""
    from nbgrader.api import Gradebook

    with Gradebook(_db_url(root)) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        gb.db.commit()


def _score(root: Path, student: str, assignment: str) -> tuple[float | None, float | None]:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(_db_url(root)) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return None, None
        return float(submission.score), float(submission.max_score)


def _source_notebooks(root: Path, assignment: str) -> list[str]:
    return sorted(p.stem for p in (root / "source" / assignment).glob("*.ipynb"))


def autograde(root: Path, students: list[str] | None = None, only: list[str] | None = None,
              timeout: float | None = None, jobs: int = 1) -> list[Outcome]:
    """Grade every submitted/<student>/<assignment>/; never stops on one submission.

    ``jobs`` submissions are graded at a time (each in its own nbgrader process and kernel).
    """
    from concurrent.futures import ThreadPoolExecutor

    timeout = timeout or float(os.environ.get("COURSE_GRADING_SUBMISSION_TIMEOUT", "900"))
    ensure_released(root)
    add_students(root)
    known = assignments(root)
    work = [(student, assignment) for student in students or submitted_students(root) for assignment in only or known
            if (root / "submitted" / student / assignment).exists()
            or (root / "submitted" / student / assignment).is_symlink()]

    def grade(item: tuple[str, str]) -> Outcome:
        student, assignment = item
        scratch = Path(tempfile.mkdtemp(prefix="course-grading-"))
        try:
            outcome = _grade_one(root, student, assignment, root / "submitted" / student / assignment, timeout, scratch)
            if "database is locked" in outcome.reason:  # SQLite and parallel jobs: grade it once more
                outcome = _grade_one(root, student, assignment, root / "submitted" / student / assignment, timeout,
                                     scratch)
            return outcome
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # threads only wait on nbgrader processes
        outcomes = list(pool.map(grade, work))
    _write_log(root, outcomes)
    _print_summary(outcomes)
    return outcomes


def _grade_one(root: Path, student: str, assignment: str, folder: Path, timeout: float, scratch: Path) -> Outcome:
    start = time.monotonic()
    why = _precheck(folder, _source_notebooks(root, assignment)) if not folder.is_symlink() else \
        "the submission folder is a symbolic link"
    if why is None:
        log_path = root / "autograded" / student / assignment / "autograde.log"
        code, tail = nbgrader(root, "autograde", assignment, "--student", student, "--force",
                              timeout=timeout, env={"COURSE_GRADING_SCRATCH": str(scratch)})
        if code == -9:
            why = f"grading took longer than {timeout:.0f} s and was stopped"
        elif code != 0:
            errors = [line for line in tail.splitlines() if "[ERROR]" in line or "Error" in line]
            why = "nbgrader could not grade it: " + (errors[-1].strip()[:300] if errors else f"exit code {code}")
        else:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text(tail, encoding="utf-8")
    if why is not None:
        _zero(root, student, assignment)
        status = "zero"
    else:
        status = "graded"
    score, max_score = _score(root, student, assignment)
    outcome = Outcome(student, assignment, status, why or "", round(time.monotonic() - start, 1), score, max_score)
    print(f"{student}/{assignment}: {status} {score}/{max_score} in {outcome.seconds} s" + (f" ({why})" if why else ""),
          flush=True)
    return outcome


def _write_log(root: Path, outcomes: list[Outcome]) -> None:
    path = root / "autograded" / LOG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "status", "score", "max_score", "seconds", "reason"])
        for o in outcomes:
            writer.writerow([o.student, o.assignment, o.status, o.score, o.max_score, o.seconds, o.reason])


def _print_summary(outcomes: list[Outcome]) -> None:
    if not outcomes:
        print("No submissions found in submitted/<student>/<assignment>/.")
        return
    seconds = [o.seconds for o in outcomes]
    zero = sum(o.status == "zero" for o in outcomes)
    print(f"Autograded {len(outcomes)} submission(s) in {sum(seconds):.0f} s "
          f"({sum(seconds) / len(seconds):.1f} s each); {zero} could not be graded and got 0 (see the reasons above).")


# ---------------------------------------------------------------- feedback
def hidden_lines(root: Path) -> set[str]:
    """Every hidden-test line of the source notebooks that is long enough to recognise."""
    import nbformat

    lines = set()
    for path in (root / "source").glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if HIDDEN_BEGIN in line:
                    inside = True
                elif HIDDEN_END in line:
                    inside = False
                elif inside and len(line.strip()) >= 20:
                    lines.add(line.strip())
    return lines


def feedback(root: Path) -> list[tuple[str, str, str]]:
    """HTML feedback per autograded submission; a page that would show a hidden test is withheld.

    One nbgrader process per assignment (all its students); if it fails, one per student, so one
    broken notebook costs only its own feedback.
    """
    import html

    secret = hidden_lines(root)
    problems = []
    graded: dict[str, list[str]] = {}
    for folder in sorted((root / "autograded").glob("*/*")):
        if folder.is_dir() and any(folder.glob("*.ipynb")):
            graded.setdefault(folder.name, []).append(folder.parent.name)
    for assignment, students in graded.items():
        code, _ = nbgrader(root, "generate_feedback", assignment, "--force", timeout=600)
        for student in students if code != 0 else []:
            code, tail = nbgrader(root, "generate_feedback", assignment, "--student", student, "--force", timeout=300)
            if code != 0:
                last = tail.strip().splitlines()[-1] if tail.strip() else f"exit code {code}"
                problems.append((student, assignment, f"generate_feedback failed: {last}"))
        for student in students:
            for page in (root / "feedback" / student / assignment).glob("*.html"):
                text = html.unescape(page.read_text(encoding="utf-8"))
                if any(line in text for line in secret):
                    page.unlink()
                    problems.append((student, assignment, f"{page.name} withheld: it showed a hidden test line"))
    for student, assignment, why in problems:
        print(f"{student}/{assignment}: {why}")
    print(f"Feedback in {root / 'feedback'} ({len(problems)} problem(s)).")
    return problems


# ---------------------------------------------------------------- grades, report
def grades(root: Path) -> Path:
    code, tail = nbgrader(root, "export", "--to", "grades.csv", timeout=300)
    if code != 0:
        raise SystemExit(f"nbgrader export failed:\n{tail}")
    print(f"Grades: {root / 'grades.csv'}")
    return root / "grades.csv"


def _item_labels(root: Path) -> dict:
    """(assignment, notebook, cell) -> what the test checks, from its first comment line in the source
    ("# Question 3: trainer.fp16 (1 point)" -> "trainer.fp16")."""
    import re

    import nbformat

    labels = {}
    for path in (root / "source").glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            first = cell.source.splitlines()[0] if cell.source else ""
            match = re.match(r"#\s*(?:Question \d+:\s*)?(.+?)\s*(?:\(\d+ points?\))?$", first)
            if grade_id and match and cell.cell_type == "code":
                labels[(path.parent.name, path.stem, grade_id)] = match.group(1)
    return labels


def item_analysis(root: Path) -> tuple[list[dict], list[dict]]:
    """(per item, per exercise): share of the class (every student in the gradebook) with full marks."""
    from nbgrader.api import Gradebook, MissingEntry

    items, exercises = [], {}
    labels = _item_labels(root)
    with Gradebook(_db_url(root)) as gb:
        students = [s.id for s in gb.students]
        for assignment in gb.assignments:
            for notebook in assignment.notebooks:
                for cell in sorted(notebook.grade_cells, key=lambda c: c.name):
                    if cell.max_score <= 0:
                        continue
                    right, scores = 0, []
                    for student in students:
                        try:
                            grade = gb.find_grade(cell.name, notebook.name, assignment.name, student)
                        except MissingEntry:
                            scores.append(0.0)
                            continue
                        score = float(grade.score or 0)
                        scores.append(score)
                        right += score >= cell.max_score
                    kind = "question" if "quiz" in assignment.name else "test"
                    label = labels.get((assignment.name, notebook.name, cell.name), cell.name)
                    exercise = cell.name.split("_")[0]
                    n = len(students) or 1
                    items.append({"assignment": assignment.name, "item": cell.name, "label": label, "kind": kind,
                                  "exercise": exercise, "max_points": cell.max_score, "students": len(students),
                                  "share_right": round(right / n, 4), "mean_points": round(sum(scores) / n, 4)})
                    key = (assignment.name, exercise)
                    entry = exercises.setdefault(key, {"assignment": assignment.name, "exercise": exercise,
                                                       "max_points": 0.0, "per_student": [True] * len(students)})
                    entry["max_points"] += cell.max_score
                    entry["per_student"] = [ok and s >= cell.max_score for ok, s in zip(entry["per_student"], scores)]
    rows = []
    for entry in exercises.values():
        per = entry.pop("per_student")
        rows.append({**entry, "students": len(per), "share_right": round(sum(per) / (len(per) or 1), 4)})
    return items, rows


def report(root: Path) -> Path:
    """grading/report/: items.csv, exercises.csv and item_analysis.png (share of the class right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items, exercises = item_analysis(root)
    out = root / "report"
    out.mkdir(exist_ok=True)
    for name, rows in (("items.csv", items), ("exercises.csv", exercises)):
        with (out / name).open("w", newline="", encoding="utf-8") as handle:
            if rows:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
    fig, axes = plt.subplots(1, 2, figsize=(13, max(4, 0.28 * max(len(items), len(exercises), 1))),
                             gridspec_kw={"width_ratios": [3, 2]})
    for ax, rows, label, title in ((axes[0], items, "item", "per test cell / quiz question"),
                                   (axes[1], exercises, "exercise", "per exercise (all its tests right)")):
        names = [f"{r['assignment'][:2]} {r[label]}: {r['label']}"[:70] if "label" in r else
                 f"{r['assignment']}: {r[label]}" for r in rows]
        ax.barh(names, [r["share_right"] for r in rows],
                color=["tab:orange" if r.get("kind") == "question" else "tab:blue" for r in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of the class with full marks")
        ax.set_title(title)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle("Item analysis (from the gradebook)")
    fig.tight_layout()
    fig.savefig(out / "item_analysis.png", dpi=110)
    plt.close(fig)
    print(f"Item analysis: {out / 'items.csv'}, {out / 'exercises.csv'}, {out / 'item_analysis.png'}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.grading", description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["students", "release", "autograde", "feedback", "grades", "report"])
    parser.add_argument("--course", help="the nbgrader course folder (default: grading/)")
    parser.add_argument("--student", action="append", help="only this student (repeatable)")
    parser.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    parser.add_argument("--timeout", type=float, help="seconds per submission (COURSE_GRADING_SUBMISSION_TIMEOUT)")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("COURSE_GRADING_JOBS", "1")),
                        help="submissions graded at a time (default 1; about half the CPU cores)")
    args = parser.parse_args(argv)
    root = course_root(args.course)
    if args.step == "students":
        add_students(root)
    elif args.step == "release":
        release(root)
    elif args.step == "autograde":
        autograde(root, args.student, args.assignment, args.timeout, args.jobs)
    elif args.step == "feedback":
        feedback(root)
    elif args.step == "grades":
        grades(root)
    else:
        report(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
