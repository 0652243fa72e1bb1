"""The warm kernel template (course_utils.grading.template): each kernel forked from it lives in a world of its own
(course_utils.grading.world): it leaves nothing for the next, and cannot reach the template that forks them.

Each kernel is started as nbgrader starts it: jupyter_client with the course's kernel spec, whose launcher
(course_utils.grading.launcher) asks the template for a kernel when COURSE_GRADING_WARM_SOCKET is set.
"""
from __future__ import annotations

import contextlib
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

# What kernel A tries; every line stores what happened, printed as JSON at the end. The attacks of the
# second attack round (issue 21): files for the next kernel in every folder (IPython startup files included),
# stopping or starving the template by any call that names a process, unbounded writes.
ATTACK = r"""
import ctypes, fcntl, json, os, resource, signal
from ipykernel.kernelapp import IPKernelApp
libc = ctypes.CDLL(None, use_errno=True)
found = {}
def attempt(name, action):
    try:
        found[name] = action()
    except Exception as error:
        found[name] = type(error).__name__
found["own_pid"], found["parent"] = os.getpid(), os.getppid()
attempt("fork", lambda: [libc.fork(), ctypes.get_errno()])
attempt("kill_everyone", lambda: os.kill(-1, 9))
attempt("signal_self", lambda: os.kill(os.getpid(), 0))
def visible():  # every process id this kernel can name (a read-only call the filter does not refuse)
    seen = []
    for pid in range(2, 1 << 16):
        try:
            seen.append([pid, os.getsid(pid), os.getpgid(pid)])
        except OSError:
            pass
    return seen
mine = [os.getsid(0), os.getpgid(0)]
attempt("visible_pids", lambda: [found for found in visible() if found[1:] != mine])  # not its own threads
own_threads = {pid for pid, *ids in visible() if ids == mine}
others = [pid for pid in range(2, 1 << 16) if pid not in own_threads]
def stop_by_sigio():  # SIGSTOP through F_SETOWN/F_SETSIG and O_ASYNC, to every process id
    read, write = os.pipe()
    fcntl.fcntl(read, fcntl.F_SETFL, os.O_ASYNC | os.O_NONBLOCK)
    fcntl.fcntl(read, 10, signal.SIGSTOP)  # F_SETSIG
    owned = []
    for pid in others + [-pid for pid in range(2, 1 << 12)]:
        try:
            fcntl.fcntl(read, fcntl.F_SETOWN, pid)
            owned.append(pid)
            os.write(write, b"x")
        except OSError:
            pass
    return owned
attempt("sigio_owners", stop_by_sigio)
def limit_others():  # prlimit, setpriority, sched_setaffinity on every other process id
    done = []
    for pid in others:
        for name, call in (("prlimit", lambda: resource.prlimit(pid, resource.RLIMIT_AS, (1 << 20, 1 << 20))),
                           ("setpriority", lambda: os.setpriority(os.PRIO_PROCESS, pid, 19)),
                           ("affinity", lambda: os.sched_setaffinity(pid, {0}))):
            try:
                call()
                done.append([name, pid])
            except OSError:
                pass
    return done
attempt("limited", limit_others)
attempt("renice_user", lambda: os.setpriority(os.PRIO_USER, os.getuid(), 19))
attempt("renice_group", lambda: os.setpriority(os.PRIO_PGRP, 0, 19))
attempt("proc", lambda: os.listdir("/proc"))
# kernel keyrings are not namespaced: a key's serial would reach the host user's keyrings
attempt("add_key", lambda: [libc.syscall(248, b"user", b"spy", b"x", 1, -4), ctypes.get_errno()])  # @u
attempt("keyctl", lambda: [libc.syscall(250, 0, -4, 0), ctypes.get_errno()])  # KEYCTL_GET_KEYRING_ID @u
attempt("io_uring", lambda: [libc.syscall(425, 8, ctypes.create_string_buffer(120)), ctypes.get_errno()])
attempt("setsid", lambda: [libc.setsid(), ctypes.get_errno()])
attempt("keep_living", lambda: [libc.prctl(1, 0, 0, 0, 0), ctypes.get_errno()])  # PR_SET_PDEATHSIG 0
attempt("unshare", lambda: [libc.unshare(0x10000000), ctypes.get_errno()])
attempt("mount", lambda: [libc.mount(b"tmpfs", b"/etc", b"tmpfs", 0, None), ctypes.get_errno()])
attempt("environment", lambda: sorted(os.environ))
attempt("learner", lambda: os.environ.get("COURSE_LEARNER"))
attempt("responses", lambda: open("quiz_responses.json").read())
attempt("random", lambda: __import__("numpy").random.rand())
written = {}
startup = os.path.join(os.environ["IPYTHONDIR"], "profile_default", "startup", "00-spy.py")
connection = os.path.dirname(IPKernelApp.instance().connection_file)
for path in ("/tmp/left", "left", "/dev/shm/left", "/etc/ipython/startup/00-spy.py", startup, "/left", "/etc/left",
             "/dev/left", "/grading/left", os.path.join(connection, "left")):
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as handle:
            handle.write("import os; os.environ['SPY'] = 'alice'")
        written[path] = "written"
    except OSError as error:
        written[path] = type(error).__name__
found["written"] = written
def flood(path, megabytes):  # how much an unbounded writer gets before the folder's cap stops it
    block, done = b"\0" * (1 << 20), 0
    try:
        with open(path, "wb") as handle:
            for _ in range(megabytes):
                handle.write(block)
                handle.flush()
                done += 1
    except OSError as error:
        return [done, type(error).__name__]
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    return [done, None]
found["flood_shm"] = flood("/dev/shm/flood", 200)
found["flood_connection"] = flood(os.path.join(connection, "flood"), 2)
os.makedirs("locked/inner", exist_ok=True)
open("locked/inner/file", "w").close()
os.chmod("locked/inner", 0)
os.chmod("locked", 0)
print(json.dumps(found))
"""
LOOK = r"""
import json, os, sys
def everything(folder):
    found = []
    for root, dirs, files in os.walk(folder):
        found += [os.path.join(root, name) for name in files]
    return found
print(json.dumps({"learner": os.environ.get("COURSE_LEARNER"), "spy": os.environ.get("SPY"),
                  "responses": open("quiz_responses.json").read(), "random": __import__("numpy").random.rand(),
                  "left": sorted(path for folder in ("/tmp", ".", "/dev/shm", "/etc", "/grading", "/dev")
                                 for path in everything(folder) if os.path.basename(path) in ("left", "00-spy.py")
                                 or folder in (".", "/dev/shm")),
                  "torch_loaded": "torch" in sys.modules}))
"""


