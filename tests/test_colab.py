"""Colab readiness of every lesson (en and ko), read as a new user opening it from its badge.

The one place naming the public repository is ``[project.urls] Repository`` in
pyproject.toml. From it follow the badge of each lesson (its own path on the
``main`` branch) and the install line of the Colab cell
(``course-utils[offline] @ git+<URL>``, under the constraint file
requirements/colab.txt of the lock, read from the ``main`` branch; `make sync` writes both from the URL,
tests/test_repository_url.py checks that). The Colab cell is the one of
CONTRIBUTING.md, byte for byte; run in a normal kernel it does nothing (no pip,
no google.colab). On Colab that one cell must be enough: what it installs (a
wheel built from the files git would ship) carries the quiz bank, the local
GLUE metric and the paraphrase set, and every import of every lesson comes
from a declared dependency.
"""
from __future__ import annotations

import ast
import importlib.metadata as md
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from colab_cell import run_colab_cell
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
REPOSITORY = PYPROJECT["project"]["urls"]["Repository"]
LESSONS = sorted((ROOT / "notebooks" / "en").glob("*.ipynb")) + sorted((ROOT / "notebooks" / "ko").glob("*.ipynb"))
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
COLAB_PYTHON = "3.12"  # Colab's Python today
COLAB_PREINSTALLED = {"transformers": "4.57.1", "ipywidgets": "7.7.1"}  # what the Colab image brings, to be upgraded
GUARD = 'if "google.colab" in sys.modules:'

pytestmark = pytest.mark.timeout(300)


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _owner_repo() -> tuple[str, str]:
    m = re.fullmatch(r"https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)", REPOSITORY)
    assert m and not m.group(2).endswith(".git"), (
        f"[project.urls] Repository = {REPOSITORY!r}: write it as https://github.com/<owner>/<repo>")
    return m.group(1), m.group(2)


def colab_url(rel_path: str) -> str:
    owner, repo = _owner_repo()
    return f"https://colab.research.google.com/github/{owner}/{repo}/blob/main/{rel_path}"


def contributing_colab_cell() -> str:
    """The ```python block of CONTRIBUTING.md that holds the Colab guard."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"^([ \t]*)```python\n(.*?)^\1```", text, re.M | re.S) if GUARD in b[1]]
    assert len(blocks) == 1, "CONTRIBUTING.md should show the Colab cell exactly once"
    indent, body = blocks[0]
    return "\n".join(line[len(indent):] for line in body.rstrip("\n").split("\n"))


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _first(path: Path, kind: str) -> str:
    return next(_source(c) for c in _cells(path) if c["cell_type"] == kind)


def _pip_install(cell: str) -> tuple[str, Requirement]:
    """(constraint file URL, requirement) of the cell's one install, as IPython expands it on Colab."""
    ran = run_colab_cell(cell)
    assert ran["ok"] and len(ran["pip"]) == 1, f"the Colab cell should run one %pip install: {ran}"
    assert len(ran["pip"][0]) == 5 and ran["pip"][0][:3] == ["install", "-q", "-c"], f"unexpected install: {ran}"
    return ran["pip"][0][3], Requirement(ran["pip"][0][4])


def colab_constraints_url() -> str:
    """The lock's Colab pins (requirements/colab.txt) as Colab reads them, from the main branch."""
    owner, repo = _owner_repo()
    return f"https://raw.githubusercontent.com/{owner}/{repo}/main/requirements/colab.txt"


# --- the repository URL, the badge, the Colab cell ----------------------------------------------

def test_there_are_lessons_to_check():
    assert len([p for p in LESSONS if p.parent.name == "en"]) >= 6


def test_repository_url_names_a_github_repository():
    _owner_repo()


@pytest.mark.parametrize("path", LESSONS, ids=_rel)
def test_first_cell_is_the_badge_to_this_very_lesson(path):
    cells = _cells(path)
    assert cells and cells[0]["cell_type"] == "markdown", "a lesson starts with its markdown cell (badge, title)"
    markdown = _source(cells[0])
    badge = f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(_rel(path))})"
    assert markdown.splitlines()[0] == badge, f"first line of {_rel(path)} should be exactly:\n{badge}"
    links = re.findall(r"https://colab\.research\.google\.com/github/\S+?(?=\))", markdown)
    assert links == [colab_url(_rel(path))], f"one Colab link, to this lesson; found {links}"


