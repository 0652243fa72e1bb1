"""`make run`: execute every lesson headless; executed copies and HTML go to build/lessons/.

Usage: python tools/run_lessons.py notebooks/en [notebooks/ko/03_evaluation.ipynb ...] (folders or
lessons; COURSE_SMOKE=1 for smoke size).
Prints the time each lesson took and exits non-zero if any lesson failed.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools.site import runinfo  # noqa: E402  (the site shows mode, machine and date of this run)

BUILD = ROOT / "build" / "lessons"


def run(notebook: Path) -> tuple[float, str]:
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, timeout=None, kernel_name="python3", resources={"metadata": {"path": str(notebook.parent)}})
    start = time.perf_counter()
    status, failed_cell = "ok", None
    try:
        client.execute()
    except CellExecutionError as exc:
        status = f"FAILED: {str(exc).strip().splitlines()[-1][:200]}"
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        failed_cell = next((i for i, cell in enumerate(code) if any(o.get("output_type") == "error" for o in cell.outputs)), None)
    seconds = time.perf_counter() - start
    nb.metadata[runinfo.KEY] = runinfo.metadata(nb, runner="make run", ok=status == "ok", failed_cell=failed_cell)
    out = BUILD / notebook.parent.name
    out.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out / notebook.name)
    html, _ = HTMLExporter().from_notebook_node(nb)
    (out / notebook.with_suffix(".html").name).write_text(html, encoding="utf-8")
    return seconds, status


def main(folders: list[str]) -> int:
    failures = 0
    rows = []
    for target in folders or ["notebooks/en"]:
        target = Path(target)
        for notebook in [target] if target.suffix == ".ipynb" else sorted(target.glob("*.ipynb")):
            seconds, status = run(notebook.resolve())
            failures += status != "ok"
            rows.append(f"{notebook}  {seconds:7.1f} s  {status}")
            print(rows[-1], flush=True)
    print(f"Executed copies and HTML: {BUILD.relative_to(ROOT)}/")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
