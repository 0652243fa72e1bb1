"""The Colab snapshot (requirements/colab-runtime/) and the tools of `make test-colab`, in seconds and offline.

`make test-colab` itself resolves against PyPI and runs every lesson in build/colab-venv (minutes);
these tests check its parts on small inputs: the snapshot and its refresh, the rewrite of the first
cell's install line, the break finder, the widget check, and that colab.txt is what `make lock` writes.
"""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import urllib.error
from pathlib import Path

import nbformat
import pytest
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "requirements" / "colab-runtime"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"course_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


snapshot = _load("colab_snapshot")
resolve = _load("colab_resolve")
runtime = _load("colab_runtime")
lock = _load("lock")


# --- the snapshot --------------------------------------------------------------------------------

def test_snapshot_names_its_upstream_commit_and_date():
    source = snapshot.read_source(SNAPSHOT)
    assert source["upstream"] == "https://github.com/googlecolab/backend-info"
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", source["date"])


def test_snapshot_holds_colabs_kernel_stack_and_python():
    pins, off_index = resolve.read_freeze((SNAPSHOT / "pip-freeze.txt").read_text(encoding="utf-8"))
    assert len(pins) > 300, "a whole pip freeze of Colab's runtime"
    for name in runtime.RUNTIME_PACKAGES:  # what build/colab-venv takes from it
        assert name in pins, name
    assert pins["torch"].endswith("+cpu"), "the default runtime's torch is a CPU build (a wheel URL in the freeze)"
    assert "google-colab" in off_index
    assert re.match(r"3\.\d+\.\d+$", resolve.os_python((SNAPSHOT / "os-info.txt").read_text(encoding="utf-8")))


def _upstream_clone(tmp_path: Path, freeze: str) -> Path:
    repo = tmp_path / "backend-info"
    repo.mkdir()
    (repo / "pip-freeze.txt").write_text(freeze)
    (repo / "os-info.txt").write_text("Ubuntu 22.04.5 LTS\nPython 3.13.15\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "snapshot"], check=True)
    return repo / ".git"


def test_refresh_from_a_clone_copies_both_files_and_the_commit(tmp_path):
    git_dir = _upstream_clone(tmp_path, "ipykernel==6.17.1\n")
    dest = tmp_path / "colab-runtime"
    assert snapshot.main(["--git-dir", str(git_dir), "--dest", str(dest)]) == 0
    assert (dest / "pip-freeze.txt").read_text() == "ipykernel==6.17.1\n"
    assert (dest / "os-info.txt").read_text().endswith("Python 3.13.15\n")
    head = subprocess.run(["git", f"--git-dir={git_dir}", "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert snapshot.read_source(dest)["commit"] == head.strip()


def test_refresh_without_github_fails_with_one_line_and_keeps_the_snapshot(tmp_path, monkeypatch, capsys):
    dest = tmp_path / "colab-runtime"
    dest.mkdir()
    (dest / "pip-freeze.txt").write_text("kept==1\n")

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(snapshot.urllib.request, "urlopen", refuse)
    assert snapshot.main(["--dest", str(dest)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot reach GitHub" in err
    assert (dest / "pip-freeze.txt").read_text() == "kept==1\n"


# --- the first cell, pointed at the checkout -----------------------------------------------------

def _colab_cell() -> str:
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "google.colab" in b)
    return "\n".join(line[3:] if line.startswith("   ") else line for line in block.rstrip("\n").split("\n"))


def test_first_cell_install_is_rewritten_to_the_local_checkout_and_nothing_else(tmp_path):
    cell = _colab_cell()
    rewritten = runtime.rewrite_first_cell(cell, tmp_path)
    assert "github" not in rewritten.lower()
    assert f'    versions = "{tmp_path / "requirements" / "colab.txt"}"' in rewritten
    assert f'    package = "course-utils[offline] @ {tmp_path.as_uri()}"' in rewritten
    changed = [(a, b) for a, b in zip(cell.splitlines(), rewritten.splitlines()) if a != b]
    assert [a.split()[0] for a, _ in changed] == ["versions", "package"]  # the %pip line itself stays


def test_a_first_cell_of_another_shape_is_refused():
    cell = _colab_cell().replace("-q -c", "-c")
    with pytest.raises(ValueError):
        runtime.rewrite_first_cell(cell)


# --- the break finder ----------------------------------------------------------------------------

META = """Metadata-Version: 2.1
Name: diffusers
Version: 0.39.0
Requires-Dist: huggingface-hub<2.0,>=0.34.0
Requires-Dist: numpy
Requires-Dist: old-thing<1 ; python_version < "3.12"
Requires-Dist: pytest ; extra == "test"

Long description with Requires-Dist: transformers<1 in it.
"""


def test_a_requirement_the_install_no_longer_meets_is_a_break():
    post = {"huggingface-hub": "2.4.0", "numpy": "9.0", "old-thing": "5", "pytest": "9", "transformers": "5.24.0"}
    changed = {"huggingface-hub", "numpy", "old-thing", "pytest", "transformers"}
    found = resolve.breaks_of("diffusers", "0.39.0", META, post, changed)
    assert found == ["huggingface-hub<2.0,>=0.34.0 (install gives 2.4.0)"]
    assert resolve.breaks_of("diffusers", "0.39.0", META, {**post, "huggingface-hub": "1.33.0"}, changed) == []
    assert resolve.breaks_of("diffusers", "0.39.0", META, post, changed - {"huggingface-hub"}) == []


def test_changes_and_torchs_cuda_runtime():
    compiled = """torch==2.11.0
    # via course-utils
nvidia-cublas==13.1.0.3
    # via torch
triton==3.6.0
    # via torch
transformers==5.24.0
    # via course-utils
jedi==0.20.1
    # via ipython
"""
    entries = lock.parse(compiled)
    assert resolve.cuda_runtime_only(entries) == {"nvidia-cublas", "triton"}
    changes = resolve.compare({"torch": "2.11.0+cpu", "transformers": "5.15.0"},
                              {"torch": "2.11.0", "transformers": "5.24.0", "jedi": "0.20.1"})
    assert changes == {"upgraded": [("transformers", "5.15.0", "5.24.0")], "downgraded": [],
                       "new": [("jedi", None, "0.20.1")]}


# --- the widget check ----------------------------------------------------------------------------

def _widget_notebook(version: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("quiz.show('01')")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "m1", "version_major": 2, "version_minor": 0}})]
    nb.cells = [cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {
        "m1": {"model_module": "@jupyter-widgets/controls", "model_module_version": version, "model_name": "VBoxModel"},
        "m2": {"model_module": "@jupyter-widgets/base", "model_module_version": version, "model_name": "LayoutModel"}}}}
    return nb


