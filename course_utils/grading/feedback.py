"""`make feedback`: one HTML page per graded submission, and nothing else, and never a hidden test.

nbgrader's generate_feedback makes the pages (with ``FeedbackOnly``: visible tests and
verdicts, no other outputs). nbgrader also copies every other file of the autograded
folder next to the page; those are removed, except the two that ``nbgrader release_feedback``
reads (``timestamp.txt``, ``submission_secret.txt``): students get the page alone. A page that
contains a hidden-test line — as text, HTML-escaped, URL-encoded, reversed, ROT13,
hex or base64 (at any alignment) — is withheld and named.
"""
from __future__ import annotations

import base64
import codecs
import functools
import html
import urllib.parse
from pathlib import Path

from course_utils.grading.checks import hidden_part
from course_utils.grading.course import NBGRADER_FILES, nbgrader

MIN_SECRET_CHARS = 16


def hidden_lines(root: Path) -> set[str]:
    """Every line of every hidden region (export and check) of the source notebooks, long enough to recognise."""
    import nbformat

    lines = set()
    for path in (root / "source").glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            for line in hidden_part(cell.source).splitlines():
                if len(line.strip()) >= MIN_SECRET_CHARS:
                    lines.add(line.strip())
    return lines


@functools.lru_cache(maxsize=None)  # the same hidden lines are searched for in every page
def encodings(line: str) -> frozenset[str]:
    """How a hidden line could be smuggled into a page: the forms searched for."""
    raw = line.encode("utf-8")
    forms = {line, html.escape(line), urllib.parse.quote(line), line[::-1], codecs.encode(line, "rot13"),
             raw.hex(), raw.hex().upper()}
    for shift in range(3):  # a line inside a longer base64 text starts at any byte offset
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(raw[shift:]).decode("ascii").rstrip("=")
            forms.add(text[4 if shift else 0:-4] if len(text) > 12 else text)
    return frozenset(form for form in forms if len(form) >= MIN_SECRET_CHARS)


def leaks(text: str, secrets: set[str]) -> list[str]:
    """The hidden lines a page's text contains, in any of the forms above."""
    plain = html.unescape(text)
    compact = "".join(plain.split())
    found = []
    for line in secrets:
        if any(form in plain or "".join(form.split()) in compact for form in encodings(line)):
            found.append(line)
    return found


def feedback(root: Path) -> list[tuple[str, str, str]]:
    """HTML feedback per autograded submission; a page that would show a hidden test is withheld.

    One nbgrader process per assignment (all its students); if it fails, one per student, so one
    broken notebook costs only its own feedback.
    """
    secret = hidden_lines(root)
    problems = []
    graded: dict[str, list[str]] = {}
    for folder in sorted((root / "autograded").glob("*/*")):
        if folder.is_dir() and any(folder.glob("*.ipynb")):
            graded.setdefault(folder.name, []).append(folder.parent.name)
    for assignment, students in graded.items():
        code, _ = nbgrader(root, "generate_feedback", assignment, "--force", timeout=600)
        for student in students if code != 0 else []:
            code, tail = nbgrader(root, "generate_feedback", assignment, "--student", student, "--force", timeout=300)
            if code != 0:
                last = tail.strip().splitlines()[-1] if tail.strip() else f"exit code {code}"
                problems.append((student, assignment, f"generate_feedback failed: {last}"))
        for student in students:
            folder = root / "feedback" / student / assignment
            for path in sorted(folder.rglob("*"), reverse=True) if folder.is_dir() else []:
                if path.is_dir() and not any(path.iterdir()):
                    path.rmdir()
                elif not path.is_dir() and path.suffix != ".html" and str(path.relative_to(folder)) not in NBGRADER_FILES:
                    path.unlink()  # students get the page only (nbgrader copies the graded folder's files)
            for page in folder.glob("*.html"):
                found = leaks(page.read_text(encoding="utf-8"), secret)
                if found:
                    page.unlink()
                    problems.append((student, assignment, f"{page.name} withheld: it showed a hidden test line "
                                                          f"({found[0][:60]}...)"))
    for student, assignment, why in problems:
        print(f"{student}/{assignment}: {why}")
    print(f"Feedback in {root / 'feedback'} ({len(problems)} problem(s)).")
    return problems
