"""The nbgrader course folder: where it is, its assignments and students, running nbgrader, release.

nbgrader does the work (generate_assignment, autograde, generate_feedback,
export, its Gradebook); this module runs it as a subprocess with an isolated
interpreter from the course folder and adds what nbgrader lacks (students taken
from submitted/, a release check that no answer leaks).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from course_utils.grading import policy as course_policy
from course_utils.grading.terminal import shown
from course_utils.grading.checks import CHECK_MARKER, HIDDEN_BEGIN

# Files of a source assignment that stay with the instructor: never released, never copied next to a
# submission while it is graded (nbgrader copies the source folder's other files into autograded/).
INSTRUCTOR_ONLY = ("exam_bank.yaml", "*.key.yaml")
# nbgrader's own files beside a collected submission: its time and the exchange's secret (release_feedback names
# the returned page with it). Kept beside the feedback page, never given to the kernel; the student's
# timestamp.txt is replaced by the exchange's receipt when graded (autograde.stage, receipts.py).
NBGRADER_FILES = ("timestamp.txt", "submission_secret.txt")
# The first cell of every released notebook whose assignment has a due date in course.yaml (release_note).
NOTE_CELL_ID = course_policy.NOTE_CELL_ID


def course_root(course: str | os.PathLike | None = None) -> Path:
    """The nbgrader course folder (the one with nbgrader_config.py); default: grading/ of this repository."""
    course = course or os.environ.get("COURSE_GRADING_DIR")
    root = Path(course) if course else Path(__file__).resolve().parents[2] / "grading"
    if not (root / "nbgrader_config.py").is_file():
        raise SystemExit(f"{root} is not an nbgrader course: nbgrader_config.py is missing. Pass --course DIR or set COURSE_GRADING_DIR.")
    return root.resolve()


def assignments(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "source").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


# A student id nbgrader can take safely: printable ASCII without white space and without the characters that
# change what a page, a URL or a glob means (" ' < > & ` \ / * ? [ ] # %), not starting with a dot, at most 64.
# nbgrader's formgrader prints ids into its pages unescaped (a folder named like an HTML tag ran script, then
# code, as the instructor who opened the page), `--student` reads them as globs (`bob[1]` matched nothing),
# and look-alike letters (U+3164 HANGUL FILLER, Cyrillic letters) spoof a classmate's name in logs and
# spreadsheets: a folder of submitted/ with any other name is refused, not graded. Spreadsheet formulas
# (`=2+5`) are allowed as ids and neutralised where they are written (spreadsheet.py).
STUDENT_ID = re.compile(r"(?!\.)[!$()+,\-.0-9:;=@A-Z^_a-z{|}~]{1,64}")


def is_student_id(name: str) -> bool:
    return STUDENT_ID.fullmatch(name) is not None


def _submitted_folders(root: Path) -> list[str]:
    folder = root / "submitted"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))


def submitted_students(root: Path) -> list[str]:
    """The student ids of submitted/ (folders named by a valid id; ``refused_folders`` names the rest)."""
    return [name for name in _submitted_folders(root) if is_student_id(name)]


def refused_folders(root: Path) -> list[str]:
    """Folders of submitted/ whose name is not a student id nbgrader can take safely (``STUDENT_ID``)."""
    return [name for name in _submitted_folders(root) if not is_student_id(name)]


def refusal(name: str) -> str:
    return (f"submitted/{shown(name)}: not graded: a student id is at most 64 ASCII characters without spaces or "
            "any of \" ' < > & ` \\ / * ? [ ] # % (and no dot first); rename the folder to the student's id")


def nbgrader(root: Path, *args: str, timeout: float | None = None, env: dict | None = None,
             log_path: Path | None = None, runner=None) -> tuple[int, str]:
    """Run one nbgrader command in the course folder; (exit code, the tail of its log).

    ``runner``: a started ``nbgrader_runner.NbgraderRunner`` (a batch's job) forks the command from an
    nbgrader already imported; else a new process starts."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])  # nbgrader calls `alembic`
    full_env = {**os.environ, "PATH": path, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "TQDM_DISABLE": "1",
                **(env or {})}
    if runner is not None:
        with tempfile.NamedTemporaryFile(prefix="nbgrader-", suffix=".log") as out:
            code = runner.run(list(args), root, full_env, timeout, Path(out.name))
            text = Path(out.name).read_text(encoding="utf-8", errors="replace")
        return code, _keep_log(text, log_path)
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen([sys.executable, "-I", "-m", "nbgrader", *args], cwd=root, stdout=out,
                                   stderr=subprocess.STDOUT, env=full_env,
                                   start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)  # the nbgrader process and its kernel: a new session of our own
            process.wait()
            code = -9
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return code, _keep_log(text, log_path)


def _keep_log(text: str, log_path: Path | None) -> str:
    """Write the end of a command's output to log_path (if given); return its tail for messages."""
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(text[-200_000:], encoding="utf-8")
    return text[-4000:]


# ---------------------------------------------------------------- students, release
def add_students(root: Path) -> list[str]:
    """Add every folder name of submitted/ to the gradebook as a student (nbgrader needs them there)."""
    from nbgrader.api import Gradebook

    added = []
    with Gradebook(db_url(root)) as gb:
        known = {s.id for s in gb.students}
        for student in submitted_students(root):
            if student not in known:
                gb.add_student(student)
                added.append(student)
    if added:
        print(f"Added {len(added)} student(s) to the gradebook: {', '.join(shown(a) for a in added)}")
    for name in refused_folders(root):
        print(refusal(name))
    return added


def db_url(root: Path) -> str:
    """The gradebook's URL; nbgrader runs `alembic` when it creates one, so the venv's bin goes on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    return "sqlite:///" + str(root / "gradebook.db")


def release(root: Path) -> None:
    """Student versions of every source assignment in release/ (solutions and hidden tests removed), each notebook
    opening with course.yaml's due date and late policy for its assignment (``add_note``).

    One nbgrader process is imported once and forked per assignment (nbgrader_runner): ~3.5 s of CPU less
    per assignment than a new process each."""
    from course_utils.grading.nbgrader_runner import NbgraderRunner

    policy = course_policy.load_or_exit(root, assignments(root))  # a mistake stops the release before it starts
    runner = NbgraderRunner()
    try:
        for assignment in assignments(root):
            code, tail = nbgrader(root, "generate_assignment", assignment, "--force", runner=runner)
            if code != 0:
                raise SystemExit(f"nbgrader generate_assignment {assignment} failed:\n{tail}")
            note = course_policy.release_note(policy, assignment)
            for path in sorted((root / "release" / assignment).glob("*.ipynb")) if note else []:
                add_note(path, note)
            dated = " (with its due date)" if note else ""
            print(f"released {assignment} -> {root / 'release' / assignment}{dated}")
    finally:
        runner.stop()
    check_release(root)


def add_note(path: Path, note: str) -> None:
    """Put the due-date note first in a released notebook: a markdown cell nbgrader does not grade (at autograde it
    is one more cell of the student's); the source notebook stays the single source of the assignment."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.cells = [cell for cell in nb.cells if cell.get("id") != NOTE_CELL_ID]
    cell = nbformat.v4.new_markdown_cell(note, id=NOTE_CELL_ID)
    cell.metadata.update({"deletable": False, "editable": False})
    nb.cells.insert(0, cell)
    nbformat.write(nb, path)


def ensure_released(root: Path) -> None:
    """Autograde needs each assignment's source cells in the gradebook: generate the ones missing."""
    from nbgrader.api import Gradebook, MissingEntry

    missing = []
    with Gradebook(db_url(root)) as gb:
        for assignment in assignments(root):
            try:
                if not gb.find_assignment(assignment).notebooks:
                    missing.append(assignment)
            except MissingEntry:
                missing.append(assignment)
    policy = course_policy.load_or_exit(root, assignments(root)) if missing else None
    for assignment in missing:
        print(f"{assignment} is not in the gradebook yet: generating it (what `make release` does)")
        code, tail = nbgrader(root, "generate_assignment", assignment, "--force")
        if code != 0:
            raise SystemExit(f"nbgrader generate_assignment {assignment} failed:\n{tail}")
        note = course_policy.release_note(policy, assignment)
        for path in sorted((root / "release" / assignment).glob("*.ipynb")) if note else []:
            add_note(path, note)


def check_release(root: Path) -> None:
    """Refuse a release that contains hidden tests, solutions or saved quiz answers."""
    import fnmatch

    problems = []
    for path in (root / "release").rglob("*"):
        if any(fnmatch.fnmatch(path.name, pattern) for pattern in INSTRUCTOR_ONLY):
            problems.append(f"{path}: an instructor-only file (exam key)")
        elif path.name.startswith("quiz_responses"):
            problems.append(f"{path}: saved quiz answers")
        elif path.suffix == ".ipynb" and any(s in path.read_text(encoding="utf-8") for s in
                                             (HIDDEN_BEGIN, "BEGIN SOLUTION", CHECK_MARKER)):
            problems.append(f"{path}: hidden tests or a solution")
    if problems:
        raise SystemExit("The release leaks answers; fix the source and run `make release` again:\n" + "\n".join(problems))




def instructor_init(dest: str | os.PathLike, example: Path | None = None) -> Path:
    """Copy the example course (config, sources with solutions and hidden tests, exam keys, kernel spec) to a
    private folder outside the repository; every grading command then works on it (COURSE_GRADING_DIR)."""
    import shutil

    example = example or Path(__file__).resolve().parents[2] / "grading"
    target = Path(dest).expanduser().resolve()
    repository = example.parent.resolve()
    if target == repository or repository in target.parents:
        raise SystemExit(f"{target} is inside the public repository: choose a folder outside it "
                         "(students can read the repository)")
    if target.exists() and any(target.iterdir()):
        raise SystemExit(f"{target} exists and is not empty: choose a new folder")
    target.mkdir(parents=True, exist_ok=True)
    for name in ("nbgrader_config.py", "source", "jupyter", course_policy.POLICY_FILE):
        source = example / name
        if not source.exists() and name == course_policy.POLICY_FILE:
            continue  # an example course without a policy: no due dates
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target / name)
    os.chmod(target, 0o700)  # the instructor's alone: hidden tests, exam keys, later the gradebook
    print(f"Private course in {target}. Use it with: export COURSE_GRADING_DIR={target}  (then set the term's dates in "
          f"{target / course_policy.POLICY_FILE}, make release, make collect, make autograde, ...)")
    return target
