"""The warm kernel template (course_utils.grading.template): kernels forked from it are as confined as cold ones,
and one kernel leaves nothing for the next, nor can it reach the template that forks them.

Each kernel is started as nbgrader starts it: jupyter_client with the course's kernel spec, whose launcher
(course_utils.grading.sandbox) asks the template for a kernel when COURSE_GRADING_WARM_SOCKET is set.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None or not sys.platform.startswith("linux"),
                                reason="the grading sandbox needs bubblewrap on Linux (make system-packages)")

# What kernel A tries; every line stores what happened, printed as JSON at the end.
ATTACK = r"""
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
found = {}
def attempt(name, action):
    try:
        found[name] = action()
    except Exception as error:
        found[name] = type(error).__name__
template = os.getppid()
found["template"] = template
attempt("fork", lambda: [libc.fork(), ctypes.get_errno()])
attempt("kill_template", lambda: os.kill(template, 9))
attempt("kill_everyone", lambda: os.kill(-1, 9))
attempt("signal_self", lambda: os.kill(os.getpid(), 0))
attempt("template_memory", lambda: open(f"/proc/{template}/mem", "rb").read(1))
attempt("template_environ", lambda: open(f"/proc/{template}/environ", "rb").read(1))
attempt("template_socket", lambda: [os.readlink(f"/proc/{template}/fd/{fd}") for fd in os.listdir(f"/proc/{template}/fd")])
attempt("ptrace", lambda: [libc.ptrace(16, template, 0, 0), ctypes.get_errno()])
attempt("pidfd_getfd", lambda: [libc.syscall(438, 0, 3, 0), ctypes.get_errno()])
attempt("shmget", lambda: [libc.shmget(0, 4096, 0o1666), ctypes.get_errno()])
attempt("unshare", lambda: [libc.unshare(0x10000000), ctypes.get_errno()])
attempt("environment", lambda: sorted(os.environ))
attempt("learner", lambda: os.environ.get("COURSE_LEARNER"))
attempt("responses", lambda: open("quiz_responses.json").read())
attempt("random", lambda: __import__("numpy").random.rand())
for folder in ("/tmp", ".", "/dev/shm"):
    with open(os.path.join(folder, "left-by-alice"), "w") as handle:
        handle.write("for the next kernel")
os.makedirs("locked/inner", exist_ok=True)
open("locked/inner/file", "w").close()
os.chmod("locked/inner", 0)
os.chmod("locked", 0)
print(json.dumps(found))
"""
LOOK = r"""
import json, os
from pathlib import Path
# Folders leading to the sandbox's mounts (the venv or the shared kernel folder may lie under /tmp) stay.
mounts = {Path(line.split()[4]) for line in open("/proc/self/mountinfo")}
kept = {parent for point in mounts for parent in (point, *point.parents)}
print(json.dumps({"template": os.getppid(), "learner": os.environ.get("COURSE_LEARNER"),
                  "responses": open("quiz_responses.json").read(), "random": __import__("numpy").random.rand(),
                  "left": sorted(name for folder in ("/tmp", ".", "/dev/shm") for name in os.listdir(folder)
                                 if name != ".ipython" and Path(folder).resolve() / name not in kept),
                  "torch_loaded": "torch" in __import__("sys").modules}))
"""


@pytest.fixture(scope="module")
def template():
    from course_utils.grading.warm import WarmSandbox

    sandbox = WarmSandbox()
    sandbox.start()
    sandbox.wait_ready()
    yield sandbox
    sandbox.close()


def run_kernel(template, tmp_path: Path, learner: str, code: str) -> dict:
    """Start a kernel as nbgrader does (kernel spec + launcher, asking the template), run code, return its JSON."""
    import jupyter_client

    workdir = tmp_path / learner / "assignment"
    workdir.mkdir(parents=True)
    (workdir / "quiz_responses.json").write_text(f'{{"learner": "{learner}"}}')
    saved = dict(os.environ)
    os.environ.update(template.env())
    os.environ["JUPYTER_PATH"] = str(REPO / "grading" / "jupyter")
    try:
        manager = jupyter_client.KernelManager(kernel_name="course-sandbox")
        private = Path(tempfile.mkdtemp(dir=template.kernel_dir))  # as the grader's SandboxKernelManager does
        manager.transport, manager.connection_file, manager.ip = "ipc", str(private / "kernel.json"), str(
            private / "kernel-ipc")
        manager.start_kernel(cwd=str(workdir))
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        printed = []
        reply = client.execute_interactive(code, timeout=60, output_hook=lambda message: printed.append(
            message["content"].get("text", "")) if message["msg_type"] == "stream" else None)
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        template.clean()
    assert reply["content"]["status"] == "ok", reply["content"]
    return json.loads("".join(printed).strip().splitlines()[-1])


def test_a_warm_kernel_cannot_reach_the_template_nor_leave_anything_for_the_next(template, tmp_path):
    first = run_kernel(template, tmp_path, "alice", ATTACK)
    assert first["fork"] == [-1, 11], first  # EAGAIN: no new process
    for name in ("kill_template", "kill_everyone"):
        assert first[name] == "PermissionError", (name, first[name])
    assert first["signal_self"] is None  # its own signals still work (interrupts)
    for name in ("template_memory", "template_environ", "template_socket"):
        assert first[name] == "PermissionError", (name, first[name])
    for name in ("ptrace", "pidfd_getfd", "shmget", "unshare"):
        assert first[name] == [-1, 1], (name, first[name])  # EPERM
    assert first["learner"] == "alice" and "alice" in first["responses"]
    assert not [name for name in first["environment"] if name.startswith(("COURSE_GRADING", "COURSE_GRADER"))]

    second = run_kernel(template, tmp_path, "bob", LOOK)
    assert second["template"] == first["template"], "the same template forked both kernels"
    assert second["learner"] == "bob" and "bob" in second["responses"] and "alice" not in second["responses"]
    assert second["left"] == ["quiz_responses.json"], second["left"]  # nothing of alice's, in no folder
    assert second["torch_loaded"], "the template should have imported torch before the fork"
    assert second["random"] != first["random"], "each kernel draws its own numpy seed"
    assert template.alive()


def test_a_dead_template_fails_the_request_at_once_and_is_started_again(template, tmp_path):
    from course_utils.grading.warm import request_kernel

    template.stop()
    connection = tmp_path / "kernel.json"
    connection.write_text("{}")
    assert request_kernel(str(template.socket_path), connection, "carol", []) == 1
    template.ensure_running()
    assert run_kernel(template, tmp_path, "carol", LOOK)["learner"] == "carol"