def test_contributing_colab_cell_installs_this_repository_at_the_tested_versions():
    cell = contributing_colab_cell()
    constraints, requirement = _pip_install(cell)
    # The tested versions of everything but Colab's own torch, numpy, pandas (tools/lock.py).
    assert constraints == colab_constraints_url(), f"the constraint file must be {colab_constraints_url()}"
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", "requirements/colab.txt"], cwd=ROOT,
                             capture_output=True, text=True)
    assert tracked.returncode in (0, 128), "requirements/colab.txt is not committed: Colab would not find it"
    assert (ROOT / "requirements" / "colab.txt").is_file()
    assert canonicalize_name(requirement.name) == canonicalize_name(PYPROJECT["project"]["name"])
    assert requirement.url == f"git+{REPOSITORY}", "the install URL must be git+<[project.urls] Repository>"
    assert requirement.extras == {"offline"} and "offline" in PYPROJECT["project"]["optional-dependencies"]
    # Everything but `import sys` sits under the guard; the widget manager is switched on there.
    lines = [line for line in cell.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert lines[:2] == ["import sys", GUARD]
    assert all(line.startswith("    ") for line in lines[2:])
    assert "    output.enable_custom_widget_manager()" in lines and "    from google.colab import output" in lines


def contributing_korean_comment() -> str:
    """The Korean first line of the Colab cell, as CONTRIBUTING.md gives it for the Korean lessons."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    found = re.findall(r"^[ \t]*`(# Colab에서만:[^`]*)`$", text, re.M)
    assert len(found) == 1, "CONTRIBUTING.md should give the Korean comment of the Colab cell exactly once"
    return found[0]


@pytest.mark.parametrize("path", LESSONS, ids=_rel)
def test_first_code_cell_is_exactly_the_colab_cell(path):
    expected = contributing_colab_cell()
    if "/ko/" in path.as_posix():  # the same code; its comment in Korean
        expected = "\n".join([contributing_korean_comment(), *expected.split("\n")[1:]])
    assert _first(path, "code") == expected, (
        f"the first code cell of {_rel(path)} differs from the Colab cell of CONTRIBUTING.md: copy it exactly")


def test_readme_badges_point_at_existing_lessons_of_this_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"https://colab\.research\.google\.com/github/[^)\s]+", readme)
    assert links, "README.md should offer Colab badges"
    prefix = colab_url("")
    for link in links:
        assert link.startswith(prefix), f"{link} does not start with {prefix}"
        assert (ROOT / link[len(prefix):]).is_file(), f"{link} points at a missing notebook"


# --- the guard: in a normal kernel the cell does nothing --------------------------------------

_WATCH = '''import json, sys
_spawned = []
_SPAWN = ("subprocess.", "os.system", "os.fork", "os.exec", "os.posix_spawn", "os.spawn", "pty.")
# Defaults bind the names: the hook outlives the user namespace (IPython clears it at kernel shutdown).
sys.addaudithook(lambda event, args, seen=_spawned, spawn=_SPAWN: seen.append(event) if event.startswith(spawn) else None)
_before = set(sys.modules)'''
# Modules %pip or a Colab-only import would load; other new modules may come from the kernel's own threads.
_REPORT = '''_new = set(sys.modules) - _before
print(json.dumps({"spawned": sorted(set(_spawned)), "colab": "google.colab" in sys.modules,
                  "telltale_modules": sorted(m for m in _new if m.startswith(("google", "pip", "pexpect", "ptyprocess",
                                                                               "IPython.core.magics.packaging"))),
                  "output": "output" in globals()}))'''


def _last_json_line(cell) -> dict:
    """The report a cell printed: its stdout may come in several stream messages (late pip output too)."""
    stdout = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
    return json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])


def test_colab_cell_does_nothing_in_a_normal_kernel(tmp_path):
    """nbclient runs the cell in a python3 kernel; Python audit hooks see any process it would start."""
    import nbformat
    from nbclient import NotebookClient

    cell = contributing_colab_cell()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    # Control: the same watch sees %pip when it does run, so "nothing seen" means nothing ran.
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (_WATCH, cell, _REPORT, "%pip --version", _REPORT)]
    assert "COLAB_RELEASE_TAG" not in os.environ, "this test checks a normal kernel, not Colab"
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    assert nb.cells[1].outputs == [], f"the Colab cell printed something outside Colab: {nb.cells[1].outputs}"
    after_cell = _last_json_line(nb.cells[2])
    assert after_cell == {"spawned": [], "colab": False, "telltale_modules": [], "output": False}
    after_control = _last_json_line(nb.cells[4])
    assert after_control["spawned"] and after_control["telltale_modules"], (
        f"the control %pip --version went unseen: the watch is blind ({after_control})")


# --- on Colab the one cell is enough ----------------------------------------------------------

def _requirements(extras=("offline",)) -> list[Requirement]:
    project = PYPROJECT["project"]
    found = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        found += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return found


def test_colab_can_satisfy_every_dependency():
    """From an index, no pins or upper bounds (Colab keeps its CUDA torch), Colab's Python admitted."""
    from packaging.specifiers import SpecifierSet

    assert SpecifierSet(PYPROJECT["project"]["requires-python"]).contains(COLAB_PYTHON)
    problems = []
    for req in _requirements():
        if req.url:
            problems.append(f"{req}: a direct URL (Colab installs from PyPI)")
        for spec in req.specifier:
            if spec.operator not in (">=", ">"):
                problems.append(f"{req}: {spec} pins or caps a version the Colab image may not have")
        try:
            dist = md.distribution(req.name)
        except md.PackageNotFoundError:
            problems.append(f"{req}: not installed in this environment, so never tested")
            continue
        if not req.specifier.contains(dist.version, prereleases=True):
            problems.append(f"{req}: the tested version {dist.version} is outside the range")
        if dist.read_text("direct_url.json"):
            problems.append(f"{req}: installed here from a local path or VCS, not from an index")
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize("name, colab_version", COLAB_PREINSTALLED.items())
def test_install_upgrades_what_colab_preinstalls_too_old(name, colab_version):
    """transformers 5 (processing_class, eval_strategy) and ipywidgets 8 (hence the custom widget manager)."""
    req = next(r for r in _requirements() if canonicalize_name(r.name) == name)
    assert not req.specifier.contains(colab_version), f"{req} accepts Colab's {name} {colab_version}"


def _dependency_closure() -> set[str]:
    """Distributions that installing the course package brings (from the metadata installed here)."""
    seen, stack = set(), list(_requirements())
    while stack:
        req = stack.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = md.distribution(name).requires or []
        except md.PackageNotFoundError:
            continue
        for sub in map(Requirement, requires):
            if sub.marker is None or sub.marker.evaluate({"extra": ""}):
                stack.append(sub)
    return seen


def _top_level_imports(source: str) -> set[str]:
    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(source))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _lesson_sources() -> list[tuple[str, str]]:
    sources = [(_rel(p), _source(c)) for p in LESSONS for c in _cells(p) if c["cell_type"] == "code"]
    glue = ROOT / "course_utils" / "evaluate_metrics" / "glue" / "glue.py"  # evaluate.load(cu.LOCAL_GLUE_METRIC)
    return sources + [(_rel(glue), glue.read_text(encoding="utf-8"))]


