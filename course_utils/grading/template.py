"""The warm kernel template: runs inside the grading sandbox and forks one grading kernel per submission.

Started by ``course_utils.grading.warm`` as ``python -I -m course_utils.grading.template --listen-fd N``
inside bwrap (the same sandbox as a cold kernel: no network, user ``nobody``, read-only system, empty
environment). It imports what the assignments import (torch, transformers, datasets, ipykernel, ...) once,
so each submission's kernel starts in milliseconds instead of ~10 s of imports. Nothing of a submission ever
runs in the template itself: it only

1. accepts one request at a time on an inherited listening socket whose path exists only on the grading
   host (a kernel cannot reach it: the path is not in the sandbox and every descriptor is closed after the
   fork), with the submission's declared files, its learner id, its connection file's path, the sizes of
   its folders and (passed as a descriptor) the write end of a pipe for the kernel's stderr;
2. forks a process that makes the kernel a world of its own (``course_utils.grading.world``: new user,
   mount, PID, IPC, network and UTS namespaces; fresh size-capped in-memory working folder, ``/tmp`` and
   ``/dev/shm``; no ``/proc``), writes the declared files there, and forks the kernel, which is locked down
   (no capabilities, the no-new-process filter) before it runs anything else; it starts its own session,
   closes every inherited descriptor, points stdin/stdout at /dev/null and stderr at the pipe, dies with
   the template (PR_SET_PDEATHSIG) and re-seeds numpy;
3. answers ``{"exit": code}`` when the kernel ends, and kills the kernel if the requester goes away.

Nothing a kernel writes outlives it (its folders are mounts of its own namespace) and the sandbox's root,
``/etc`` and ``/dev`` are read-only, so nothing needs emptying between kernels.
The template is not dumpable (PR_SET_DUMPABLE 0), so a kernel, which runs as the same user, can neither
read its memory nor its /proc files. jupyter_client, ipykernel and nbgrader have no pre-imported kernel that
is confined per submission, so this is written by hand (grading/README.md, "Isolation").
"""
from __future__ import annotations

import array
import json
import os
import select
import signal
import socket
import sys
from pathlib import Path

# Where the kernels work (each on a fresh tmpfs of its own; see world.enter).
WORKDIR = Path("/grading/work")
# What the assignments' notebooks import (grading/source/*): imported once here. A module that is not
# installed is skipped; the kernel then imports it itself, as a cold kernel does.
PREIMPORT = ("numpy", "torch", "transformers", "datasets", "evaluate", "course_utils", "course_utils.quiz",
             "course_utils.grading.export", "course_utils.grading.kernel")
# transformers resolves these lazily: touching them does the real import once.
PREIMPORT_ATTRIBUTES = ("AutoTokenizer", "AutoModelForSequenceClassification", "DataCollatorWithPadding",
                        "Trainer", "TrainingArguments")
MAX_REQUEST_BYTES = 256 << 20


def preimport() -> None:
    import importlib

    for name in PREIMPORT:
        try:
            importlib.import_module(name)
        except Exception as error:  # noqa: BLE001  a missing optional module: the kernel imports it itself
            print(f"template: not preloaded: {name} ({type(error).__name__})", file=sys.stderr)
    transformers = sys.modules.get("transformers")
    for name in PREIMPORT_ATTRIBUTES if transformers is not None else ():
        try:
            getattr(transformers, name)
        except Exception:  # noqa: BLE001
            pass


def _not_dumpable() -> None:
    import ctypes

    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: no /proc/<pid>/mem, no ptrace by same user


def _receive(connection: socket.socket) -> tuple[dict, int]:
    """One request: a JSON line and the stderr descriptor passed with it."""
    data, fds = b"", array.array("i")
    while not data.endswith(b"\n"):
        chunk, ancillary, _, _ = connection.recvmsg(1 << 20, socket.CMSG_SPACE(4 * fds.itemsize))
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        if not chunk:
            raise ConnectionError("the requester closed the connection before its request was complete")
        data += chunk
        if len(data) > MAX_REQUEST_BYTES:
            raise ConnectionError("request too large")
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise ConnectionError("a request must pass exactly one descriptor (the kernel's stderr)")
    return json.loads(data), fds[0]


