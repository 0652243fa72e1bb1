"""The grading kernel's launcher: what nbgrader starts for each submission (kernel spec course-sandbox).

``grading/jupyter/kernels/course-sandbox/kernel.json`` runs ``python -I -m course_utils.grading.launcher -f
{connection_file}`` on the grading host. The launcher moves to a fixed working directory, picks the files the
kernel may see (``sandbox.sandbox_files``) and asks a kernel template for the kernel: the batch's warm one
(``warm``) when ``COURSE_GRADING_WARM_SOCKET`` names it, else one of its own. The sandbox itself (bwrap, limits,
seccomp) is ``course_utils.grading.sandbox``; the templates are ``course_utils.grading.warm``. Kept apart so
that sandbox and warm never import each other in a circle (warm uses sandbox; the launcher uses both).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from course_utils.grading import warm
from course_utils.grading.sandbox import (FIXED_CWD, WARM_SOCKET_VARIABLE, die_with_parent,
                                          sandbox_files)


def _connection_file(argv: list[str]) -> Path:
    if "-f" not in argv or argv.index("-f") + 1 >= len(argv):
        raise SystemExit("usage: python -I -m course_utils.grading.launcher -f CONNECTION_FILE")
    return Path(argv[argv.index("-f") + 1]).resolve()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    workdir = Path.cwd().resolve()  # the autograded submission's folder (jupyter_client's cwd)
    os.chdir(FIXED_CWD)
    parent = os.getppid()
    die_with_parent()
    if os.getppid() != parent:  # the parent died before prctl took effect
        return 1
    connection_file = _connection_file(argv)
    json.loads(connection_file.read_text())  # fail early on a broken connection file
    # The folder and the connection file (the HMAC key) stay the grader's alone (0700, as nbgrader's kernel
    # manager made them): bwrap's "nobody" is the grader's own uid outside, so the kernel needs no more. Opened
    # to others, any local user could read the key and bind the ipc sockets first (attack of 2026-12-06).
    # jupyter_client starts the kernel in autograded/<student>/<assignment>/: the student's id is the parent's name.
    learner, files = workdir.parent.name, sandbox_files(workdir)
    declared = [(path, str(path.relative_to(workdir))) for path in files]
    warm_socket = os.environ.get(WARM_SOCKET_VARIABLE)
    if warm_socket:  # a kernel from the batch's warm template
        return warm.request_kernel(warm_socket, connection_file, learner, declared)
    # Cold: a template of its own that imports nothing ahead and serves this one kernel, so both paths give
    # the kernel the same world (course_utils.grading.world).
    template = warm.WarmSandbox(preload=False, kernel_dir=connection_file.parent)
    try:
        template.ensure_running()
        return warm.request_kernel(str(template.socket_path), connection_file, learner, declared)
    except RuntimeError as error:
        print(f"the grading sandbox did not start: {error}", file=sys.stderr)
        return 1
    finally:
        template.close()


if __name__ == "__main__":
    sys.exit(main())
