"""The bubblewrap sandbox nbgrader's grading kernels run in (grading/README.md, "Isolation").

The kernel spec ``grading/jupyter/kernels/course-sandbox/kernel.json`` runs the launcher
``python -I -m course_utils.grading.launcher -f {connection_file}``: an isolated
interpreter (no working directory, PYTHONPATH or user site on ``sys.path``), so
nothing in the submission's folder can be imported by it. The launcher

* changes to a fixed working directory at once, remembering the folder
  jupyter_client started it in (the autograded submission);
* picks the files the kernel gets: only those an assignment declares (``DECLARED_FILES``, e.g.
  ``quiz_responses.json``) and the assignment's own; never a notebook (during autograde the folder also
  holds the sanitized notebook with the hidden tests);
* asks a kernel template for the kernel (``course_utils.grading.warm``): the batch's warm one when
  ``COURSE_GRADING_WARM_SOCKET`` names it, else one of its own that serves this kernel only. The template
  runs in ``bwrap`` (``bwrap_command``): everything unshared (no network, own PID namespace, the user
  ``nobody``), a read-only root with a read-only view of the Python installation, the venv and the
  ``course_utils`` package, an in-memory /tmp, a minimal environment (bwrap itself starts with an empty one,
  so ``/proc/1/environ`` is clean), limits on memory, CPU time, file size and tasks. Each kernel then gets a
  world of its own (``course_utils.grading.world``: namespaces, fresh capped folders, the seccomp filter
  ``no_new_processes_filter``).

nbgrader, jupyter_client and ipykernel have no sandbox of their own
(nbgrader #483, #1386), so this module is written by hand. bubblewrap is the
Debian package ``bubblewrap``.
"""
from __future__ import annotations

import os
import platform
import resource
import struct
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import course_utils
from course_utils.grading.course import INSTRUCTOR_ONLY, NBGRADER_FILES

INSTALL_HINT = "install it with: make system-packages (or apt-get install bubblewrap, as root or with sudo)"
# Files a submission may bring besides its notebook(s); everything else is dropped before grading.
DECLARED_FILES = ("quiz_responses.json",)
MAX_DECLARED_FILE_BYTES = 1 << 20
LIMITS = {  # env var -> (resource, default); generous for a tiny forward pass, small for abuse
    "COURSE_GRADING_MEMORY_MB": (resource.RLIMIT_AS, 8192),
    "COURSE_GRADING_CPU_S": (resource.RLIMIT_CPU, 600),
    "COURSE_GRADING_FILE_MB": (resource.RLIMIT_FSIZE, 256),  # a saved model (lesson 8) is ~90 MB
    "COURSE_GRADING_PROCESSES": (resource.RLIMIT_NPROC, 256),  # tasks: threads count too
}
WORKDIR_MB = int(os.environ.get("COURSE_GRADING_WORKDIR_MB", "512"))
TMP_MB = int(os.environ.get("COURSE_GRADING_TMP_MB", "256"))
SHM_MB = 64  # /dev/shm: torch and the C library use a little of it
STDERR_KEEP_BYTES = 16_000
# Set by the batch runner for a job with a warm kernel template (course_utils.grading.warm): the template's
# socket (the launcher asks it for a kernel) and the folder it shares with this host (connection files).
WARM_SOCKET_VARIABLE = "COURSE_GRADING_WARM_SOCKET"
KERNEL_DIR_VARIABLE = "COURSE_GRADING_KERNEL_DIR"
# The batch runner's private folder for one submission (on this host, never in the sandbox). The launcher
# leaves TEMPLATE_LOST there when the warm template died under a running kernel: the grader's failure, which
# RobustExecute reports as such instead of grading the lost kernel's cells as the student's.
SCRATCH_VARIABLE = "COURSE_GRADING_SCRATCH"
TEMPLATE_LOST = "warm-template-lost"
NOBODY = 65534
FIXED_CWD = "/"


def sandbox_files(folder: Path) -> list[Path]:
    """What the kernel gets from the graded folder: its plain files except notebooks and instructor-only files.

    By then the folder holds only the assignment's own files (copied by nbgrader from source/) and the
    declared files of the submission (the batch runner staged nothing else)."""
    import fnmatch

    found, budget = [], (WORKDIR_MB << 20) // 2
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_symlink() or not path.is_file() or path.suffix == ".ipynb" or ".ipynb_checkpoints" in \
                relative.parts or any(fnmatch.fnmatch(path.name, pattern) for pattern in INSTRUCTOR_ONLY) or \
                str(relative) in NBGRADER_FILES:
            continue
        size = path.stat().st_size
        if size <= budget:
            found.append(path)
            budget -= size
    return found


