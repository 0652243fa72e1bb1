"""Copy the code cells of each English lesson into its Korean twin, keeping Korean comments; write the
repository's URL (pyproject.toml, [project.urls] Repository) wherever the course uses it.

Usage: python tools/sync_code_cells.py [lesson.ipynb ...]  (default: every lesson)
       python tools/sync_code_cells.py --check              (exit 1 if any twin or URL differs)

First the places made from the repository's URL are written (tools/repository_url.py): each lesson's
Colab badge and Colab cell (en and ko), the badges and website links of README.md, the Colab cell of
CONTRIBUTING.md, the links of grading/hub/README.md. A fork edits [project.urls] and runs `make sync`.

Code cells of the two languages hold the same code; only their comments may
differ (Korean lessons have Korean comments). Two cells count as the same when
`code_without_comments` gives the same text for both. When the English code
changed, the Korean cell is rebuilt line by line: lines whose code did not
change keep their Korean comment, changed lines come from English, and the
tool names the cells whose new English comments wait for a translation.

The Korean lesson keeps its own markdown; its cells must line up with the
English one (same cell types in the same order), otherwise this stops and
says where they part, because a Korean paragraph must be written by a person.
CONTRIBUTING.md, "Changing a lesson in both languages".
"""
from __future__ import annotations

import difflib
import io
import sys
import tokenize
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools import repository_url  # noqa: E402


def _split_comments(source: str) -> list[tuple[str, bool]]:
    """Each line as (its code without the comment, whether it had a comment).

    Python's tokenizer finds the comments, so a `#` inside a string stays code.
    Notebook magics (`%pip ...`, `!ls`) tokenize well enough for this.
    """
    lines = source.splitlines()
    comment_at: dict[int, int] = {}  # line number (0-based) -> column where the comment starts
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                comment_at[tok.start[0] - 1] = tok.start[1]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # an unfinished cell: comments found so far are enough; the rest compares as written
    return [(line[:comment_at[i]].rstrip(), True) if i in comment_at else (line.rstrip(), False)
            for i, line in enumerate(lines)]


def code_without_comments(source: str) -> str:
    """The code of a cell with its comments removed (lines that held only a comment are dropped)."""
    return "\n".join(code for code, had_comment in _split_comments(source) if code or not had_comment).strip("\n")


def _merge(en_source: str, ko_source: str) -> tuple[str, bool]:
    """English code with the Korean comments kept where the code around them did not change.

    Returns the merged source and whether some English comments were brought in (they need translating).
    """
    en_lines, ko_lines = en_source.splitlines(), ko_source.splitlines()
    # A line that is only a comment is keyed "#": such lines match each other, whatever they say.
    key = lambda parts: [code if code or not had else "#" for code, had in parts]  # noqa: E731
    en_parts, ko_parts = _split_comments(en_source), _split_comments(ko_source)
    en_keys, ko_keys = key(en_parts), key(ko_parts)
    out: list[str] = []
    english_comments = False
    for op, e1, e2, k1, k2 in difflib.SequenceMatcher(None, en_keys, ko_keys, autojunk=False).get_opcodes():
        if op == "equal" or (op == "replace" and set(en_keys[e1:e2]) == set(ko_keys[k1:k2]) == {"#"}):
            out += ko_lines[k1:k2]  # same code (or comment lines in place of comment lines): the Korean text stays
        elif op == "delete" or op == "replace":
            out += en_lines[e1:e2]
            english_comments |= any(had for _, had in en_parts[e1:e2])
        # "insert": lines only Korean has are dropped, unless they are comments on their own
        if op == "insert" and set(ko_keys[k1:k2]) == {"#"}:
            out += ko_lines[k1:k2]
    merged = "\n".join(out)
    if code_without_comments(merged) != code_without_comments(en_source):  # a comment moved onto changed code
        return en_source, True
    return merged, english_comments


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
    changed = [i for i, (e, k) in enumerate(zip(en.cells, ko.cells))
               if e.cell_type == "code" and code_without_comments(e.source) != code_without_comments(k.source)]
    if not changed:
        return None
    if check:
        return f"{ko_path.name}: code cells {changed} differ from English (comments aside)"
    to_translate = []
    for i in changed:
        ko.cells[i].source, english = _merge(en.cells[i].source, ko.cells[i].source)
        if english:
            to_translate.append(i)
    nbformat.write(ko, ko_path)
    print(f"{ko_path.relative_to(ROOT)}: copied the code of cells {changed}"
          + (f"; translate the English comments now in cells {to_translate}" if to_translate else ""))
    return None


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a).resolve() for a in argv if a != "--check"] or sorted((ROOT / "notebooks" / "en").glob("*.ipynb"))
    twins = [ROOT / "notebooks" / "ko" / path.name for path in paths]
    differ, problems = repository_url.sync(ROOT, paths + [t for t in twins if t.exists()], check)
    for place in differ:
        print(f"{place} differs from what [project.urls] Repository in pyproject.toml makes; run `make sync`"
              if check else f"{place} written from [project.urls] Repository")
    if differ and check:
        problems.append(f"{len(differ)} place(s) disagree with the repository URL of pyproject.toml")
    problems += [p for p in (sync(path, check) for path in paths) if p]
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