def test_widget_check_tells_ipywidgets_8_from_7():
    assert runtime.widget_check(_widget_notebook("2.0.0")) == (1, [])
    views, problems = runtime.widget_check(_widget_notebook("1.5.0"))
    assert views == 1 and problems and "1.5.0" in problems[0]


# --- colab.txt is what `make lock` writes ---------------------------------------------------------

def test_colab_txt_is_what_make_lock_writes_from_the_learners_set():
    lab = (ROOT / "requirements" / "lab.txt").read_text(encoding="utf-8")
    assert (ROOT / "requirements" / "colab.txt").read_text(encoding="utf-8") == lock.colab_constraints(lab)


def test_every_colab_override_is_in_colab_txt_with_its_reason():
    text = (ROOT / "requirements" / "colab.txt").read_text(encoding="utf-8")
    for name, (version, why) in lock.COLAB_OVERRIDES.items():
        assert re.search(rf"^{re.escape(name)}=={re.escape(version)}$", text, re.M), name
        assert why in text
        assert canonicalize_name(name) in {canonicalize_name(p) for p in lock.COLAB_PACKAGES}


def test_make_test_does_not_run_test_colab():
    done = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "colab_resolve" not in done.stdout and "colab_runtime" not in done.stdout
    done = subprocess.run(["make", "-n", "test-colab"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "tools/colab_resolve.py" in done.stdout and "tools/colab_runtime.py run" in done.stdout


def test_ci_runs_test_colab_as_its_own_job_and_refreshes_the_snapshot_weekly():
    """Issue 24: `make test-colab` is a CI job beside `make test`; the weekly drift check refreshes the snapshot
    (make colab-snapshot) and tests against it."""
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "test.yml").read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as True
    assert "schedule" in triggers and "push" in triggers
    jobs = workflow["jobs"]

    def commands(job):
        return " ".join(step.get("run", "") for step in job["steps"])

    on_push = [j for j in jobs.values() if "push" in j.get("if", "") and "make test-colab" in commands(j)]
    assert on_push, "no CI job runs make test-colab on push"
    assert all("make test " not in commands(j) + " " and ".ci/run" not in commands(j) for j in on_push)
    weekly = [j for j in jobs.values() if "schedule" in j.get("if", "")
              and "make colab-snapshot" in commands(j) and "make test-colab" in commands(j)]
    assert weekly, "no weekly job refreshes the Colab snapshot and tests against it"
    assert weekly[0]["steps"].index(next(s for s in weekly[0]["steps"] if "make colab-snapshot" in s.get("run", ""))) < \
        weekly[0]["steps"].index(next(s for s in weekly[0]["steps"] if "make test-colab" in s.get("run", "")))
