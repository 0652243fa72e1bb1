"""Warm grading sandboxes: one long-lived kernel template per grading job (course_utils.grading.template).

``WarmSandbox`` starts the template in bwrap (``sandbox.bwrap_command``); the kernel launcher
(``course_utils.grading.launcher``) asks it for a kernel with ``request_kernel`` when ``COURSE_GRADING_WARM_SOCKET`` names its
socket, else starts a template of its own that serves one kernel without pre-importing anything (the cold
path). Either way the kernel runs in a world made for it alone (``course_utils.grading.world``).

The socket is made here, on the grading host, in a private folder that is not mounted in the sandbox; the
template gets only its listening descriptor. The kernels' connection files and ipc sockets live in
``kernel_dir``, the one folder the template shares with the host; each kernel sees only its own
sub-folder, read-only once its sockets exist, and the host empties the folder after every submission.
"""
from __future__ import annotations

import array
import base64
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course_utils.grading import sandbox

TEMPLATE_MODULE = "course_utils.grading.template"
READY_TIMEOUT_S = 180


def enabled() -> bool:
    """Warm kernels unless COURSE_GRADING_WARM=0 (then every submission starts a cold sandbox)."""
    return os.environ.get("COURSE_GRADING_WARM", "1").strip().lower() not in {"0", "false", "no", "off"}


class WarmSandbox:
    """One kernel template in its own sandbox; serves one kernel at a time."""

    def __init__(self, preload: bool = True, kernel_dir: Path | None = None) -> None:
        """``preload``: import torch, transformers, ... once (a warm template); without it the template
        serves one kernel that imports what it needs (the cold path). ``kernel_dir``: the folder shared with
        the sandbox for connection files and ipc sockets (default: one of its own)."""
        self.preload = preload
        self.folder = Path(tempfile.mkdtemp(prefix="course-warm-"))
        self.control_dir = self.folder / "control"  # host only: never mounted in the sandbox
        self.control_dir.mkdir(mode=0o700)
        self.owns_kernel_dir = kernel_dir is None
        self.kernel_dir = self.folder / "kernels" if kernel_dir is None else kernel_dir
        self.kernel_dir.mkdir(mode=0o700, exist_ok=True)  # the grader's alone: bwrap's nobody is its own uid
        self.socket_path = self.control_dir / "template.sock"
        self.log_path = self.folder / "template.log"
        self.process: subprocess.Popen | None = None
        self.ready = False

    def env(self) -> dict[str, str]:
        """What an nbgrader process needs so its kernels come from this template."""
        return {sandbox.WARM_SOCKET_VARIABLE: str(self.socket_path), sandbox.KERNEL_DIR_VARIABLE: str(self.kernel_dir)}

    def start(self) -> None:
        self.ready = False
        if self.socket_path.exists():
            self.socket_path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.socket_path))
            listener.listen(4)
            argv = [str(Path(sys.prefix) / "bin" / "python"), "-I", "-m", TEMPLATE_MODULE,
                    "--listen-fd", str(listener.fileno()), "--tasks", str(sandbox.task_limit()),
                    *([] if self.preload else ["--no-preload"])]
            command = sandbox.bwrap_command(Path("/grading/work"), self.kernel_dir, argv)
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                stderr=log, pass_fds=[listener.fileno()],
                                                preexec_fn=sandbox.apply_limits, env={"PATH": "/usr/bin:/bin"},
                                                cwd=sandbox.FIXED_CWD)
        finally:
            listener.close()  # the template holds the only copy: if it dies, requests fail at once

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Block until the template has imported everything (it prints "ready"); RuntimeError if it died."""
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, left))
            chunk = os.read(self.process.stdout.fileno(), 64) if ready else b""
            if not chunk:
                self.stop()
                tail = self.log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise RuntimeError(f"the warm grading sandbox did not start within {timeout:.0f} s: {tail[0][:300]}")
            line += chunk
        self.ready = True

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ensure_running(self) -> None:
        """Start the template (again, if it died) and wait until it is ready."""
        if not self.alive():
            self.stop()
            self.start()
        if not self.ready:
            self.wait_ready()

    def clean(self) -> None:
        """Empty the shared folder (jupyter_client's files of the last kernel) for the next submission."""
        if not self.owns_kernel_dir:
            return
        for path in list(self.kernel_dir.iterdir()):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # bwrap --die-with-parent takes the template and its kernel with it
            self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def request_kernel(socket_path: str, connection_file: Path, learner: str, files: list[tuple[Path, str]]) -> int:
    """Ask the template for a kernel (run by the kernel launcher on the host); its exit code.

    ``files``: (path on the host, name in the working directory). The kernel's stderr comes back through a
    pipe and only its head is kept, as for a cold kernel."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(socket_path)
    except OSError as error:
        print(f"the warm grading sandbox is not running ({error}); the grader will report this submission "
              "as not graded", file=sys.stderr)
        return 1
    request = {"connection_file": str(connection_file), "learner": learner, "workdir_mb": sandbox.WORKDIR_MB,
               "tmp_mb": sandbox.TMP_MB, "shared_dir": os.environ.get(sandbox.KERNEL_DIR_VARIABLE, ""),
               "files": [{"name": name, "data": base64.b64encode(path.read_bytes()).decode()} for path, name in files]}
    payload = json.dumps(request).encode() + b"\n"
    read_end, write_end = os.pipe()
    reply = b""
    try:
        with connection:
            connection.sendmsg([payload[:1]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [write_end]))])
            connection.sendall(payload[1:])
            os.close(write_end)
            write_end = None
            sandbox.relay_head(read_end)
            while not reply.endswith(b"\n"):
                chunk = connection.recv(4096)
                if not chunk:
                    break
                reply += chunk
    except OSError as error:
        print(f"the warm grading sandbox failed ({error})", file=sys.stderr)
    finally:
        os.close(read_end)
        if write_end is not None:
            os.close(write_end)
    if not reply.endswith(b"\n"):
        print("the warm grading sandbox stopped while the kernel ran", file=sys.stderr)
        scratch = os.environ.get(sandbox.SCRATCH_VARIABLE)
        if scratch and os.path.isdir(scratch):
            Path(scratch, sandbox.TEMPLATE_LOST).touch()
        return 1
    return int(json.loads(reply)["exit"])