def _readonly_roots() -> list[Path]:
    """What the kernel may read: the interpreter, the venv, the course_utils package (not the quiz bank's
    source folder: practice questions are public, exam keys are never there)."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             Path(course_utils.__file__).resolve().parent}
    roots.add(Path(sysconfig.get_paths()["purelib"]).resolve())
    try:  # the practice bank (public, installed with the package; exam keys are never in it)
        from course_utils.quiz.bank import default_bank_dir

        roots.add(default_bank_dir().resolve())
    except Exception:  # no bank installed: quiz cells then fail on their own, with a clear message
        pass
    return sorted(roots)


# nbgrader's default exchange (every student's submission and released feedback) lies under /usr, which the
# sandbox mounts; bwrap's user "nobody" is the grader's own uid outside, so the owner's rights apply there.
# COURSE_EXCHANGE_ROOT is where the course's hub config puts it (grading/hub/jupyter/nbgrader_config.py), and
# COURSE_GRADING_EXCHANGE_ROOT what the course's nbgrader configuration says (c.Exchange.root): `make autograde`
# sets it (``exchange_root``) before any sandbox starts, so the warm templates and each cold launcher see it.
DEFAULT_EXCHANGE = Path("/usr/local/share/nbgrader")
CONFIGURED_EXCHANGE = "COURSE_GRADING_EXCHANGE_ROOT"


def exchange_root(course: Path) -> str | None:
    """``c.Exchange.root`` as nbgrader run in ``course`` reads it: nbgrader_config.py/.json in each Jupyter config
    folder, then the course folder's own (the instructor's files; later ones win)."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config import Config
    from traitlets.config.loader import ConfigFileNotFound, JSONFileConfigLoader, PyFileConfigLoader

    config = Config()
    for folder in [*reversed(jupyter_config_path()), str(course)]:
        for loader in (JSONFileConfigLoader, PyFileConfigLoader):
            suffix = ".json" if loader is JSONFileConfigLoader else ".py"
            try:
                config.merge(loader(f"nbgrader_config{suffix}", path=folder).load_config())
            except ConfigFileNotFound:
                pass
    return str(config.Exchange.root) if "root" in config.Exchange else None


def _hidden_exchanges() -> list[Path]:
    """Exchange folders that exist inside a folder the sandbox mounts: each is covered by an empty one."""
    mounted = [Path("/usr"), *(Path("/") / name for name in ("bin", "lib", "lib64", "sbin")), *_readonly_roots()]
    found = []
    for candidate in (DEFAULT_EXCHANGE, os.environ.get("COURSE_EXCHANGE_ROOT"), os.environ.get(CONFIGURED_EXCHANGE)):
        if not candidate:
            continue
        path = Path(candidate).resolve()
        if path.is_dir() and any(path == m.resolve() or m.resolve() in path.parents for m in mounted):
            found.append(path)
    return found


def bwrap_executable() -> str:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SystemExit(f"bubblewrap is not installed: the grading sandbox needs it; {INSTALL_HINT}")
    return bwrap


# IPython and Jupyter read configuration (startup files, kernel extensions) from these: fixed, empty and
# read-only in the sandbox, so neither a kernel nor the machine's own files can change how a kernel runs.
CONFIG_DIRS = {"IPYTHONDIR": "/etc/course-grading/ipython", "JUPYTER_CONFIG_DIR": "/etc/course-grading/jupyter",
               "JUPYTER_DATA_DIR": "/etc/course-grading/jupyter-data"}
IPYTHON_PROFILE_DIRS = ("startup", "security", "log", "pid")