def template_process(template) -> int:
    """The template's Python process on this host (a descendant of its bwrap)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                # bwrap's own processes carry the template's command line too: only the Python one counts
                if b"course_utils.grading.template" in argv and not argv[0].endswith(b"bwrap"):
                    pid = int(entry.name)
                    ancestor = pid
                    while ancestor > 1:
                        ancestor = int((Path("/proc") / str(ancestor) / "stat").read_text().rsplit(")", 1)[1].split()[1])
                        if ancestor == template.process.pid:
                            return pid
            except (OSError, ValueError):
                continue
    raise AssertionError("no template process found")


def health(pid: int) -> dict:
    stat = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    limits = [line for line in (Path("/proc") / str(pid) / "limits").read_text().splitlines()
              if line.startswith("Max address space")]
    # stopped or not (T: SIGSTOP, t: traced); running or sleeping varies from one look to the next
    return {"stopped": stat[0] in "Tt", "nice": stat[16], "address_space": limits,
            "affinity": sorted(os.sched_getaffinity(pid))}


@pytest.fixture(scope="module")
def template():
    from course_utils.grading.warm import WarmSandbox

    sandbox = WarmSandbox()
    sandbox.start()
    sandbox.wait_ready()
    yield sandbox
    sandbox.close()


@contextlib.contextmanager
def kernel_from(template, tmp_path: Path, learner: str):
    """A kernel started as nbgrader starts it (kernel spec + launcher, asking the template): (manager, client)."""
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
        yield manager, client
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        template.clean()


def run_kernel(template, tmp_path: Path, learner: str, code: str) -> dict:
    """Run code in a kernel from the template; the JSON it printed last."""
    printed = []
    with kernel_from(template, tmp_path, learner) as (_, client):
        reply = client.execute_interactive(code, timeout=60, output_hook=lambda message: printed.append(
            message["content"].get("text", "")) if message["msg_type"] == "stream" else None)
    assert reply["content"]["status"] == "ok", reply["content"]
    return json.loads("".join(printed).strip().splitlines()[-1])


def test_a_warm_kernel_cannot_reach_the_template_nor_leave_anything_for_the_next(template, tmp_path):
    template_pid = template_process(template)
    before = health(template_pid)
    first = run_kernel(template, tmp_path, "alice", ATTACK)
    assert first["own_pid"] == 1 and first["parent"] == 0, "process 1 of a PID namespace of its own"
    assert first["fork"] == [-1, 11], first  # EAGAIN: no new process
    assert first["kill_everyone"] == "PermissionError", first["kill_everyone"]
    assert first["signal_self"] is None  # its own signals still work (interrupts)
    # No other process has an id the kernel can name: every call that names one misses, whatever the call.
    assert first["visible_pids"] == [], first["visible_pids"][:20]
    # F_SETOWN takes a process group id that names no group (the kernel does not check), but none of this
    # namespace's reaches the template: its health below says whether SIGSTOP arrived.
    assert [pid for pid in first["sigio_owners"] if pid > 0] == [], first["sigio_owners"][:20]
    assert first["limited"] == [], first["limited"][:20]
    assert sorted(first["proc"]) == ["cpuinfo", "meminfo"], "no /proc of the template's PID namespace"
    for name in ("unshare", "mount", "add_key", "keyctl", "io_uring", "setsid", "keep_living"):
        assert first[name] == [-1, 1], (name, first[name])  # EPERM
    assert first["learner"] == "alice" and "alice" in first["responses"]
    assert not [name for name in first["environment"] if name.startswith(("COURSE_GRADING", "COURSE_GRADER"))]
    written = first["written"]
    for path in ("/tmp/left", "left", "/dev/shm/left"):  # its own folders: writable, gone with the kernel
        assert written[path] == "written", (path, written[path])
    readonly = [path for path in written if path not in ("/tmp/left", "left", "/dev/shm/left")]
    assert all(written[path] in ("OSError", "PermissionError", "FileNotFoundError") for path in readonly), written
    assert first["flood_shm"][0] < 200 and first["flood_shm"][1] == "OSError", first["flood_shm"]  # ENOSPC at its cap
    assert first["flood_connection"] == [0, "OSError"], first["flood_connection"]  # read-only: the host's disk

    after = health(template_pid)
    assert after == before, (before, after)  # not stopped, limited, reniced or moved to another CPU
    second = run_kernel(template, tmp_path, "bob", LOOK)
    assert template_process(template) == template_pid, "the same template forked both kernels"
    assert second["learner"] == "bob" and "bob" in second["responses"] and "alice" not in second["responses"]
    assert second["spy"] is None, "no startup file of alice's ran in bob's kernel"
    assert second["left"] == ["./quiz_responses.json"], second["left"]  # nothing of alice's, in no folder
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


def test_a_kernel_that_holds_the_gil_dies_with_its_world(template, tmp_path):
    """A kernel that tries to outlive its grading (clears its parent-death signal, then sleeps in C holding the
    GIL, so no interrupt or shutdown request is ever read): when the grader ends it, nothing of it is left."""
    import time

    template_pid = template_process(template)
    with kernel_from(template, tmp_path, "survivor") as (_, client):
        client.execute("import ctypes\nctypes.CDLL(None).prctl(1, 0, 0, 0, 0)\nctypes.PyDLL(None).sleep(60)")
        deadline = time.monotonic() + 30
        while len(kernels(template, template_pid)) < 2 and time.monotonic() < deadline:  # its world, the kernel
            time.sleep(0.2)
        assert len(kernels(template, template_pid)) == 2, [describe(pid) for pid in kernels(template, template_pid)]
        time.sleep(1)  # into the sleep
    deadline = time.monotonic() + 10  # the grader shut it down (the launcher killed): the template ends its world
    while kernels(template, template_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert kernels(template, template_pid) == [], "a kernel outlived its grading"
    assert template.alive()


def kernels(template, template_pid: int) -> list[int]:
    """Python processes in the template's sandbox other than the template (re-parented ones included)."""
    found = []
    for pid in descendants(template.process.pid):
        try:
            argv0 = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        if pid != template_pid and not argv0.endswith(b"bwrap"):
            found.append(pid)
    return found


