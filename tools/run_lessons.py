"""`make run` and `make site-full`: execute lessons headless into a folder of executed copies (and HTML).

Usage: python tools/run_lessons.py [--out DIR] [--runner NAME] [--require-mrpc] TARGET...
TARGET: a lesson folder (notebooks/en) or lesson (notebooks/ko/03_evaluation.ipynb). The mode is the
lessons' own switch: COURSE_SMOKE=1 runs them at smoke size.

Executed copies go to DIR/<lang>/NN_slug.ipynb: by default build/lessons-full/ in full mode (the copies the
site prefers; `make site-full`, the publish workflow's weekly run) and build/lessons/ in smoke mode (where
`make test` leaves its copies too). Each copy's metadata (``course_run``, tools/site/runinfo.py) says the mode,
machine, date, versions of Python and the libraries, the lesson's wall time, the data it read, and the first
failing cell. --require-mrpc (`make site-full`) refuses to run without real GLUE MRPC: COURSE_DATA_DIR or the
Hub, not the built-in paraphrase set a full-mode page would pass off as MRPC.
Prints the time each lesson took and exits non-zero if any lesson failed.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools.site import runinfo  # noqa: E402  (the site shows mode, machine, date and versions of this run)

SMOKE_OUT = ROOT / "build" / "lessons"
FULL_OUT = ROOT / "build" / "lessons-full"
PARAPHRASE = "the course's built-in paraphrase set (not MRPC)"


class RunError(Exception):
    """Something the person running the lessons can fix in one step (the message says how)."""


def default_out() -> Path:
    return SMOKE_OUT if runinfo.is_smoke() else FULL_OUT


def data_source() -> str:
    """Which data the lessons will read here, as course_utils.data.load_mrpc chooses it (no machine path)."""
    folder = os.environ.get("COURSE_DATA_DIR", "").strip()
    if folder:
        if not (Path(folder).expanduser() / "train.tsv").is_file():
            raise RunError(f"COURSE_DATA_DIR={folder} has no train.tsv: point it at a GLUE MRPC folder "
                           "(train.tsv, dev.tsv, test.tsv) or unset it.")
        return f"GLUE MRPC, local TSV files ({Path(folder).expanduser().name}/)"
    from course_utils.environment import hub_reachable  # probes once (≤ 3 s); offline, the kernels stay offline

    return "GLUE MRPC from the Hugging Face Hub (glue/mrpc)" if hub_reachable() else PARAPHRASE


def run(notebook: Path, out: Path, runner: str = "make run", data: str | None = None) -> tuple[float, str]:
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
    nb.metadata[runinfo.KEY] = runinfo.metadata(nb, runner=runner, ok=status == "ok", failed_cell=failed_cell,
                                                seconds=seconds, data=data)
    folder = out / notebook.parent.name
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / notebook.name
    partial = target.with_suffix(".ipynb.part")  # an interrupted run leaves the last complete copy in place
    nbformat.write(nb, partial)
    os.replace(partial, target)
    html, _ = HTMLExporter().from_notebook_node(nb)
    (folder / notebook.with_suffix(".html").name).write_text(html, encoding="utf-8")
    return seconds, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=["notebooks/en"], help="lesson folders or notebooks")
    parser.add_argument("--out", type=Path,
                        help="default: build/lessons-full in full mode, build/lessons in smoke mode")
    parser.add_argument("--runner", default="make run", help="what the pages name as the executor")
    parser.add_argument("--require-mrpc", action="store_true", help="refuse to run without real GLUE MRPC")
    args = parser.parse_args(argv)
    out = (args.out or default_out()).resolve()
    try:
        data = data_source()
        if args.require_mrpc and data == PARAPHRASE:
            raise RunError("no GLUE MRPC here (the lessons would read the built-in paraphrase set): set "
                           "COURSE_DATA_DIR to a folder with train.tsv, dev.tsv and test.tsv, or run where the "
                           "Hugging Face Hub is reachable (HF_HUB_OFFLINE unset).")
    except RunError as exc:
        print(f"{args.runner}: {exc}", file=sys.stderr)
        return 2
    mode = "smoke" if runinfo.is_smoke() else "full"
    print(f"Running {mode} mode on {data}; executed copies go to {out}", flush=True)
    failures = 0
    for target in args.targets:
        target = Path(target)
        for notebook in [target] if target.suffix == ".ipynb" else sorted(target.glob("[0-9][0-9]_*.ipynb")):
            seconds, status = run(notebook.resolve(), out, args.runner, data)
            failures += status != "ok"
            print(f"{notebook}  {seconds:7.1f} s  {status}", flush=True)
    print(f"Executed copies and HTML: {out}/")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
