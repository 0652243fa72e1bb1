"""What the instructor's terminal and the grading log show of text a student chose (names, notebook fields).

A control character there (an escape sequence that clears the screen or moves the cursor up over another student's
line, a newline that fakes a log line, an OSC sequence that sets the title) must never reach the terminal as such.
"""
from __future__ import annotations


def shown(name: str) -> str:
    """A file or student name as shown: with a control character in it, Python's ascii() of the whole name."""
    return name if name.isprintable() else ascii(name)


def printable(line: str) -> str:
    """A whole line as shown: each control character written as its escape (\\x1b, \\n), the rest kept as is."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in line)
