"""pytest plugin: keep what nbval executes, so the website needs no second run of the lessons.

`make test` loads it (`-p tools.site.nbval_capture`). nbval runs each code cell of
notebooks/<lang>/NN_slug.ipynb in one kernel and keeps the cell's outputs in
``item.test_outputs``; this plugin puts them into the notebook nbval read and, after
the lesson's last cell, writes it to build/lessons/<lang>/NN_slug.ipynb with
``course_run`` metadata (mode, machine, date, first failing cell), the same place and
format as `make run`. A full-mode copy from `make run` of the same code is kept
(the site prefers full outputs). It also orders tests/test_site.py last, so the site
test builds from this session's executions.

Under pytest-xdist (`make test` runs the lessons on 2 workers, `--dist loadfile`, so a
notebook's cells stay in one kernel on one worker) the worker that ran a lesson's last
cell saves it and tells the controller in the report; the controller writes the ledger
build/lessons/test-session.json (start time, lessons executed, what was saved), which
tests/test_site.py reads when `make test` runs it as a second pytest command.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
import pytest

from . import runinfo

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "notebooks"
BUILD = ROOT / "build" / "lessons"
SITE_TESTS = "test_site.py"
LEDGER = BUILD / "test-session.json"
_REPORT_KEY = "course_lesson_saved"

_last_cell: dict[str, object] = {}  # notebook node id -> its last collected cell item
_failed_cell: dict[str, int] = {}  # notebook node id -> number of the first failing code cell
SAVED: dict[Path, str] = {}  # lesson source -> "written" or "kept full", from the reports (read by tests/test_site.py)
EXECUTED: set[Path] = set()  # lesson sources whose cells ran in this session (this process or its workers)
_started = time.time()


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
            if _lesson_target(Path(str(item.fspath))) is not None:
                EXECUTED.add(Path(str(item.fspath)).resolve())


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
        status = _save(item.parent, _failed_cell.get(notebook_id))
        if status is not None:  # to the xdist controller (report properties travel to it)
            report.user_properties.append((_REPORT_KEY, [str(Path(str(item.fspath)).resolve()), status]))


def pytest_runtest_logreport(report):
    # Under xdist the controller collects nothing itself: a lesson's cells show up here as their reports.
    notebook = ROOT / report.nodeid.split("::", 1)[0]
    if notebook.suffix == ".ipynb" and _lesson_target(notebook) is not None:
        EXECUTED.add(notebook.resolve())
    for key, value in getattr(report, "user_properties", ()):
        if key == _REPORT_KEY:
            SAVED[Path(value[0])] = value[1]


def pytest_sessionfinish(session):
    if os.environ.get("PYTEST_XDIST_WORKER") or not EXECUTED:
        return  # the controller (or a run without xdist) writes the ledger, once, if lessons ran
    BUILD.mkdir(parents=True, exist_ok=True)
    LEDGER.write_text(json.dumps({
        "started": _started,
        "executed": sorted(str(p) for p in EXECUTED),
        "saved": {str(p): status for p, status in sorted(SAVED.items())},
    }, indent=1), encoding="utf-8")


def _save(notebook_item, failed_cell: int | None) -> str | None:
    source = Path(str(notebook_item.fspath))
    target = _lesson_target(source)
    if target is None:
        return None
    nb = notebook_item.nb
    meta = runinfo.metadata(nb, runner="make test (nbval)", ok=failed_cell is None, failed_cell=failed_cell)
    if target.exists() and meta["mode"] == "smoke":
        try:
            kept = nbformat.read(target, as_version=4).metadata.get(runinfo.KEY, {})
        except Exception:
            kept = {}
        if kept.get("mode") == "full" and kept.get("ok") and kept.get("code_sha256") == meta["code_sha256"]:
            return "kept full"  # the maintainer's full run of this very code stays the site's source
    nb.metadata[runinfo.KEY] = meta
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".ipynb.part")
    nbformat.write(nb, partial)
    os.replace(partial, target)
    return "written"
