"""The IPython kernel nbgrader grades with (started by course_utils.grading_sandbox, grading/README.md).

Before every cell it puts back what a submission may have patched to hide a
failing test or to fake a check: the traceback display (``showtraceback``,
``_showtraceback``, ``set_custom_exc``/``CustomTB``), ``sys.excepthook``,
input and AST transformers, IPython event callbacks added by the student,
the ``builtins`` module, ``__builtins__`` in the user namespace, and modules
that were loaded when the kernel started (numpy, json, ...). Hidden tests
then use ``import builtins as _b; _b.type(x) is _b.int``: exact types, so an
object that fakes ``==``, truthiness or attributes fails.

This raises the bar; it is not a proof: code running in the same process can
still attack the kernel itself (see grading/README.md, "What it does not cover").
ipykernel has no such mode, so this module is written by hand.
"""
from __future__ import annotations

import builtins
import sys

import numpy  # noqa: F401  loaded before any student code so it is restored if replaced
import json  # noqa: F401
import math  # noqa: F401
from ipykernel.ipkernel import IPythonKernel
from ipykernel.kernelapp import IPKernelApp
from ipykernel.zmqshell import ZMQInteractiveShell
from IPython.core.interactiveshell import InteractiveShell
from traitlets import Type

# Taken when the kernel module loads, before any student code: restored first, with no builtin call.
_BUILTINS_DICT = builtins.__dict__
_PRISTINE_BUILTINS = _BUILTINS_DICT.copy()


def _restore_builtins() -> None:
    for name in [name for name in _BUILTINS_DICT if name not in _PRISTINE_BUILTINS]:
        del _BUILTINS_DICT[name]
    _BUILTINS_DICT.update(_PRISTINE_BUILTINS)


_GUARDED_CLASSES = (InteractiveShell, ZMQInteractiveShell, IPythonKernel)
_SHELL_ATTRIBUTES = ("showtraceback", "_showtraceback", "showsyntaxerror", "showindentationerror",
                     "run_cell", "run_cell_async", "run_code", "run_ast_nodes", "transform_cell",
                     "should_run_async", "_run_cell", "set_custom_exc", "excepthook", "CustomTB")


class _Snapshot:
    """What the kernel looked like before the first cell ran."""

    def __init__(self, kernel: "GradingKernel") -> None:
        shell = kernel.shell
        self.modules = dict(sys.modules)
        self.classes = {cls: dict(vars(cls)) for cls in _GUARDED_CLASSES}
        self.own_classes = {cls: dict(vars(cls)) for cls in (GradingKernel, GradingShell)}
        self.input_cleanup = list(shell.input_transformers_cleanup)
        self.input_post = list(shell.input_transformers_post)
        self.ast = list(shell.ast_transformers)
        self.events = {name: list(callbacks) for name, callbacks in shell.events.callbacks.items()}
        self.excepthook = sys.excepthook
        self.displayhook = sys.displayhook


class GradingShell(ZMQInteractiveShell):
    """Shell that restores the machinery right after each top-level statement of a cell, too."""

    async def run_code(self, code_obj, result=None, *, async_=False):
        try:
            return await ZMQInteractiveShell.run_code(self, code_obj, result, async_=async_)
        finally:
            if self.kernel is not None and GradingKernel._snapshot is not None:
                self.kernel._restore()


class GradingKernel(IPythonKernel):
    """IPythonKernel that restores the grading-relevant machinery before and after each cell."""

    implementation = "course-grading"
    shell_class = Type(GradingShell)
    _snapshot: _Snapshot | None = None

    def _restore(self) -> None:
        _restore_builtins()
        snap = GradingKernel._snapshot or _Snapshot(self)
        GradingKernel._snapshot = snap
        shell = self.shell
        for cls, attributes in snap.classes.items():
            for name in list(vars(cls)):
                if name not in attributes and not name.startswith("__"):
                    try:
                        delattr(cls, name)
                    except (AttributeError, TypeError):
                        pass
            for name, value in attributes.items():
                if not name.startswith("__") and vars(cls).get(name) is not value:
                    setattr(cls, name, value)
        for cls, attributes in snap.own_classes.items():
            for name, value in attributes.items():
                if not name.startswith("__") and vars(cls).get(name) is not value:
                    setattr(cls, name, value)
        for name in _SHELL_ATTRIBUTES:
            shell.__dict__.pop(name, None)
        shell.custom_exceptions = ()
        shell.CustomTB = None
        shell.input_transformers_cleanup[:] = snap.input_cleanup
        shell.input_transformers_post[:] = snap.input_post
        shell.ast_transformers[:] = snap.ast
        for name, callbacks in snap.events.items():
            shell.events.callbacks[name] = list(callbacks)
        sys.excepthook = snap.excepthook
        sys.displayhook = snap.displayhook
        for name, module in snap.modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
        shell.user_ns["__builtins__"] = builtins
        shell.user_ns["__builtin__"] = builtins

    async def do_execute(self, code, silent, store_history=True, user_expressions=None, allow_stdin=False,
                         **kwargs):
        self._restore()
        try:
            return await IPythonKernel.do_execute(self, code, silent, store_history, user_expressions, allow_stdin,
                                                  **kwargs)
        finally:
            self._restore()  # the kernel's own code after the cell must not run on patched builtins


if __name__ == "__main__":
    IPKernelApp.launch_instance(kernel_class=GradingKernel)
