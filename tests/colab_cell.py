"""Run the lessons' Colab cell as on Colab, in a real IPython shell, and record what it asks for.

A fresh Python process (the interpreter given, with its own IPython) makes an InteractiveShell, puts a
stand-in `google.colab` in sys.modules (its `output.enable_custom_widget_manager` counts its calls) and
replaces the shell's `system` with a recorder, so %pip builds its command line as it does on Colab,
after IPython's own {variable} expansion, and nothing is installed.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import sys

_PROBE = r'''
import json, sys, types
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
commands, widget_managers = [], []
shell.system = commands.append
colab = types.ModuleType("google.colab")
colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: widget_managers.append(1))
google = types.ModuleType("google")
google.colab = colab
sys.modules.update({"google": google, "google.colab": colab})
result = shell.run_cell(sys.stdin.read())
print("\n" + json.dumps({"ok": result.success, "commands": commands, "widget_managers": len(widget_managers)}))
'''


def run_colab_cell(cell: str, python: str = sys.executable) -> dict:
    """{"ok": the cell ran, "pip": [pip's arguments after `python -m pip`] per %pip, "widget_managers": calls}."""
    done = subprocess.run([python, "-c", _PROBE], input=cell, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    pip = []
    for command in found.pop("commands"):
        argv = shlex.split(command)
        assert argv[1:3] == ["-m", "pip"], f"not a pip command: {command}"
        pip.append(argv[3:])
    return {**found, "pip": pip}
