"""Number questions: a safe formula for the key, a tolerance, prompts with parameters, learners' typed numbers.

The key of a number question is a small formula over named facts and
parameters (``ceil(n_train / batch) * epochs``), evaluated here with Python's
``ast`` (numbers, names, + - * / // % **, ceil, floor, round, min, max) and
nothing else: no attribute access, no calls outside that list. Pure standard
library, so the grader can use it in a clean process.
"""
from __future__ import annotations

import ast
import math
import operator
import re

from ..errors import CourseError

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS = {"ceil": math.ceil, "floor": math.floor, "round": round, "min": min, "max": max}
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def evaluate(formula: str, values: dict) -> float:
    """The formula's value for these named values; CourseError naming what is wrong."""
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as exc:
        raise CourseError(f"{formula!r} is not a formula ({exc.msg}).") from None

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in values:
                raise CourseError(f"{formula!r} uses {node.id!r}, which is neither a fact nor a param.")
            return values[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](walk(node.operand))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
                and not node.keywords):
            return _FUNCTIONS[node.func.id](*(walk(a) for a in node.args))
        raise CourseError(f"{formula!r}: only numbers, names, + - * / // % ** and "
                          f"{', '.join(_FUNCTIONS)} are allowed.")

    try:
        return float(walk(tree))
    except ZeroDivisionError:
        raise CourseError(f"{formula!r} divides by zero for {values}.") from None


def within(value: float, key: float, answer: dict) -> bool:
    """Right when |value - key| <= tolerance (absolute) or <= relative * |key|."""
    tol = max(float(answer.get("tolerance", 0)), float(answer.get("relative", 0)) * abs(key))
    return math.isfinite(value) and abs(value - key) <= tol + 1e-12 * max(1.0, abs(key))


def placeholders(text: str) -> list[str]:
    return _PLACEHOLDER.findall(text)


def show_number(value) -> str:
    """3668 -> '3,668'; 5e-05 -> '5e-05'; 0.1 -> '0.1'."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:g}"


def render(text: str, values: dict) -> str:
    """Fill {name} placeholders with the question's values (other braces stay as they are)."""
    return _PLACEHOLDER.sub(lambda m: show_number(values[m.group(1)]) if m.group(1) in values else m.group(0), text)


_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$")


def parse_number(text) -> float | None:
    """A learner's typed number ('1,377', '1377', '3.3e-5', '68%' is not accepted) or None."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        try:
            value = float(text)
        except OverflowError:  # an int beyond a float's range (a 400-digit answer): math.isfinite raises too
            return None
        return value if math.isfinite(value) else None
    if not isinstance(text, str):
        return None
    t = text.strip().replace(" ", "").replace("\u00a0", "")
    if not t or not _NUMBER.match(t) or not re.search(r"\d", t):
        return None
    try:
        value = float(t.replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None
