"""How long a learner waits: every lesson run headless in full mode, wall seconds per lesson and per training cell.

    python benchmarks/lesson_times.py [--data-dir DIR] [--lesson notebooks/en/03_evaluation.ipynb ...]
    python benchmarks/lesson_times.py --quick            # smoke mode (COURSE_SMOKE=1), one lesson

Each lesson (default: every notebooks/en/*.ipynb) runs top to bottom in a
fresh kernel in its own folder, as `make run` does, with the GLUE MRPC files
in ``COURSE_DATA_DIR`` (``--data-dir``, else ``COURSE_DATA_DIR``, else
../shared/data/mrpc) and ``HF_HUB_OFFLINE=1``. Full mode unsets
``COURSE_SMOKE``; ``--quick`` sets it and runs one lesson (02_trainer_api,
which trains once), a sanity run of this script, not a lesson time.

A training cell is a code cell that calls ``.train(`` (a Trainer; not the
``model.train()`` mode switch alone), runs a backward pass (a hand-written
loop) or a launcher (``notebook_launcher``, ``torchrun`` /
``torch.distributed.run``, ``accelerate launch``), or calls a function an
earlier cell defined that does (lesson 6's ``fine_tune``); ``%%writefile``
cells, comments and a cell that only defines such a function do not count.

Output: notes (the machine: CPU, cores this process may use, torch threads,
native bf16 via course_utils.precision, the load average), a Markdown table of
lessons and one of training cells (benchmarks/report.py copies both into
build/benchmarks.md), and a last JSON line with everything. Wall times on a
shared machine grow with other people's load: the table gives the load
average at the start and end of each lesson.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import sys
import time
from pathlib import Path

from course_utils.device import usable_cores

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MRPC_DIR = REPO_ROOT.parent / "shared" / "data" / "mrpc"
QUICK_LESSON = REPO_ROOT / "notebooks" / "en" / "02_trainer_api.ipynb"
TRAINING = re.compile(r"(?<!model)\.train\(|\.backward\(|notebook_launcher\(|torch\.distributed\.run|\btorchrun\b"
                      r"|accelerate launch")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke mode (COURSE_SMOKE=1), one lesson; also COURSE_SMOKE=1")
    parser.add_argument("--lesson", action="append", type=Path,
                        help="a lesson to run (repeatable); default: every notebooks/en/*.ipynb (quick: 02_trainer_api)")
    parser.add_argument("--data-dir", default=None,
                        help="GLUE MRPC folder for COURSE_DATA_DIR (default: COURSE_DATA_DIR, else ../shared/data/mrpc)")
    parser.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell (default: none; quick: 900)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="write each executed lesson (outputs included) into this folder, to read what it printed")
    args = parser.parse_args()
    args.quick = args.quick or os.environ.get("COURSE_SMOKE", "").lower() in {"1", "true", "yes"}
    if not args.lesson:
        args.lesson = [QUICK_LESSON] if args.quick else sorted((REPO_ROOT / "notebooks" / "en").glob("*.ipynb"))
    if args.cell_timeout is None and args.quick:
        args.cell_timeout = 900
    return args


def note(text: str) -> None:
    print(f"note {text}", flush=True)


def load() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flag(fragment: str) -> bool:
    try:
        return any(line.startswith("flags") and fragment in line for line in open("/proc/cpuinfo", encoding="utf-8"))
    except OSError:
        return False


def machine() -> dict:
    """Device, CPU, cores, torch threads and native bf16 (course_utils.precision decides, as the lessons do)."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        from course_utils.precision import precision_support

        bf16 = bool(precision_support(device)["bf16"])
    except (ImportError, KeyError, AttributeError):  # a course_utils without it: ask the hardware directly
        bf16 = torch.cuda.is_bf16_supported() if device == "cuda" else cpu_flag("bf16")
    return {"device": device, "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None, "cpu": cpu_name(),
            "cores": usable_cores(), "torch_threads": torch.get_num_threads(), "bf16_native": bf16,
            "torch": torch.__version__}


def children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's finished children (the lesson's kernel and what it ran)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _without_comments(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))