def test_every_lesson_import_comes_with_the_install():
    closure = _dependency_closure()
    providers = md.packages_distributions()
    written = set()  # modules a lesson writes itself with %%writefile
    missing = []
    for where, source in _lesson_sources():
        magic = re.match(r"%%(\w+)([^\n]*)\n", source)
        if magic:  # a cell magic turns its body into a string: read the body itself when it is Python
            if magic.group(1) == "writefile" and magic.group(2).strip().endswith(".py"):
                written.add(Path(magic.group(2).split()[-1]).stem)  # a module the lesson writes itself
            elif magic.group(1) not in ("capture", "time", "timeit"):
                continue
            source = source[magic.end():]
        for name in sorted(_top_level_imports(source)):
            if name in sys.stdlib_module_names or name in ("course_utils", "google") or name in written:
                continue
            dists = {canonicalize_name(d) for d in providers.get(name, [])}
            if not dists & closure:
                missing.append(f"{where}: import {name} (from {sorted(dists) or 'nothing installed'})")
    assert not missing, "not brought by the course package's dependencies: " + "; ".join(missing)


# --- what the Colab cell installs: a wheel of the files git ships -------------------------------

@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """``pip wheel --no-deps`` of the tracked and new (not ignored) files, as a clone would have them."""
    tmp = tmp_path_factory.mktemp("colab-wheel")
    src = tmp / "src"
    git = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                         capture_output=True, text=True)
    if git.returncode == 0:
        listed = git.stdout.split("\0")
    else:  # not a git checkout (an unpacked archive): every file of the package folders
        listed = [p.relative_to(ROOT).as_posix() for d in ("course_utils", "quizzes") for p in (ROOT / d).rglob("*")
                  if "__pycache__" not in p.parts] + ["pyproject.toml", "README.md"]
    for rel in listed:
        if rel and rel.split("/")[0] in ("pyproject.toml", "README.md", "course_utils", "quizzes") and (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    # --no-build-isolation: setuptools from this environment, no index needed.
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp / "dist"), str(src)], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    return next((tmp / "dist").glob("course_utils-*.whl"))


