"""The student's-kernel half of a hidden test: send plain values to the outside check.

``send(name=value, ...)`` converts each value to JSON-plain data (bool, int,
float, str, None, lists and str-keyed dicts of them; numpy and torch arrays
become nested lists) and publishes it as one display message of the MIME type
``MIME``. The grader reads exactly one such message from the test cell's output
and gives it to the check (course_utils.grading.judge). A submission can patch
this function: then it only changes which values it claims, and the check still
decides on plain values alone.
"""
from __future__ import annotations

import json

MIME = "application/vnd.course-grading.values+json"
MAX_BYTES = 1 << 20


def plain(value, depth: int = 0):
    """JSON-plain copy of value; TypeError for anything else (a check asks for values, not objects)."""
    if depth > 20:
        raise TypeError("send(): values nested deeper than 20 levels")
    if value is None or type(value) in (bool, str):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int.__index__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    module = type(value).__module__ or ""
    if module.startswith(("numpy", "torch")) and hasattr(value, "tolist"):
        return plain(value.tolist(), depth + 1)
    if isinstance(value, (list, tuple)):
        return [plain(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {str.__str__(key) if isinstance(key, str) else str(key): plain(item, depth + 1)
                for key, item in value.items()}
    raise TypeError(f"send(): {type(value).__name__} is not a plain value (use lists, numbers, strings)")


def type_name(obj) -> str:
    """'module.QualifiedName' of an object's type, for checks that ask what kind of object was built."""
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def send(**values) -> None:
    from IPython.display import publish_display_data

    payload = plain(values)
    text = json.dumps(payload)
    if len(text) > MAX_BYTES:
        raise ValueError(f"send(): {len(text)} bytes of values; the grader takes at most {MAX_BYTES}")
    publish_display_data({MIME: payload, "text/plain": "(values sent to the grader)"})
