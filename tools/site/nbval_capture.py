"""pytest plugin: keep what nbval executes, so the website needs no second run of the lessons.

`make test` loads it (`-p tools.site.nbval_capture`). nbval runs each code cell of
notebooks/<lang>/NN_slug.ipynb in one kernel and keeps the cell's outputs in
``item.test_outputs``; this plugin puts them into the notebook nbval read and, after
the lesson's last cell, writes it to build/lessons/<lang>/NN_slug.ipynb with
``course_run`` metadata (mode, machine, date, first failing cell), the same place and
format as `make run`. A full-mode copy from `make run` of the same code is kept
(the site prefers full outputs). It also orders tests/test_site.py last, so the site
test builds from this session's executions.
"""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from . import runinfo

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "notebooks"
BUILD = ROOT / "build" / "lessons"
SITE_TESTS = "test_site.py"

_last_cell: dict[str, object] = {}  # notebook node id -> its last collected cell item
_failed_cell: dict[str, int] = {}  # notebook node id -> number of the first failing code cell
SAVED: dict[Path, str] = {}  # lesson source -> "written" or "kept full" (read by tests/test_site.py)


def _is_nbval_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell" and hasattr(item, "test_outputs")


def _lesson_target(notebook: Path) -> Path | None:
    try:
        rel = notebook.resolve().relative_to(LESSONS)
    except ValueError:
        return None
    return BUILD / rel if len(rel.parts) == 2 else None


def pytest_collection_modifyitems(session, config, items):
    site = [item for item in items if Path(str(item.fspath)).name == SITE_TESTS]
    if site:
        ids = {id(item) for item in site}
        items[:] = [item for item in items if id(item) not in ids] + site
    for item in items:
        if _is_nbval_cell(item):
            _last_cell[item.parent.nodeid] = item


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not _is_nbval_cell(item):
        return
    report = outcome.get_result()
    notebook_id = item.parent.nodeid
    if call.when == "call":
        if item.test_outputs is not None:
            item.cell.outputs = [nbformat.from_dict(dict(out)) for out in item.test_outputs]
            item.cell.execution_count = item.cell_num + 1
            for out in item.cell.outputs:
                if out.get("output_type") == "execute_result":
                    out["execution_count"] = item.cell.execution_count
        if report.failed:
            _failed_cell.setdefault(notebook_id, item.cell_num)
    if call.when == "teardown" and _last_cell.get(notebook_id) is item:
        _save(item.parent, _failed_cell.get(notebook_id))


def _save(notebook_item, failed_cell: int | None) -> None:
    source = Path(str(notebook_item.fspath))
    target = _lesson_target(source)
    if target is None:
        return
    nb = notebook_item.nb
    meta = runinfo.metadata(nb, runner="make test (nbval)", ok=failed_cell is None, failed_cell=failed_cell)
    if target.exists() and meta["mode"] == "smoke":
        try:
            kept = nbformat.read(target, as_version=4).metadata.get(runinfo.KEY, {})
        except Exception:
            kept = {}
        if kept.get("mode") == "full" and kept.get("ok") and kept.get("code_sha256") == meta["code_sha256"]:
            SAVED[source.resolve()] = "kept full"
            return  # the maintainer's full run of this very code stays the site's source
    nb.metadata[runinfo.KEY] = meta
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".ipynb.part")
    nbformat.write(nb, partial)
    os.replace(partial, target)
    SAVED[source.resolve()] = "written"