def describe(pid: int) -> str:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
        return f"{pid} (parent {stat[1]}, {stat[0]}): {b' '.join(argv)[:120]!r}"
    except OSError:
        return f"{pid} gone"


def descendants(pid: int) -> list[int]:
    """Every process below pid on this host."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo += children.get(child, [])
    return sorted(found)


def _max_processes(pid: int) -> str:
    line = next(line for line in (Path("/proc") / str(pid) / "limits").read_text().splitlines()
                if line.startswith("Max processes"))
    return line.split()[2]


def test_the_task_limit_is_set_inside_the_sandbox_not_on_bwrap(template):
    """RLIMIT_NPROC on bwrap (the maker of the sandbox's user namespace) would become a limit on every task of the
    grader's Unix user on the host (next test); the template sets it inside, where it counts its own tasks."""
    from course_utils.grading import sandbox

    assert _max_processes(template_process(template)) == str(sandbox.LIMITS[sandbox.TASKS][1])
    assert _max_processes(template.process.pid) == _max_processes(os.getpid())  # bwrap: what it inherited


# Two sandboxes as an ordinary Unix user (root's tasks are never limited): one holds 250 threads, the other then
# starts a thread and a process. {where} says where the 256-task limit is set.
HOG = "import threading,time\nfor i in range(250): threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n" \
      "print('holding', flush=True); time.sleep(30)"
PROBE = "import os\npid = os.fork()\nif pid == 0: os._exit(0)\nos.waitpid(pid, 0); print('forked')"
INSIDE = "import resource; resource.setrlimit(resource.RLIMIT_NPROC, (256, 256))\n"


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None or not Path("/usr/bin/python3").exists(),
                    reason="needs root to run two sandboxes as another user (CI runs as root)")