def bwrap_command(workdir: Path, connection_dir: Path | None, argv: list[str], seccomp_fd: int | None = None,
                  learner: str = "") -> list[str]:
    """The bwrap argv that runs ``argv`` with only the listed paths visible, everything read-only but an
    in-memory /tmp; ``workdir`` (an empty read-only folder here) is where each kernel gets its own tmpfs
    (course_utils.grading.world), ``connection_dir`` the host folder for connection files and ipc sockets."""
    cmd = [bwrap_executable(), "--unshare-all", "--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY),
           "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--proc", "/proc", "--dev", "/dev",
           "--size", str(TMP_MB << 20), "--tmpfs", "/tmp", "--size", str(SHM_MB << 20), "--tmpfs", "/dev/shm",
           "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            cmd += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            cmd += ["--ro-bind", str(path), str(path)]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "passwd", "group",
                 "ssl", "ca-certificates", "fonts", "matplotlibrc"):
        path = Path("/etc") / name
        if path.exists():
            cmd += ["--ro-bind", str(path), str(path)]
    for root in _readonly_roots():
        cmd += ["--ro-bind", str(root), str(root)]
    for folder in (*(f"{CONFIG_DIRS['IPYTHONDIR']}/profile_default/{name}" for name in IPYTHON_PROFILE_DIRS),
                   CONFIG_DIRS["JUPYTER_CONFIG_DIR"], CONFIG_DIRS["JUPYTER_DATA_DIR"]):
        cmd += ["--perms", "0700", "--dir", folder]  # IPython wants 0700 and would try to change it
    for hidden in _hidden_exchanges():  # an exchange inside a mounted folder: an empty read-only folder over it
        cmd += ["--size", "4096", "--tmpfs", str(hidden), "--remount-ro", str(hidden)]
    if connection_dir is not None:  # the connection file and (ipc transport) its sockets
        cmd += ["--bind", str(connection_dir), str(connection_dir)]
    cmd += ["--dir", str(workdir), "--chdir", str(workdir),
            # Read-only from here on: the root (and so /etc and the folders above), /dev; writable stay the
            # in-memory /tmp and /dev/shm, size-capped (each kernel gets fresh ones: world.enter).
            "--remount-ro", "/dev", "--remount-ro", "/"]
    environment = {
        "HOME": "/tmp", "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/mpl",
        "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_EVALUATE_OFFLINE": "1",
        "HF_HOME": "/tmp/hf", "TOKENIZERS_PARALLELISM": "false", "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1",
        "COURSE_SMOKE": "1", "NBGRADER_EXECUTION": "autograde", "JUPYTER_RUNTIME_DIR": "/tmp/jupyter-runtime",
        **CONFIG_DIRS,
        # The student's id: the quiz shows (and quiz.answer's letters mean) that student's exam variant.
        "COURSE_LEARNER": learner,
    }
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    cmd.append("--clearenv")
    for key, value in environment.items():
        cmd += ["--setenv", key, value]
    return cmd + ["--", *argv]


TASKS = "COURSE_GRADING_PROCESSES"


def apply_limits() -> None:
    """bwrap's limits (its preexec_fn), inherited by everything in the sandbox; all but the task limit.

    RLIMIT_NPROC counts every task of a user: set on bwrap, the process that makes the sandbox's user namespace,
    Linux (5.14+) keeps it as the namespace's limit one level up, on *all* tasks of the grader's Unix user on the
    host, so one kernel's threads would stop every other job's kernels from starting (attack of 2026-12-06).
    Set inside the namespace instead (``limit_tasks``), it counts the tasks of that sandbox alone."""
    for variable, (limit, default) in LIMITS.items():
        if variable == TASKS:
            continue
        value = int(os.environ.get(variable, default))
        value = value << 20 if variable.endswith("_MB") else value
        resource.setrlimit(limit, (value, value))


def task_limit() -> int:
    """The task limit for inside the sandbox (COURSE_GRADING_PROCESSES here, on the host)."""
    return int(os.environ.get(TASKS, LIMITS[TASKS][1]))


def limit_tasks(value: int) -> None:
    """Set by the first process inside the sandbox (course_utils.grading.template --tasks N)."""
    resource.setrlimit(resource.RLIMIT_NPROC, (value, value))


# Classic BPF for seccomp (linux/filter.h, linux/seccomp.h); no well-kept Python library builds one
# without a C extension (libseccomp's bindings are not on PyPI), so the few instructions are written here.
_SYSCALLS = {"x86_64": (0xC000003E, {"clone": 56, "fork": 57, "vfork": 58, "clone3": 435}),
             "aarch64": (0xC00000B7, {"clone": 220, "clone3": 435})}
