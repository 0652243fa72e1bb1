#!/usr/bin/env python3
"""Strip notebooks in place: outputs, execution counts, widget state, run timings.

    python tools/strip_notebooks.py [PATH ...]          strip (default: notebooks/ and grading/source/)
    python tools/strip_notebooks.py --check [PATH ...]  list notebooks that carry any; exit 1 if one does

PATH is a notebook or a folder (searched recursively; .ipynb_checkpoints and
build/ are skipped). Everything else is kept as it is: sources, cell ids,
nbgrader and course metadata. A file is rewritten only when something was
removed, in the layout Jupyter itself saves (nbformat: indent 1, sorted keys),
so stripping a clean notebook changes nothing.

Written by hand (nbstripout and nbconvert --clear-output would do the same) to
keep the development install free of one more tool and to list what it finds.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PATHS = [ROOT / "notebooks", ROOT / "grading" / "source"]  # lessons, nbgrader source assignments
SKIP_PARTS = {".ipynb_checkpoints", "build", ".venv"}
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime")  # nbclient / jupyterlab-execute-time timings


def find_notebooks(paths: list[Path]) -> list[Path]:
    found = []
    for path in paths:
        if path.is_dir():
            found += [p for p in sorted(path.rglob("*.ipynb")) if not SKIP_PARTS & set(p.relative_to(path).parts)]
        elif path.suffix == ".ipynb" and path.is_file():
            found.append(path)
        else:
            raise SystemExit(f"strip_notebooks: {path} is neither a notebook nor a folder; give .ipynb files or folders.")
    return found


def strip(nb: dict) -> list[str]:
    """Remove what running left in ``nb`` (in place); return what was found, in words."""
    outputs = counts = timings = 0
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            if cell.get("outputs"):
                outputs += 1
            if cell.get("execution_count") is not None:
                counts += 1
            cell["outputs"], cell["execution_count"] = [], None
        metadata = cell.get("metadata", {})
        for key in VOLATILE_CELL_METADATA:
            if key in metadata:
                timings += 1
                del metadata[key]
    found = []
    if outputs:
        found.append(f"{outputs} cell(s) with outputs")
    if counts:
        found.append(f"{counts} execution count(s)")
    if "widgets" in nb.get("metadata", {}):
        del nb["metadata"]["widgets"]
        found.append("widget state")
    if timings:
        found.append(f"{timings} run timing(s)")
    return found


def dumps(nb: dict) -> str:
    """The layout Jupyter saves (nbformat.writes of a v4 notebook)."""
    return json.dumps(nb, indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks or folders (default: notebooks/ grading/source/)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 listing notebooks to strip")
    args = parser.parse_args(argv)
    notebooks = find_notebooks(args.paths or [p for p in DEFAULT_PATHS if p.exists()])
    dirty = []
    for path in notebooks:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            print(f"strip_notebooks: cannot read {path} ({exc}); fix or restore the file first.", file=sys.stderr)
            return 2
        found = strip(nb)
        if not found:
            continue
        dirty.append(path)
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        if args.check:
            print(f"{shown}: {', '.join(found)}")
        else:
            path.write_text(dumps(nb), encoding="utf-8")
            print(f"stripped {shown}: {', '.join(found)}")
    if args.check and dirty:
        print(f"{len(dirty)} notebook(s) carry outputs: run `python tools/strip_notebooks.py` before committing.",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
