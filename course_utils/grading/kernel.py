"""The IPython kernel nbgrader grades with (started inside the sandbox by course_utils.grading.launcher).

An extra layer, not the wall: verdicts are decided outside this kernel
(course_utils.grading.judge, on the plain values a test sends), so nothing here
has to hold for a grade to be right. It keeps honest output honest and makes
the obvious tricks fail loudly.

Before every cell it puts back what a submission may have patched to hide a
failing test or to fake a check: the traceback display (``showtraceback``,
``_showtraceback``, ``set_custom_exc``/``CustomTB``), ``sys.excepthook``,
input and AST transformers, IPython event callbacks added by the student,
the ``builtins`` module, ``__builtins__`` in the user namespace, and modules
that were loaded when the kernel started (numpy, json, ...).

Code running in the same process can still attack the kernel itself; that is why
the checks do not run here (grading/README.md, "What it does not cover").
ipykernel has no such mode, so this module is written by hand.
"""
from __future__ import annotations

import builtins
import os
import sys
from types import ModuleType

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
    # Values only: IPython adds and removes names (get_ipython, exit) around every cell itself.
    for name, value in _PRISTINE_BUILTINS.items():
        if _BUILTINS_DICT.get(name) is not value:
            _BUILTINS_DICT[name] = value


# Modules the hidden tests import: their attributes are put back too (torch.cuda.is_available = lambda: True,
# transformers.TrainingArguments = Fake, ...). Taken the first time they are seen before a cell.
_WATCHED_MODULES = ("_thread", "threading", "os", "_posixsubprocess", "subprocess", "json", "math", "numpy", "torch", "torch.cuda", "transformers",
                    "transformers.trainer_utils", "transformers.training_args", "course_utils.quiz",
                    "course_utils.quiz.responses")
_module_snapshots: dict = {}
_MISSING = object()
_KERNEL_STATE = ("_snapshot", "_armed", "_kernel_tasks")


import _thread
import sysconfig