# A kernel forked from the warm template (course_utils.grading.template) shares a PID and IPC namespace with
# it: these calls could reach the template or leave something for the next kernel, so they are refused too.
# Kernel keyrings are not namespaced (a key's serial reaches the host user's keyrings: add_key, request_key,
# keyctl); io_uring, perf_event_open and bpf are large kernel surfaces no lesson needs; a kernel stays in its
# world's session and process group (setsid, setpgid), so the template can end it with the group.
_REFUSED_IN_WARM = {"x86_64": {"ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "tkill": 200,
                               "pidfd_open": 434, "pidfd_getfd": 438, "pidfd_send_signal": 424, "unshare": 272,
                               "setns": 308, "shmget": 29, "semget": 64, "msgget": 68, "mq_open": 240,
                               "add_key": 248, "request_key": 249, "keyctl": 250, "io_uring_setup": 425,
                               "io_uring_enter": 426, "io_uring_register": 427, "perf_event_open": 298, "bpf": 321,
                               "userfaultfd": 323, "setsid": 112, "setpgid": 109},
                    "aarch64": {"ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "tkill": 130,
                                "pidfd_open": 434, "pidfd_getfd": 438, "pidfd_send_signal": 424, "unshare": 97,
                                "setns": 268, "shmget": 194, "semget": 190, "msgget": 186, "mq_open": 180,
                                "add_key": 217, "request_key": 218, "keyctl": 219, "io_uring_setup": 425,
                                "io_uring_enter": 426, "io_uring_register": 427, "perf_event_open": 241, "bpf": 280,
                                "userfaultfd": 282, "setsid": 157, "setpgid": 154}}
