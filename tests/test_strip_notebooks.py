"""tools/strip_notebooks.py on a notebook really executed by nbclient (outputs, counts, widget state, timings)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "strip_notebooks.py"

pytestmark = pytest.mark.timeout(180)


def _run(*args):
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True, timeout=60)


@pytest.fixture
def executed(tmp_path):
    """(clean source, the same notebook after a run) in tmp_path/lesson.ipynb."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["course"] = {"language": "en"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A lesson"),
        nbformat.v4.new_code_cell("print('hello')"),
        nbformat.v4.new_code_cell("import ipywidgets as w\nfrom IPython.display import display\ndisplay(w.IntSlider(3))"),
    ]
    nb.cells[1].metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False, "grade_id": "c1",
                                        "schema_version": 3}
    clean = nbformat.writes(nb) + "\n"
    NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True, record_timing=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    path = tmp_path / "lesson.ipynb"
    nbformat.write(nb, path)
    return clean, path


def test_check_lists_the_notebook_and_changes_nothing(executed):
    _, path = executed
    before = path.read_text(encoding="utf-8")
    done = _run("--check", path.parent)
    assert done.returncode == 1
    assert "lesson.ipynb: 2 cell(s) with outputs, 2 execution count(s), widget state, 2 run timing(s)" in done.stdout
    assert path.read_text(encoding="utf-8") == before


def test_strip_gives_back_the_clean_source_and_keeps_metadata(executed):
    clean, path = executed
    assert _run(path).returncode == 0
    text = path.read_text(encoding="utf-8")
    assert text == nbformat.writes(nbformat.reads(text, as_version=4)) + "\n"  # the layout Jupyter saves
    stripped = json.loads(text)
    assert stripped["metadata"].pop("language_info")["name"] == "python"  # the kernel's, as Jupyter saves it: kept
    assert nbformat.writes(nbformat.from_dict(stripped)) + "\n" == clean  # nbgrader and course metadata kept
    assert json.loads(path.read_text(encoding="utf-8"))["cells"][1]["metadata"]["nbgrader"]["grade_id"] == "c1"
    again = _run("--check", path)
    assert (again.returncode, again.stdout) == (0, "")
    mtime = path.stat().st_mtime_ns
    assert _run(path).returncode == 0 and path.stat().st_mtime_ns == mtime  # a clean notebook is not rewritten


def test_unreadable_notebook_is_one_clear_line(tmp_path):
    (tmp_path / "broken.ipynb").write_text("{not json", encoding="utf-8")
    done = _run("--check", tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "cannot read" in done.stderr and "broken.ipynb" in done.stderr


def test_lessons_are_stripped():
    done = _run("--check", ROOT / "notebooks")
    assert done.returncode == 0, done.stdout
