"""Hidden tests in two parts: what runs in the student's kernel, and what judges it elsewhere.

A test cell of a source notebook reads::

    # Exercise 1: ... (2 points)
    <visible test: the student sees it and runs it>
    ### BEGIN HIDDEN TESTS
    from course_utils.grading.export import send
    send(ids=tokenize_function(pairs[:3])["input_ids"])      # student's kernel: plain values only
    ### CHECK
    assert data["ids"] == [[101, ...]], "message for the student"   # a separate clean process
    ### END HIDDEN TESTS

Only the part above ``### CHECK`` is ever sent to the student's kernel; the part
below it runs in ``course_utils.grading.judge`` on the values sent, parsed from
JSON, so no object or code of the student's takes part in the verdict. Nothing
secret (expected values) belongs above ``### CHECK``.
"""
from __future__ import annotations

HIDDEN_BEGIN, HIDDEN_END, CHECK_MARKER = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS", "### CHECK"


def split_test(source: str) -> tuple[str, str]:
    """(what the student's kernel runs, the outside check) of one test cell's source."""
    kernel, check, in_check = [], [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == CHECK_MARKER:
            in_check = True
            continue
        if stripped == HIDDEN_END:
            in_check = False
        (check if in_check else kernel).append(line)
    return "\n".join(kernel), "\n".join(check)


def visible_part(source: str) -> str:
    """The lines before the hidden region (what the student was given)."""
    return source.split(HIDDEN_BEGIN, 1)[0]


def hidden_part(source: str) -> str:
    """The hidden region (export and check), without its markers."""
    if HIDDEN_BEGIN not in source:
        return ""
    region = source.split(HIDDEN_BEGIN, 1)[1].split(HIDDEN_END, 1)[0]
    return "\n".join(line for line in region.splitlines() if line.strip() != CHECK_MARKER)