# prctl(PR_SET_PDEATHSIG, ...): refused, so a kernel cannot outlive the process that made its world.
_PRCTL = {"x86_64": 157, "aarch64": 167}
_PR_SET_PDEATHSIG = 1
# Signals: only to itself (first argument: its own pid, or minus it for its own process group).
_SIGNAL_CALLS = {"x86_64": {"kill": 62, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297},
                 "aarch64": {"kill": 129, "tgkill": 131, "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240}}
_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000
_EPERM, _EAGAIN, _ENOSYS, _CLONE_THREAD = 1, 11, 38, 0x00010000


def no_new_processes_filter(own_pid: int | None = None) -> bytes | None:
    """A seccomp program: threads yes, new processes no (EAGAIN); clone3 answers ENOSYS so the C library
    falls back to clone, whose flags the filter can read. None on an architecture not listed.

    With ``own_pid`` (a grading kernel) also: no tracing or reading other processes, no signals except to
    ``own_pid``, no new namespaces, no System V or POSIX message IPC, no keyrings, io_uring, perf or bpf, no
    new session or process group, no change to the signal it gets when its parent dies (EPERM)."""
    if platform.machine() not in _SYSCALLS:
        return None
    audit_arch, numbers = _SYSCALLS[platform.machine()]

    def op(code, k, jt=0, jf=0):
        return struct.pack("HBBI", code, jt, jf, k)

    program = [op(_LD_W_ABS, 4), op(_JEQ_K, audit_arch, 1, 0), op(_RET_K, _ERRNO | _EPERM),  # other ABIs: no
               op(_LD_W_ABS, 0), op(_JGE_K, 0x40000000, 0, 1), op(_RET_K, _ERRNO | _EPERM)]  # x32 numbers: no
    for name in ("fork", "vfork"):
        if name in numbers:
            program += [op(_JEQ_K, numbers[name], 0, 1), op(_RET_K, _ERRNO | _EAGAIN)]
    program += [op(_JEQ_K, numbers["clone3"], 0, 1), op(_RET_K, _ERRNO | _ENOSYS)]
    program += [op(_JEQ_K, numbers["clone"], 0, 3), op(_LD_W_ABS, 16),  # args[0] low word: the flags
                op(_JSET_K, _CLONE_THREAD, 1, 0), op(_RET_K, _ERRNO | _EAGAIN)]
    if own_pid is not None:
        program += [op(_LD_W_ABS, 0)]  # the syscall number again (the clone branch loaded an argument)
        for number in _REFUSED_IN_WARM[platform.machine()].values():
            program += [op(_JEQ_K, number, 0, 1), op(_RET_K, _ERRNO | _EPERM)]
        program += [op(_JEQ_K, _PRCTL[platform.machine()], 0, 4), op(_LD_W_ABS, 16),
                    op(_JEQ_K, _PR_SET_PDEATHSIG, 0, 1), op(_RET_K, _ERRNO | _EPERM), op(_LD_W_ABS, 0)]
        for number in _SIGNAL_CALLS[platform.machine()].values():
            # not this call: skip the 4 instructions that check it; else allow only its own pid (a kernel is
            # process 1 of its PID namespace: minus its pid would be -1, every process, so never that)
            program += [op(_JEQ_K, number, 0, 4), op(_LD_W_ABS, 16),
                        op(_JEQ_K, own_pid, 1, 0), op(_RET_K, _ERRNO | _EPERM), op(_RET_K, _ALLOW)]
    program += [op(_RET_K, _ALLOW)]
    return b"".join(program)


def install_filter(program: bytes) -> None:
    """Confine the calling thread (and every thread it starts) with a seccomp program: what bwrap --seccomp
    does, for a process forked after the sandbox started (the warm template's kernels)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(program, len(program))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")


def die_with_parent() -> None:
    """This process dies with its parent (PR_SET_PDEATHSIG, SIGKILL). jupyter_client starts kernels in their own
    session: if nbgrader is killed (the batch runner's time limit), the launcher must die too, and bwrap
    --die-with-parent then ends the sandbox; a kernel forked by the warm template dies with the template."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: bwrap does not exist there either
        pass


def run_sandboxed(workdir: Path, argv: list[str], timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run argv in the sandbox (with the no-new-process filter) and capture its output: the preflight."""
    import tempfile

    program = no_new_processes_filter()
    with tempfile.TemporaryFile() as handle:
        pass_fds = []
        if program is not None:
            handle.write(program)
            handle.seek(0)
            pass_fds.append(handle.fileno())
        command = bwrap_command(workdir, None, argv, seccomp_fd=handle.fileno() if program is not None else None)
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              pass_fds=pass_fds, preexec_fn=apply_limits, env={"PATH": "/usr/bin:/bin"},
                              cwd=FIXED_CWD)


def relay_head(fd: int) -> None:
    """Copy the kernel's stderr from fd to ours until it closes, keeping only its head."""
    kept = 0
    for chunk in iter(lambda: os.read(fd, 4096), b""):
        if kept < STDERR_KEEP_BYTES:
            sys.stderr.buffer.write(chunk[: STDERR_KEEP_BYTES - kept])
            sys.stderr.flush()
            kept += len(chunk)


def preflight(timeout: float = 30) -> str | None:
    """None when a sandboxed Python starts here; else one line saying what is missing and how to fix it."""
    if not sys.platform.startswith("linux"):
        return "the grading sandbox needs Linux (bubblewrap); grade on a Linux machine or in a Linux container"
    try:
        bwrap_executable()
    except SystemExit as missing:
        return str(missing)
    # A kernel module that imports, and a world of its own (nested namespaces: world.enter) that can be made.
    probe = ("import os; from pathlib import Path; import course_utils.grading.kernel; "
             "from course_utils.grading import world; os.mkdir('/tmp/connection'); "
             "world.enter(Path('/grading/work'), 1, 1, Path('/tmp/connection')); print('sandbox-ok')")
    try:
        result = run_sandboxed(Path("/grading/work"), [str(Path(sys.prefix) / "bin" / "python"), "-I", "-c", probe],
                               timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"the grading sandbox did not start within {timeout:.0f} s"
    except OSError as error:
        return f"the grading sandbox could not start ({error}); {INSTALL_HINT}"
    if result.returncode != 0 or "sandbox-ok" not in result.stdout:
        last = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1][:300]
        return (f"the grading sandbox does not start here ({last}); bubblewrap needs unprivileged user "
                "namespaces, nested ones too (sysctl kernel.unprivileged_userns_clone=1 and "
                "user.max_user_namespaces > 0; on Ubuntu 24.04 also kernel.apparmor_restrict_unprivileged_userns=0)"
                " and a readable venv")
    return None


if __name__ == "__main__":  # a kernel spec from before the launcher had its own module
    sys.exit("this kernel spec runs course_utils.grading.sandbox, which no longer starts kernels: copy "
             "grading/jupyter/kernels/course-sandbox/kernel.json from the course again "
             "(it runs course_utils.grading.launcher)")
