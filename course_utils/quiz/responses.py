"""Learners' answers in ``quiz_responses.json`` (the kernel's working folder = the notebook's folder).

Every submitted answer is written at once and atomically (temporary file +
os.replace), one answer per line, so a damaged file costs only the damaged
lines: the rest is recovered, the unreadable file is kept as a backup and one
message says what happened. Used by every lesson's quiz and by grading.
Written by hand: no library persists widget answers (ipywidgets #638).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from ..errors import CourseError
from .numeric import parse_number

FILENAME = "quiz_responses.json"
FORMAT = "course-quiz-responses/2"  # /1 stored "letters"; they were choice ids too (no shuffling then)
_DECODER = json.JSONDecoder()


def default_path() -> Path:
    return Path.cwd() / FILENAME


_CHOICE_ID = re.compile(r"^[a-z0-9_]{1,24}$")


def _upgrade(entry):
    """A /1 entry {"letters": [...]} reads as {"choices": [...]} (same identities)."""
    if isinstance(entry, dict) and "choices" not in entry and "value" not in entry and "letters" in entry:
        entry = {**{k: v for k, v in entry.items() if k != "letters"}, "choices": entry["letters"]}
    return entry


def _valid_entry(entry) -> bool:
    if not isinstance(entry, dict):
        return False
    if "value" in entry:
        v = entry["value"]
        # parse_number, not math.isfinite: a JSON int of 400 digits overflows a float, and one such answer
        # must cost that answer, not every answer of the file (a crash here fails the whole quiz)
        return isinstance(v, (int, float)) and not isinstance(v, bool) and parse_number(v) is not None
    choices = entry.get("choices")
    return (
        isinstance(choices, list) and bool(choices)
        and all(isinstance(x, str) and _CHOICE_ID.match(x) for x in choices)
    )


def _parse(text: str) -> tuple[dict, int, str | None]:
    """(valid answers, number of damaged answers, why the file is damaged or None)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        data, why = None, f"not valid JSON at line {exc.lineno}: {exc.msg}"
    except (RecursionError, ValueError):  # nested too deep, or numbers too long: not an answer file either
        data, why = None, "not a quiz response file (nested too deep)"
    else:
        why = None
    if data is not None:
        if not isinstance(data, dict) or not isinstance(data.get("answers"), dict):
            return {}, 0, "not a quiz response file (no 'answers' table)"
        upgraded = {k: _upgrade(v) for k, v in data["answers"].items()}
        good = {k: v for k, v in upgraded.items() if _valid_entry(v)}
        bad = len(data["answers"]) - len(good)
        return good, bad, (f"{bad} answer(s) malformed" if bad else None)
    # Salvage: the writer puts one answer per line.
    good, bad = {}, 0
    for line in text.splitlines():
        parts = _answer_line(line)
        if parts is None:
            stripped = line.strip()
            bad += stripped.startswith('"') and not stripped.startswith(('"format"', '"answers"'))
            continue
        try:
            qid, entry = parts[0], _upgrade(json.loads(parts[1]))
        except (RecursionError, ValueError):  # JSONDecodeError is a ValueError
            bad += 1
            continue
        if _valid_entry(entry):
            good[qid] = entry
        else:
            bad += 1
    return good, bad, why


def _answer_line(line: str) -> tuple[str, str] | None:
    """(question id, the entry's JSON text) of a line `"id": {...},` as the writer puts them; else None.
    Linear in the line's length: a regular expression with `\\s*,?\\s*$` took quadratic time on a line of
    spaces, and the quiz's set-up cell reads the student's file on the grader (attack of 2026-12-06)."""
    body = line.strip()
    if body.endswith(","):
        body = body[:-1].rstrip()
    if not body.startswith('"'):
        return None
    try:
        qid, end = _DECODER.raw_decode(body)
    except ValueError:
        return None
    rest = body[end:].lstrip()
    if not rest.startswith(":"):
        return None
    entry = rest[1:].lstrip()
    return (qid, entry) if entry.startswith("{") and entry.endswith("}") else None


def _backup(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.stem}.unreadable-{stamp}{path.suffix}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.stem}.unreadable-{stamp}-{n}{path.suffix}")
    shutil.copy2(path, target)
    return target


def read(path=None, repair: bool = False) -> dict:
    """All saved answers {qid: {"choices": [ids], ...} or {"value": number, ...}}; never raises on a damaged file.

    With ``repair`` (the learner's own kernel), a damaged file is backed up and
    rewritten with what could be recovered; grading reads without writing.
    """
    path = Path(path) if path is not None else default_path()
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        text, answers, bad, why = "", {}, 0, f"cannot be read ({exc.__class__.__name__})"
    else:
        answers, bad, why = _parse(text)
    if why is None:
        return answers
    from .. import messages

    note = messages.text("quiz_file_damaged", name=path.name, why=why, n=len(answers))
    if repair:
        try:
            backup = _backup(path)
            _write(path, answers)
            note += messages.text("quiz_file_kept", backup=backup.name)
        except OSError as exc:
            note += messages.text("quiz_file_not_repaired", why=exc.strerror or exc)
    else:
        note += messages.text("quiz_file_unchanged")
    print(note, file=sys.stderr)
    return answers


def _write(path: Path, answers: dict) -> None:
    lines = [f'  "format": "{FORMAT}",', '  "answers": {']
    items = [f"    {json.dumps(qid, ensure_ascii=False)}: {json.dumps(answers[qid], ensure_ascii=False, sort_keys=True)}"
             for qid in sorted(answers)]
    lines.append(",\n".join(items))
    text = "{\n" + "\n".join(lines) + "\n  }\n}\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save(qid: str, answer, mode: str, path=None) -> dict:
    """Record one answer at once: a list of choice ids, or a number (re-reads the file, so lessons
    sharing a folder keep each other's answers)."""
    from .. import messages

    path = Path(path) if path is not None else default_path()
    answers = read(path, repair=True)
    previous = answers.get(qid, {})
    given = {"value": float(answer)} if isinstance(answer, (int, float)) else {"choices": sorted(set(answer))}
    entry = {
        **given,
        "mode": mode,
        "attempts": int(previous.get("attempts", 0)) + 1 if isinstance(previous.get("attempts", 0), int) else 1,
        "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    answers[qid] = entry
    try:
        _write(path, answers)
    except OSError as exc:
        raise CourseError(messages.text("quiz_cannot_save", path=path, why=exc.strerror)) from None
    return entry


def plain_answer(entry: dict):
    """[choice ids] or a number: what grading compares with the key."""
    return float(entry["value"]) if "value" in entry else list(entry["choices"])


def load_responses(path=None) -> dict:
    """{question id: [choice ids] or number} of every saved answer (plain JSON data, for grading); {} if none."""
    return {qid: plain_answer(entry) for qid, entry in read(path).items()}


def export_answers(target, path=None) -> Path:
    """Write the saved answers as plain JSON {question id: [choice ids] | number} for a grader."""
    answers = load_responses(path)
    target = Path(target)
    target.write_text(json.dumps(answers, ensure_ascii=False, sort_keys=True, indent=1) + "\n", encoding="utf-8")
    return target
