"""`make feedback`: one HTML page per graded submission, and nothing else, and never a hidden test.

nbgrader's generate_feedback makes the pages (with ``FeedbackOnly``: visible tests and
verdicts, no other outputs). nbgrader also copies every other file of the autograded
folder next to the page; those are removed, except the two that ``nbgrader release_feedback``
reads (``timestamp.txt``, ``submission_secret.txt``): students get the page alone. A page that
contains a hidden-test line — as text, HTML-escaped, URL-encoded, reversed, ROT13,
hex or base64 (at any alignment), as a big integer (its bytes, either order), or spelled out
in strings of one or two characters — is withheld and named. Every page gets a
Content-Security-Policy that runs no script (``FeedbackOnly`` already cleaned the student's
markdown; this is the second wall).

Each page also says what course.yaml's late rule did to the submission (received when, due when, the penalty and
why: ``lateness``), and an earlier page whose text changed is kept, dated, in ``history/`` beside it (``history``).
"""
from __future__ import annotations

import base64
import codecs
import functools
import html
import re
import secrets
import sys
import urllib.parse
from pathlib import Path

from course_utils.grading import history, lateness
from course_utils.grading.checks import hidden_part
from course_utils.grading.course import NBGRADER_FILES, nbgrader
from course_utils.grading.policy import NO_RECEIPT

MIN_SECRET_CHARS = 16
# No script of any kind (inline, from a URL, an event handler, a javascript: link); the page's own inline CSS and
# images (data: URIs, https) still work. Nothing else loads: no fetch, frame, font, form or <base>.
CSP = ("default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src data: https:; "
       "base-uri 'none'; form-action 'none'")
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'


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
             raw.hex(), raw.hex().upper(), raw[::-1].hex(), raw[::-1].hex().upper()}  # big- and little-endian hex
    for shift in range(3):  # a line inside a longer base64 text starts at any byte offset
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(raw[shift:]).decode("ascii").rstrip("=")
            forms.add(text[4 if shift else 0:-4] if len(text) > 12 else text)
    return frozenset(form for form in forms if len(form) >= MIN_SECRET_CHARS)


# Decimal digits of a number as long as the smallest hidden line's bytes (16 bytes: 37 digits), maybe grouped
# with "_" or "," (Python's format options); one of MAX_DIGITS or more is not read and withholds the page.
_NUMBER = re.compile(r"\d(?:[_,]?\d){35,}")
MAX_DIGITS = 100_000
TOO_LONG = "(a number too long for the leak check to read)"
# A page the leak check does not read: it searches every hidden line in ~20 forms, and a 5 MB page of long
# numbers took 24 s, each student's in turn (the grading attack of 2026-12-05). The course's pages are ~150 KB.
MAX_PAGE_BYTES = 2 << 20
TOO_BIG = f"(a page over {MAX_PAGE_BYTES >> 20} MB, too large for the leak check)"
# One- or two-character strings in quotes, as repr() writes a list of them.
_QUOTED = r"""(?:'[^'\\]{1,2}'|"[^"\\]{1,2}")"""
_QUOTED_RUN = re.compile(rf"{_QUOTED}(?:\s*[,;]?\s*{_QUOTED}){{3,}}")


def _squeeze(text: str) -> str:
    """Without whitespace, commas and semicolons: "fr, om, c" and "from c" read the same. Quotes stay: a check's
    line that is only its message in quotes is shown as the verdict, without them."""
    return re.sub(r"[\s,;]+", "", text)


def _decoded_numbers(plain: str) -> tuple[list[str], list[str]]:
    """(the text of every long number's bytes, big- and little-endian; numbers too long to read)."""
    texts, unread = [], []
    for match in _NUMBER.finditer(plain):
        digits = re.sub("[_,]", "", match.group())
        if len(digits) >= MAX_DIGITS:
            unread.append(TOO_LONG)
            continue
        limit = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)  # Python refuses more than 4300 digits by default
        try:
            number = int(digits)
        finally:
            sys.set_int_max_str_digits(limit)
        size = (number.bit_length() + 7) // 8
        texts += [number.to_bytes(size, order).decode("utf-8", "replace") for order in ("big", "little")]
    return texts, unread


def _spelled(plain: str) -> list[str]:
    """Runs of quoted one- and two-character strings, joined: whole, and their first and last characters
    (a sorted list spells a text with one character of order and one of payload)."""
    joined = []
    for run in _QUOTED_RUN.finditer(plain):
        items = [item[1:-1] for item in re.findall(_QUOTED, run.group())]
        joined += [_squeeze("".join(items)), _squeeze("".join(item[0] for item in items)),
                   _squeeze("".join(item[-1] for item in items))]
    return joined


