"""Copy the code cells of each English lesson into its Korean twin.

Usage: python tools/sync_code_cells.py [lesson.ipynb ...]  (default: every lesson)
       python tools/sync_code_cells.py --check              (exit 1 if any twin differs)

The Korean lesson keeps its own markdown; its cells must line up with the
English one (same cell types in the same order), otherwise this stops and
says where they part, because a Korean paragraph must be written by a person.
CONTRIBUTING.md, "Changing a lesson in both languages".
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def sync(en_path: Path, check: bool = False) -> str | None:
    """Return a problem description, or None when the twin is (now) in sync."""
    ko_path = ROOT / "notebooks" / "ko" / en_path.name
    if not ko_path.exists():
        return f"{ko_path.relative_to(ROOT)} is missing: write the Korean lesson first"
    en, ko = nbformat.read(en_path, as_version=4), nbformat.read(ko_path, as_version=4)
    en_types = [c.cell_type for c in en.cells]
    ko_types = [c.cell_type for c in ko.cells]
    if en_types != ko_types:
        where = next((i for i, (a, b) in enumerate(zip(en_types, ko_types)) if a != b), min(len(en_types), len(ko_types)))
        return (f"{ko_path.name}: cells stop lining up at cell {where} (en {en_types[where:where + 1]}, "
                f"ko {ko_types[where:where + 1]}); add or remove the Korean markdown cell there by hand")
    changed = [i for i, (e, k) in enumerate(zip(en.cells, ko.cells)) if e.cell_type == "code" and e.source != k.source]
    if not changed:
        return None
    if check:
        return f"{ko_path.name}: code cells {changed} differ from English"
    for i in changed:
        ko.cells[i].source = en.cells[i].source
    nbformat.write(ko, ko_path)
    print(f"{ko_path.relative_to(ROOT)}: copied code cells {changed}")
    return None


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a).resolve() for a in argv if a != "--check"] or sorted((ROOT / "notebooks" / "en").glob("*.ipynb"))
    problems = [p for p in (sync(path, check) for path in paths) if p]
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