def _split_definitions(source: str) -> tuple[str, dict[str, str]]:
    """The cell's code outside function definitions, and each top-level function's source."""
    import ast

    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))  # magics
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return source, {}
    lines, functions = code.splitlines(), {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            functions[node.name] = "\n".join(lines[first:node.end_lineno])
            lines[first:node.end_lineno] = [""] * (node.end_lineno - first)
    outside = "\n".join(lines) + "\n" + "\n".join(l for l in source.splitlines() if l.lstrip().startswith("!"))
    return outside, functions


def is_training_cell(source: str, trainers: set[str] | None = None) -> bool:
    """A cell that trains when it runs. ``trainers``: names of functions that train (found by this function in
    earlier cells, e.g. lesson 6's ``fine_tune``), so a cell that calls one counts and the cell that only defines
    it does not; pass the same set for every cell of a lesson, in order."""
    if source.lstrip().startswith("%%writefile"):
        return False
    trainers = set() if trainers is None else trainers
    outside, functions = _split_definitions(_without_comments(source))
    for name, body in functions.items():
        if TRAINING.search(body) or any(re.search(rf"\b{re.escape(t)}\(", body) for t in trainers):
            trainers.add(name)
    return bool(TRAINING.search(outside) or any(re.search(rf"\b{re.escape(t)}\(", outside) for t in trainers))


def first_line(source: str) -> str:
    lines = [line.strip() for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]
    return (lines[0] if lines else "")[:60]


def run_lesson(path: Path, cell_timeout: int | None, keep: Path | None = None) -> dict:
    """Execute one lesson in a fresh kernel in its folder; times of the lesson and of each training cell."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    result = {"lesson": path.stem, "status": "ok", "load_start": load(), "training_cells": []}
    trainers: set[str] = set()  # functions defined by the lesson that train (is_training_cell)
    cpu_before = children_cpu_seconds()
    start = time.perf_counter()
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                cell_start = time.perf_counter()
                try:
                    client.execute_cell(cell, index)
                finally:
                    if is_training_cell(cell.source, trainers):
                        result["training_cells"].append({"cell": index, "code": first_line(cell.source),
                                                         "seconds": round(time.perf_counter() - cell_start, 1)})
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        lines = str(exc).strip().splitlines()
        result["status"] = f"failed: {(lines[-1] if lines else type(exc).__name__)[:160]}"
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["cpu_seconds"] = round(children_cpu_seconds() - cpu_before, 1)  # the kernel is reaped by now
    result["training_seconds"] = round(sum(c["seconds"] for c in result["training_cells"]), 1)
    result["load_end"] = load()
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, keep / path.name)
    return result


def markdown_tables(results: list[dict], mode: str) -> list[str]:
    rows = ["| lesson | mode | status | wall s | kernel CPU s | training cells | training s | load (1 min) start → end |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        rows.append(f"| {r['lesson']} | {mode} | {r['status'].replace('|', '/')} | {r['seconds']:.0f} | {r['cpu_seconds']:.0f} | "
                    f"{len(r['training_cells'])} | {r['training_seconds']:.0f} | {r['load_start']} → {r['load_end']} |")
    cells = ["| lesson | cell | training code | wall s |", "| --- | --- | --- | --- |"]
    for r in results:
        for c in r["training_cells"]:
            code = c["code"].replace("|", "/").replace("`", "'")
            cells.append(f"| {r['lesson']} | {c['cell']} | `{code}` | {c['seconds']:.0f} |")
    return rows + ["training cells:"] + cells  # any other line ends a table for report.py


def main() -> int:
    args = parse_args()
    folder = args.data_dir or os.environ.get("COURSE_DATA_DIR") or \
        (str(DEFAULT_MRPC_DIR) if (DEFAULT_MRPC_DIR / "train.tsv").is_file() else None)
    # The kernels inherit this process's environment.
    os.environ.update({"HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1", "TOKENIZERS_PARALLELISM": "false"})
    if folder:
        os.environ["COURSE_DATA_DIR"] = str(Path(folder).resolve())
    if args.quick:
        os.environ["COURSE_SMOKE"] = "1"
    else:
        os.environ.pop("COURSE_SMOKE", None)
    mode = "smoke" if args.quick else "full"
    info = machine()
    note(f"machine: {info['device']}{' (' + info['gpu'] + ')' if info['gpu'] else ''}, {info['cpu']}, "
         f"{info['cores']} cores, {info['torch_threads']} torch threads, native bf16 "
         f"{'yes' if info['bf16_native'] else 'no'}, torch {info['torch']}, load average {load()}")
    note(f"mode {mode} ({'COURSE_SMOKE=1: a sanity run of this script, not a lesson time' if args.quick else 'COURSE_SMOKE unset'}),"
         f" data {os.environ.get('COURSE_DATA_DIR', 'the lessons default (Hub, else the built-in paraphrase set)')}")
    results = []
    for lesson in args.lesson:
        result = run_lesson(lesson.resolve(), args.cell_timeout, args.keep)
        results.append(result)
        # as it goes (stderr), so a run stopped half-way still leaves its lessons' figures
        print(f"# {result['lesson']}: {result['seconds']:.0f} s, {result['status']} {json.dumps(result)}",
              file=sys.stderr, flush=True)
    for line in markdown_tables(results, mode):
        print(line, flush=True)
    print(json.dumps({"benchmark": "lesson_times", "mode": mode, "machine": info,
                      "total_seconds": round(sum(r["seconds"] for r in results), 1), "lessons": results}), flush=True)
    return 0 if all(r["status"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
