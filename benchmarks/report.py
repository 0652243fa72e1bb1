"""Collect the benchmarks' outputs into one Markdown report (``make bench`` writes build/benchmarks.md).

    python benchmarks/report.py build/bench > build/benchmarks.md

Reads every ``*.log`` in the folder (the stdout of one benchmark each):
``ratio NAME = VALUE  (meaning)`` lines go into one table, Markdown tables
(runs of lines starting with ``|``, e.g. lesson_times) are copied under their
benchmark, ``note`` lines under their benchmark, and a last line that is a
JSON object (finetune_mrpc, grading_throughput, lesson_times) is copied as it is.
"""
from __future__ import annotations

import datetime
import json
import re
import sys
from pathlib import Path

RATIO = re.compile(r"^ratio (\S+) = (\S+)  \((.*)\)$")


def parse(text: str) -> dict:
    """{'ratios': [(name, value, meaning)], 'tables': [[str]], 'notes': [str], 'json': dict | None} of one stdout."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    tables, previous = [], False
    for line in lines:
        is_row = line.startswith("|")
        if is_row:
            if not previous:
                tables.append([])
            tables[-1].append(line)
        previous = is_row
    ratios = [m.groups() for m in map(RATIO.match, lines) if m]
    notes = [line[len("note "):] for line in lines if line.startswith("note ")]
    last = None
    if lines and lines[-1].startswith("{"):
        try:
            last = json.loads(lines[-1])
        except json.JSONDecodeError:
            last = None
    return {"ratios": ratios, "tables": tables, "notes": notes, "json": last, "last_line": lines[-1] if lines else ""}


def render(folder: Path) -> str:
    logs = sorted(folder.glob("*.log"))
    if not logs:
        raise SystemExit(f"No *.log in {folder}: run the benchmarks first (make bench).")
    parsed = {log.stem: parse(log.read_text(encoding="utf-8")) for log in logs}
    out = ["# Benchmarks", "",
           f"Generated {datetime.datetime.now():%Y-%m-%d %H:%M} by `make bench` (benchmarks/README.md says "
           "what each one measures). Wall times on a shared CPU vary with the load; the notes give it.", "",
           "| benchmark | ratio | value | meaning |", "| --- | --- | --- | --- |"]
    for name, result in parsed.items():
        for ratio_name, value, meaning in result["ratios"]:
            cell = meaning.replace("|", "\\|")  # a pipe would end the Markdown cell
            out.append(f"| {name} | `{ratio_name}` | {value} | {cell} |")
    for name, result in parsed.items():
        if result["tables"]:
            out += ["", f"## {name}"]
            for table in result["tables"]:
                out += [""] + table
    for name, result in parsed.items():
        if result["json"] is not None:
            out += ["", f"## {name}: result", "", "```json", result["last_line"], "```"]
    for name, result in parsed.items():
        if result["notes"]:
            out += ["", f"## {name}: notes", ""] + [f"- {note}" for note in result["notes"]]
    missing = [name for name, result in parsed.items()
               if not result["ratios"] and not result["tables"] and result["json"] is None]
    if missing:
        out += ["", f"**No result in:** {', '.join(missing)} (see their logs in {folder})."]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(Path(sys.argv[1] if len(sys.argv) > 1 else "build/bench")))