def leaks(text: str, secrets: set[str]) -> list[str]:
    """The hidden lines a page's text contains, in any of the forms above; a number too long to read counts too."""
    plain = html.unescape(text)
    compact = "".join(plain.split())
    squeezed = _squeeze(plain)
    numbers, found = _decoded_numbers(plain)
    spelled = _spelled(plain)
    for line in secrets:
        short = _squeeze(line)
        if any(form in plain or "".join(form.split()) in compact for form in encodings(line)) or \
                (len(short) >= MIN_SECRET_CHARS and short in squeezed) or \
                any(line in decoded or line in "".join(decoded.split()) for decoded in numbers) or \
                any(short in joined or short[::-1] in joined for joined in spelled if len(short) >= MIN_SECRET_CHARS):
            found.append(line)
    return found


LATE_NOTE_CLASS = "course-late-work"


def with_late_note(page: str, record: lateness.Record | None) -> str:
    """The page with course.yaml's verdict on this submission first in its <body> (as it was without a verdict)."""
    body = re.search(r"<body\b[^>]*>", page, re.IGNORECASE)
    if record is None or record.reason in ("", NO_RECEIPT) or body is None:
        return page  # no due date, or no receipt (the instructor's log says so; the student's page says nothing)
    note = (f'<div class="{LATE_NOTE_CLASS}" style="border:1px solid #b35900;border-radius:4px;padding:0.6em 1em;'
            f'margin:1em auto;max-width:1140px"><strong>Due date and late work:</strong> '
            f"{html.escape(lateness.describe(record))}</div>")
    return page[:body.end()] + "\n" + note + page[body.end():]


def protect(page: str) -> str | None:
    """The page with the Content-Security-Policy as the first element of its <head>; None without a <head>."""
    head = re.search(r"<head\b[^>]*>", page, re.IGNORECASE)
    if head is None:
        return None
    return page[:head.end()] + "\n" + CSP_META + page[head.end():]


SECRET_FILE = "submission_secret.txt"
# What nbgrader submit writes (secrets.token_hex(64)). nbgrader release_feedback reads this file beside every page
# and stops for the whole class on one it cannot use (empty: an AssertionError; not UTF-8; missing).
SECRET_FORM = re.compile(r"[0-9a-f]{32,256}")


def _valid_secret(path: Path) -> bool:
    try:
        return path.is_file() and not path.is_symlink() and SECRET_FORM.fullmatch(
            path.read_bytes()[:300].decode("ascii")) is not None
    except (OSError, UnicodeDecodeError):
        return False


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
    history.set_aside(root)  # nbgrader --force deletes each feedback folder; earlier pages are kept (history.py)
    try:
        _generate(root, graded, secret, problems)
    finally:
        archived = history.put_back(root, {(s, a) for a, students in graded.items() for s in students})
    for student, assignment, why in problems:
        print(f"{student}/{assignment}: {why}")
    kept = f"; {len(archived)} earlier page(s) kept in history/" if archived else ""
    print(f"Feedback in {root / 'feedback'} ({len(problems)} problem(s){kept}).")
    return problems


def _generate(root: Path, graded: dict[str, list[str]], secret: set[str], problems: list) -> None:
    for assignment, students in graded.items():
        code, _ = nbgrader(root, "generate_feedback", assignment, "--force", timeout=600)
        for student in students if code != 0 else []:
            code, tail = nbgrader(root, "generate_feedback", assignment, f"--student={student}", "--force", timeout=300)
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
            secret_file = folder / SECRET_FILE
            if folder.is_dir() and not _valid_secret(secret_file):
                # none (collected without nbgrader submit: zip_collect, a copy) is no problem: a fresh one lets
                # release_feedback run; one nbgrader did not write is a student's doing, and said
                if secret_file.exists() or secret_file.is_symlink():
                    problems.append((student, assignment, f"{SECRET_FILE} was not one nbgrader submit writes: "
                                     "replaced (so nbgrader release_feedback goes on); the student cannot fetch "
                                     "this page with nbgrader fetch_feedback: send it another way"))
                secret_file.unlink(missing_ok=True)
                secret_file.write_text(secrets.token_hex(64), encoding="ascii")
            record = lateness.load(root, student, assignment)
            for page in folder.glob("*.html"):
                text = with_late_note(page.read_text(encoding="utf-8"), record)
                too_big = len(text.encode("utf-8")) > MAX_PAGE_BYTES  # the student's outputs made it so
                found = [TOO_BIG] if too_big else leaks(text, secret)
                protected = protect(text)
                if found or protected is None:
                    page.unlink()
                    why = ("it has no <head> to hold the Content-Security-Policy" if not found else
                           f"it is {TOO_BIG[1:-1]}; send the student the graded notebook yourself if needed"
                           if found[0] == TOO_BIG else
                           f"it showed {TOO_LONG[1:-1]}" if found[0] == TOO_LONG else
                           f"it showed a hidden test line ({found[0][:60]}...)")
                    problems.append((student, assignment, f"{page.name} withheld: {why}"))
                else:
                    page.write_text(protected, encoding="utf-8")
