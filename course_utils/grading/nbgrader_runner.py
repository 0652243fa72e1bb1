"""nbgrader commands without nbgrader's start-up: one process imports nbgrader once and forks per command.

Importing nbgrader and nbconvert takes ~3.5 s of CPU, more than grading a small notebook. A batch
(``make autograde``) starts one ``NbgraderRunner`` per job; each command then runs in a child forked from it,
with the same isolation as ``course.nbgrader``'s subprocess: its own session (killed as a group when over
time), the course folder as its working directory, the given environment, its output in a log file.
Only the grader's own code runs here, on the grading host: a submission's code runs in the sandbox's
kernel. jupyter_client and nbgrader offer no such pre-imported runner, so it is written by hand.

Protocol on the runner's stdin/stdout: one JSON line per command
``{"args": [...], "cwd": ..., "env": {...}, "log": path, "timeout": seconds}``, answered by ``{"code": n}``
(-9: over time, killed).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PREIMPORT = ("nbgrader.apps", "nbgrader.apps.autogradeapp", "nbgrader.api", "nbconvert", "jupyter_client",
             "course_utils.grading.preprocessors")


class NbgraderRunner:
    """The host side: start the runner, run commands through it, stop it."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        self.process = subprocess.Popen([sys.executable, "-I", "-m", __name__], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd="/",
                                        env={**os.environ, "PATH": path})

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def run(self, args: list[str], cwd: Path, env: dict, timeout: float | None, log: Path) -> int:
        """Run ``nbgrader ARGS`` in cwd; its exit code (-9 over time). Output goes to ``log``."""
        if not self.alive():
            self.stop()
            self.start()
        request = {"args": list(args), "cwd": str(cwd), "env": env, "log": str(log), "timeout": timeout}
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
            reply = self.process.stdout.readline()
        except (BrokenPipeError, OSError):
            reply = b""
        if not reply:  # the runner itself died: a grader failure, reported as such in the command's log
            self.stop()
            with open(log, "a", encoding="utf-8") as handle:
                handle.write("\nGraderFault: the nbgrader runner process stopped while it ran this command\n")
            return 1
        return int(json.loads(reply)["code"])

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                stream.close()
        self.process = None


def _child(request: dict) -> None:
    """In the forked child: become the nbgrader command. Never returns."""
    code = 1
    try:
        os.setsid()
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, 65536)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["nbgrader", *request["args"]]
        from nbgrader.apps.nbgraderapp import main

        main()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException as error:  # noqa: BLE001  reported in the log, like an nbgrader crash
        import traceback

        traceback.print_exc()
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _wait(child: int, timeout: float | None) -> int:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid == child:
            return os.waitstatus_to_exitcode(status)
        if deadline is not None and time.monotonic() > deadline:
            try:
                os.killpg(child, signal.SIGKILL)  # the command and the kernel launcher it started
            except ProcessLookupError:
                pass
            os.waitpid(child, 0)
            return -9
        time.sleep(0.05)


def main() -> int:
    import importlib

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the batch runner stops this process itself
    for name in PREIMPORT:
        importlib.import_module(name)
    for line in sys.stdin.buffer:
        request = json.loads(line)
        child = os.fork()
        if child == 0:
            _child(request)
        code = _wait(child, request.get("timeout"))
        sys.stdout.write(json.dumps({"code": code}) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
