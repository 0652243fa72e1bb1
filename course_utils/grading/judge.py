"""The outside half of a hidden test: judge plain values in a clean process.

Run by the grader as ``python -I -m course_utils.grading.judge`` (an isolated
interpreter, working directory the assignment's source folder). It reads one JSON
job on standard input::

    {"student": "alice", "source_dir": "...", "checks": [
        {"cell": "ex1_pair", "code": "<check source>", "data": {...}, "problem": null}, ...]}

and writes one JSON list of verdicts ``{"cell", "ok", "message"}``. Each check runs
in a fresh namespace holding ``data`` (the values the student's kernel sent),
``student_id`` and ``source_dir`` (for instructor-only files such as an exam key),
and ``trusted(text)``, which returns ``text`` and lets the message show it although the
kernel sent it too (a question id read from the instructor's exam file). A message never
repeats what the kernel sent: the checks' messages are written that way, and ``scrub``
is the net below them. A ``problem`` (no values sent, an error in the student's code)
fails the cell without running its check. Nothing here imports student code: the values are JSON.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path


def _sent(value, strings: set, numbers: set, depth: int = 0) -> None:
    """Every string and number (keys included) in the values the kernel sent."""
    if isinstance(value, str):
        strings.add(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        numbers.add(value)
    elif isinstance(value, dict) and depth < 64:
        for key, item in value.items():
            _sent(key, strings, numbers, depth + 1)
            _sent(item, strings, numbers, depth + 1)
    elif isinstance(value, list) and depth < 64:
        for item in value:
            _sent(item, strings, numbers, depth + 1)


# A run of two or more quoted one- or two-character strings, as repr() writes a list, tuple or set of them.
_QUOTED = r"""(?:'[^'\\]{1,2}'|"[^"\\]{1,2}")"""
_QUOTED_RUN = re.compile(rf"{_QUOTED}(?:\s*,\s*{_QUOTED})+")


def _scrub_part(message: str, strings: set, numbers: set, code: str) -> str:
    for text in sorted(strings, key=len, reverse=True):
        if len(text) >= 3 and text not in code and text in message:
            message = message.replace(text, "…")
    # Too short to replace one by one ("a" is in every sentence), but a list of them spells any text. Such a
    # list stays only if the check wrote it out itself.
    message = _QUOTED_RUN.sub(lambda run: run.group() if run.group() in code or not any(
        item[1:-1] in strings for item in re.findall(_QUOTED, run.group())) else "…", message)
    # A number carries text too (int.from_bytes of a hidden line); small ones are the values checks talk about.
    for number in sorted(numbers, key=lambda n: len(repr(n)), reverse=True):
        text = repr(number)
        if len(text.lstrip("-")) >= 4 and text not in code and text in message:
            message = message.replace(text, "…")
    return message


def scrub(message: str, data, code: str, trusted: set | None = None) -> str:
    """The check's message without any text or number the student's kernel sent (an f-string of the check may
    quote it): the kernel saw the hidden export code, so what it chose must not reach feedback. What the check
    itself contains (an expected class name, "epoch") and what it marked ``trusted`` (read from the instructor's
    files) stays."""
    strings, numbers = set(), set()
    _sent(data, strings, numbers)
    keep = sorted((text for text in trusted or () if text), key=len, reverse=True)
    if not keep:
        return _scrub_part(message, strings, numbers, code)
    # The trusted texts are left whole; what lies between them is scrubbed.
    parts = re.split("(" + "|".join(map(re.escape, keep)) + ")", message)
    return "".join(part if index % 2 else _scrub_part(part, strings, numbers, code)
                   for index, part in enumerate(parts))


def judge_one(check: dict, student: str, source_dir: Path) -> dict:
    cell = check["cell"]
    if check.get("problem"):
        return {"cell": cell, "ok": False, "message": check["problem"]}
    trusted: set[str] = set()

    def trust(text):
        """For the check's message: text the check read from the instructor's own files, never from ``data``."""
        trusted.add(str(text))
        return text

    namespace = {"data": check.get("data"), "student_id": student, "source_dir": source_dir, "trusted": trust,
                 "__name__": "course_check"}
    try:
        exec(compile(check["code"], f"<check {cell}>", "exec"), namespace)
    except AssertionError as failed:
        message = scrub(str(failed), check.get("data"), check["code"], trusted) or "the hidden test failed"
        return {"cell": cell, "ok": False, "message": message[:1000]}
    except Exception as error:  # the values did not have the shape the check reads
        return {"cell": cell, "ok": False,
                "message": f"the hidden test could not use the values your code produced ({type(error).__name__})"}
    return {"cell": cell, "ok": True, "message": ""}


def main() -> int:
    job = json.loads(sys.stdin.read())
    source_dir = Path(job["source_dir"])
    verdicts = [judge_one(check, job.get("student", ""), source_dir) for check in job["checks"]]
    sys.stdout.write(json.dumps(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
