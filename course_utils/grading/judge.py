"""The outside half of a hidden test: judge plain values in a clean process.

Run by the grader as ``python -I -m course_utils.grading.judge`` (an isolated
interpreter, working directory the assignment's source folder). It reads one JSON
job on standard input::

    {"student": "alice", "source_dir": "...", "checks": [
        {"cell": "ex1_pair", "code": "<check source>", "data": {...}, "problem": null}, ...]}

and writes one JSON list of verdicts ``{"cell", "ok", "message"}``. Each check runs
in a fresh namespace holding ``data`` (the values the student's kernel sent),
``student_id`` and ``source_dir`` (for instructor-only files such as an exam key).
A ``problem`` (no values sent, an error in the student's code) fails the cell
without running its check. Nothing here imports student code: the values are JSON.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def _strings(value, found: set, depth: int = 0) -> set:
    if isinstance(value, str):
        found.add(value)
    elif isinstance(value, dict) and depth < 64:
        for key, item in value.items():
            _strings(key, found, depth + 1)
            _strings(item, found, depth + 1)
    elif isinstance(value, list) and depth < 64:
        for item in value:
            _strings(item, found, depth + 1)
    return found


def scrub(message: str, data, code: str) -> str:
    """The check's message without any text the student's kernel sent (an f-string of the check may quote
    it): the kernel saw the hidden export code, so its strings must not reach feedback. A string the check
    itself contains (an expected class name, "epoch") stays."""
    for text in sorted(_strings(data, set()), key=len, reverse=True):
        if len(text) >= 3 and text not in code and text in message:
            message = message.replace(text, "…")
    return message


def judge_one(check: dict, student: str, source_dir: Path) -> dict:
    cell = check["cell"]
    if check.get("problem"):
        return {"cell": cell, "ok": False, "message": check["problem"]}
    namespace = {"data": check.get("data"), "student_id": student, "source_dir": source_dir,
                 "__name__": "course_check"}
    try:
        exec(compile(check["code"], f"<check {cell}>", "exec"), namespace)
    except AssertionError as failed:
        message = scrub(str(failed), check.get("data"), check["code"]) or "the hidden test failed"
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