def test_wheel_carries_bank_metric_and_paraphrase_set(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    banks = sorted(p.name for p in (ROOT / "quizzes").glob("*.yaml"))
    assert banks, "quizzes/ has no YAML files"
    missing = [f"course_utils/quizzes/{b}" for b in banks if f"course_utils/quizzes/{b}" not in names]
    missing += [n for n in ("course_utils/evaluate_metrics/glue/glue.py", "course_utils/paraphrase.py",
                            "course_utils/quiz/widgets.py") if n not in names]
    assert not missing, f"the wheel lacks {missing} (tracked by git? listed as package data?)"
    modules = {_rel(p) for p in (ROOT / "course_utils").rglob("*.py") if "__pycache__" not in p.parts}
    assert not modules - names, f"modules left out of the wheel (not committed, or not packaged): {sorted(modules - names)}"
    assert "Provides-Extra: offline" in metadata
    requires = {canonicalize_name(Requirement(line.split(":", 1)[1]).name)
                for line in metadata.splitlines() if line.startswith("Requires-Dist:")}
    assert {canonicalize_name(r.name) for r in _requirements()} <= requires


def test_installed_wheel_works_offline_on_its_own(wheel, tmp_path):
    """Installed like on Colab (not editable): bank, local GLUE metric and paraphrase set load from the package."""
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--ignore-installed", "-q",
                           "--target", str(target), str(wheel)], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    probe = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
import evaluate
import course_utils as cu
from course_utils import quiz
metric = evaluate.load(cu.LOCAL_GLUE_METRIC, "mrpc")
data = cu.load_mrpc()
print(json.dumps({"package": cu.__file__, "metric": str(cu.LOCAL_GLUE_METRIC),
                  "scores": metric.compute(predictions=[0, 1, 1], references=[0, 1, 0]),
                  "sizes": {k: len(v) for k, v in data.items()}, "questions": len(quiz.load_bank().questions),
                  "bank": str(quiz.load_bank().source)}))
'''
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_DATA_DIR", "PYTHONPATH")}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_EVALUATE_OFFLINE="1", TQDM_DISABLE="1",
               HF_HOME=str(tmp_path / "hf"))
    out = subprocess.run([sys.executable, "-c", probe, str(target)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    for key in ("package", "metric", "bank"):
        assert found[key].startswith(str(target)), f"{key} came from {found[key]}, not from the installed wheel"
    assert found["scores"] == pytest.approx({"accuracy": 2 / 3, "f1": 2 / 3})
    assert found["sizes"] == {"train": 480, "validation": 120, "test": 120}
    assert found["questions"] == sum(1 for _ in _bank_ids())


def _bank_ids():
    import yaml

    for path in sorted((ROOT / "quizzes").glob("*.yaml")):
        yield from (q["id"] for q in yaml.safe_load(path.read_text(encoding="utf-8"))["questions"])