_START_THREAD = _thread.start_new_thread
_GETFRAME = sys._getframe
_SITE_PACKAGES = tuple({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
_STDLIB = sysconfig.get_paths()["stdlib"]
_INFRASTRUCTURE = ("/IPython/", "/ipykernel/")  # they run whatever callable they are given


def _started_by_a_library() -> bool:
    """Whether the first caller outside the standard library and IPython/ipykernel is a library."""
    frame = _GETFRAME(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if any(part in filename for part in _INFRASTRUCTURE):
            pass
        elif filename.startswith(_SITE_PACKAGES):
            return True
        elif not filename.startswith(_STDLIB):
            return False
        frame = frame.f_back
    return True


def _guarded(original, what: str):
    def guarded(*args, **kwargs):
        if _started_by_a_library():
            return original(*args, **kwargs)
        raise RuntimeError(f"the grading kernel runs submissions without starting {what}")

    return guarded


def _guarded_thread_start(function, args, kwargs=None):
    """Threads started by a library (transformers' weight loading pool, pyzmq, tqdm) run; a thread the
    submission starts itself (directly or through the standard library) could re-patch the hooks
    between the restore and a failing test, so it is refused."""
    if not _started_by_a_library():
        raise RuntimeError("the grading kernel runs submissions without starting threads")
    return _START_THREAD(function, args, kwargs) if kwargs else _START_THREAD(function, args)


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
        # Objects whose methods decide what a cell reports: an instance attribute shadowing a method
        # (kernel.session.send = ..., shell.displayhook.__call__ ...) is removed, handler tables restored.
        self.instances = [obj for obj in (kernel, shell, kernel.session, shell.displayhook, shell.display_pub,
                                          getattr(kernel, "iopub_socket", None)) if obj is not None]
        self.instance_dicts = {id(obj): dict(vars(obj)) for obj in self.instances if hasattr(obj, "__dict__")}
        self.handlers = {name: dict(getattr(kernel, name)) for name in ("shell_handlers", "control_handlers")
                         if isinstance(getattr(kernel, name, None), dict)}


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
    _armed = False
    _kernel_tasks: set | None = None

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
                if not name.startswith("__") and name not in _KERNEL_STATE and vars(cls).get(name) is not value:
                    setattr(cls, name, value)
        for cls, attributes in snap.own_classes.items():
            for name, value in attributes.items():
                if not name.startswith("__") and name not in _KERNEL_STATE and vars(cls).get(name) is not value:
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
        for obj in snap.instances:
            saved = snap.instance_dicts.get(id(obj))
            if saved is None:
                continue
            namespace = vars(obj)
            for key in [k for k in namespace if k not in saved and callable(getattr(type(obj), k, None))]:
                del namespace[key]
            for key, value in saved.items():
                if callable(value) and namespace.get(key, _MISSING) is not value:
                    namespace[key] = value
        for name, table in snap.handlers.items():
            current = getattr(self, name)
            if current is not None and current != table:
                current.clear()
                current.update(table)
        for name, module in snap.modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
        shell.user_ns["__builtins__"] = builtins
        shell.user_ns["__builtin__"] = builtins
        sys.settrace(None)
        sys.setprofile(None)
        import threading

        threading.settrace(None)
        threading.setprofile(None)
        for name in _WATCHED_MODULES:
            module = sys.modules.get(name)
            saved = _module_snapshots.get(name)
            if saved is None or saved[0] is not module:
                continue
            namespace = vars(module)
            for key, value in saved[1].items():
                if namespace.get(key, _MISSING) is not value:
                    namespace[key] = value
            if type(module) is not ModuleType:  # a lazy module (transformers): it resolves names again
                for key in [k for k, v in namespace.items() if k not in saved[1] and type(v) is not ModuleType]:
                    del namespace[key]

    def _arm(self) -> None:
        """Before a cell: block new threads (once), remember watched modules seen for the first time."""
        if not GradingKernel._armed:  # before the first cell: the kernel's own threads already run
            GradingKernel._armed = True
            import threading

            _thread.start_new_thread = _thread.start_new = threading._start_new_thread = _guarded_thread_start
            import os
            import _posixsubprocess

            for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system", "execv", "execve"):
                if hasattr(os, name):  # a fork bomb, or a helper process outside these checks
                    setattr(os, name, _guarded(getattr(os, name), "processes"))
            _posixsubprocess.fork_exec = _guarded(_posixsubprocess.fork_exec, "processes")
            import subprocess

            subprocess._fork_exec = _posixsubprocess.fork_exec  # bound at import time in 3.11
        for name in _WATCHED_MODULES:
            module = sys.modules.get(name)
            if module is not None and name not in _module_snapshots:
                _module_snapshots[name] = (module, dict(vars(module)))
        try:  # asyncio tasks a submission scheduled on the kernel's loop (they could re-patch, too)
            import asyncio

            for task in asyncio.all_tasks():
                if task not in self._kernel_tasks and task is not asyncio.current_task():
                    task.cancel()
        except RuntimeError:
            pass

    async def do_execute(self, code, silent, store_history=True, user_expressions=None, allow_stdin=False,
                         **kwargs):
        if GradingKernel._kernel_tasks is None:
            import asyncio

            GradingKernel._kernel_tasks = set(asyncio.all_tasks())
        self._restore()
        self._arm()
        try:
            return await IPythonKernel.do_execute(self, code, silent, store_history, user_expressions, allow_stdin,
                                                  **kwargs)
        finally:
            self._restore()  # the kernel's own code after the cell must not run on patched builtins


def run_kernel(connection_file: str, sockets_bound) -> None:
    """Run the grading kernel on ``connection_file``; ``sockets_bound()`` is called once its sockets exist and
    before it reads the first message (course_utils.grading.world makes the connection folder read-only then)."""
    app = IPKernelApp.instance(kernel_class=GradingKernel)
    # The fixed, read-only IPython folder of the sandbox (sandbox.CONFIG_DIRS), named here so IPython does not
    # swap it for a writable temporary one.
    # No history database either: it would be written there.
    app.initialize(["-f", connection_file, f"--ipython-dir={os.environ['IPYTHONDIR']}", "--HistoryManager.enabled=False"])
    sockets_bound()
    app.start()
