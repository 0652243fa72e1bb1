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

FILENAME = "quiz_responses.json"
FORMAT = "course-quiz-responses/1"
_LINE = re.compile(r'^\s*("(?:[^"\\]|\\.)*")\s*:\s*(\{.*\})\s*,?\s*$')


def default_path() -> Path:
    return Path.cwd() / FILENAME


def _valid_entry(entry) -> bool:
    letters = entry.get("letters") if isinstance(entry, dict) else None
    return (
        isinstance(letters, list) and bool(letters)
        and all(isinstance(x, str) and len(x) == 1 and "a" <= x <= "z" for x in letters)
    )


def _parse(text: str) -> tuple[dict, int, str | None]:
    """(valid answers, number of damaged answers, why the file is damaged or None)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        data, why = None, f"not valid JSON at line {exc.lineno}: {exc.msg}"
    else:
        why = None
    if data is not None:
        if not isinstance(data, dict) or not isinstance(data.get("answers"), dict):
            return {}, 0, "not a quiz response file (no 'answers' table)"
        good = {k: v for k, v in data["answers"].items() if _valid_entry(v)}
        bad = len(data["answers"]) - len(good)
        return good, bad, (f"{bad} answer(s) malformed" if bad else None)
    # Salvage: the writer puts one answer per line.
    good, bad = {}, 0
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m:
            stripped = line.strip()
            bad += stripped.startswith('"') and not stripped.startswith(('"format"', '"answers"'))
            continue
        try:
            qid, entry = json.loads(m.group(1)), json.loads(m.group(2))
        except json.JSONDecodeError:
            bad += 1
            continue
        if _valid_entry(entry):
            good[qid] = entry
        else:
            bad += 1
    return good, bad, why


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
    """All saved answers {qid: {"letters": [...], ...}}; never raises on a damaged file.

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
    note = f"{path.name} is damaged ({why}); recovered {len(answers)} answer(s)"
    if repair:
        try:
            backup = _backup(path)
            _write(path, answers)
            note += f", kept the damaged file as {backup.name}; answer the missing questions again."
        except OSError as exc:
            note += f"; could not repair it ({exc.strerror or exc}): move it away, then answer again."
    else:
        note += "; the file was left unchanged."
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


def save(qid: str, letters: list[str], mode: str, path=None) -> dict:
    """Record one answer at once (re-reads the file, so lessons sharing a folder keep each other's answers)."""
    path = Path(path) if path is not None else default_path()
    answers = read(path, repair=True)
    previous = answers.get(qid, {})
    entry = {
        "letters": sorted(letters),
        "mode": mode,
        "attempts": int(previous.get("attempts", 0)) + 1 if isinstance(previous.get("attempts", 0), int) else 1,
        "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    answers[qid] = entry
    try:
        _write(path, answers)
    except OSError as exc:
        raise CourseError(f"Could not save your answer to {path} ({exc.strerror}); make the notebook's folder writable.") from None
    return entry


def load_responses(path=None) -> dict[str, list[str]]:
    """{question id: [letters]} of every saved answer (for grading code); an empty dict if none."""
    return {qid: list(entry["letters"]) for qid, entry in read(path).items()}