def _write_files(files: list[dict]) -> None:
    import base64

    for item in files:
        target = (WORKDIR / item["name"]).resolve()
        if WORKDIR not in target.parents:
            raise ValueError(f"declared file outside the working directory: {item['name']!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(item["data"]))
        target.chmod(0o666)


def _run_kernel(request: dict, stderr_fd: int) -> None:
    """In the forked child: make the kernel's world, then run the grading kernel in it. Never returns."""
    code = 1
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(stderr_fd, 2)
        os.closerange(3, 65536)  # the listening socket, the request's connection, the pipe's copies
        from course_utils.grading import sandbox, world

        sandbox.die_with_parent()  # the template gone, the kernel gone
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(number, signal.SIG_DFL)
        connection_file = Path(request["connection_file"])
        world.enter(WORKDIR, int(request["workdir_mb"]), int(request["tmp_mb"]), connection_file.parent,
                    Path(request["shared_dir"]) if request.get("shared_dir") else None)
        _write_files(request.get("files", []))
        kernel = world.fork_kernel(connection_file.parent)  # from here on: the kernel, locked down
        os.chdir(WORKDIR)
        os.environ["COURSE_LEARNER"] = str(request.get("learner", ""))
        if "numpy" in sys.modules:  # a fresh process draws a new seed; a fork would share the template's
            sys.modules["numpy"].random.seed()
        from course_utils.grading.kernel import run_kernel

        run_kernel(str(connection_file), kernel.sockets_bound)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException as error:  # noqa: BLE001  anything: report it on the kernel's stderr and exit
        try:
            os.write(2, f"template kernel failed: {type(error).__name__}: {error}\n".encode())
        except OSError:
            pass
    finally:
        os._exit(code)


def _end_group(leader: int) -> None:
    """SIGKILL to the process group of the world process (it and its kernel); none left is fine."""
    try:
        os.killpg(leader, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _serve_one(connection: socket.socket) -> None:
    request, stderr_fd = _receive(connection)
    child = os.fork()
    if child == 0:
        _run_kernel(request, stderr_fd)
    os.close(stderr_fd)
    status = None
    while status is None:
        ready, _, _ = select.select([connection], [], [], 0.05)
        if ready and not connection.recv(1, socket.MSG_PEEK):  # the requester is gone: so is its kernel
            _end_group(child)
        pid, raw = os.waitpid(child, os.WNOHANG)
        if pid == child:
            status = os.waitstatus_to_exitcode(raw)
    _end_group(child)  # nothing of this kernel's world outlives it (it cannot leave the group: the filter)
    try:
        connection.sendall(json.dumps({"exit": status}).encode() + b"\n")
    except OSError:
        pass


def serve(listener: socket.socket) -> None:
    print("ready", flush=True)
    while True:
        connection, _ = listener.accept()
        with connection:
            try:
                _serve_one(connection)
            except (ConnectionError, ValueError, OSError, json.JSONDecodeError) as error:
                print(f"template: request refused: {type(error).__name__}: {error}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--listen-fd" not in argv:
        raise SystemExit("usage: python -I -m course_utils.grading.template --listen-fd N [--tasks N] [--no-preload]")
    listener = socket.socket(fileno=int(argv[argv.index("--listen-fd") + 1]))
    os.set_inheritable(listener.fileno(), False)
    _not_dumpable()
    from course_utils.grading.sandbox import LIMITS, TASKS, limit_tasks

    # in the sandbox's own user namespace: it counts this sandbox's tasks only (sandbox.apply_limits)
    limit_tasks(int(argv[argv.index("--tasks") + 1]) if "--tasks" in argv else LIMITS[TASKS][1])
    if "--no-preload" not in argv:
        preimport()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(listener)
    return 0


if __name__ == "__main__":
    sys.exit(main())