@pytest.mark.parametrize("where", ["inside", "on bwrap"])
def test_one_sandboxs_threads_do_not_stop_another_from_starting(where):
    """The kernel mechanism the course relies on (Linux >= 5.14 counts RLIMIT_NPROC per user namespace): with the
    limit set inside each sandbox, one sandbox's 250 threads leave the other free; set on bwrap, as it was, they
    stop it (the attack of 2026-12-06)."""
    import subprocess

    def bwrap(code: str) -> list[str]:
        inner = (INSIDE if where == "inside" else "") + code
        command = ["bwrap", "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534", "--die-with-parent",
                   "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "/usr/bin/python3", "-I", "-c", inner]
        limit = [] if where == "inside" else ["prlimit", "--nproc=256:256", "--"]
        return ["setpriv", "--reuid=games", "--regid=games", "--clear-groups", *limit, *command]

    hog = subprocess.Popen(bwrap(HOG), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert hog.stdout.readline().strip() == "holding"
        probe = subprocess.run(bwrap(PROBE), capture_output=True, text=True, timeout=60)
    finally:
        hog.kill()
        hog.wait()
    if where == "inside":
        assert probe.returncode == 0 and "forked" in probe.stdout, probe.stderr[-500:]
    else:
        assert probe.returncode != 0 and "forked" not in probe.stdout  # bwrap itself could not fork
