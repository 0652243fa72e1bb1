"""A world of its own for every grading kernel: fresh namespaces and in-memory folders, made per submission.

Inside the grading sandbox (bwrap: read-only root, user ``nobody``, no network; ``sandbox.bwrap_command``) the
kernel template (``template.py``) serves submission after submission. What one kernel does must never reach
the next one nor the template, so each kernel is started in two steps:

1. ``enter`` (in a process forked from the template, before anything of the submission runs) unshares a new
   user, mount, PID, IPC, network and UTS namespace, and mounts fresh, size-capped tmpfs folders on the working
   folder, ``/tmp`` and ``/dev/shm``, and a read-only ``/proc`` that holds only ``cpuinfo`` and ``meminfo``;
   everything else is the
   sandbox's read-only view. The host's connection folder (connection file, ipc sockets) is bound again on
   top of the fresh ``/tmp``. Then it forks the kernel: process 1 of the new PID namespace, where the template
   and every other process have no PID at all. So no call that names a process (kill, ``fcntl(F_SETOWN)``
   with O_ASYNC, ``prlimit``, ``setpriority``, ``sched_*``, ``ptrace``, ``ioprio_set``, pidfds) can reach
   them: the wall covers the whole class, not a list of calls.
2. ``fork_kernel``: the kernel, while it still has a single thread, drops every capability the new user
   namespace gave and installs the no-new-process seccomp filter (``sandbox.no_new_processes_filter``: no
   fork, no unshare, no ptrace, signals only to itself), so every thread it starts later has neither. Once
   ipykernel has bound its sockets, the process that made the world (it keeps its capabilities and runs
   nothing of the submission) makes the connection folder read-only: nothing more can be written to the
   host's disk. Only then does the kernel read its first message.

Mounts made here are private to the kernel's namespace and vanish with it; nothing is emptied by hand.
No library builds such a per-process world from Python (bwrap does it for a new process, not for a fork
of a warm one), so this is written by hand on the libc calls.
"""
from __future__ import annotations

import ctypes
import os
import signal
from pathlib import Path

# clone(2) flags
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
# mount(2) flags
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 32, 4096, 8192, 0x4000, 1 << 18
# statvfs f_flag bits that a remount of a bind mount must keep (locked by the kernel in a user namespace)
_ST_KEEP = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC}

NAMESPACES = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS
SHM_MB = 64
# What a kernel's /proc holds: descriptions of the machine, nothing of any process.
PROC_FILES = ("cpuinfo", "meminfo")

_libc = ctypes.CDLL(None, use_errno=True)


class WorldError(OSError):
    """A per-kernel world could not be made: the grader's failure, never the submission's."""


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise WorldError(error, f"{what}: {os.strerror(error)}")


def _mount(source: str | None, target: str, kind: str | None, flags: int, options: str | None = None) -> None:
    _check(_libc.mount(source.encode() if source else None, target.encode(), kind.encode() if kind else None,
                       flags, options.encode() if options else None), f"mount {target}")


def _tmpfs(target: Path, megabytes: int, mode: str = "1777") -> None:
    _mount("tmpfs", str(target), "tmpfs", MS_NOSUID | MS_NODEV, f"size={megabytes}m,mode={mode}")


def enter(workdir: Path, workdir_mb: int, tmp_mb: int, connection_dir: Path, shared_dir: Path | None = None) -> None:
    """Make this process's new world (see the module's docstring); the caller forks the kernel next.

    ``connection_dir``: this kernel's own folder for its connection file and sockets; ``shared_dir``: the
    folder it lies in, which the template shares with the host for every kernel: covered, so that the
    kernel sees only its own sub-folder wherever the host keeps it. Raises WorldError when the machine
    refuses nested namespaces or a mount (the caller reports it: not graded)."""
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(NAMESPACES), "unshare (nested user namespaces)")
    # The template is not dumpable, and so /proc/self of this copy of it belongs to root: it could not write its
    # own id maps unless the grader runs as root. Dumpable while it writes them (nothing can name this process:
    # the kernel is in the new PID namespace, the template trusts it), then not again.
    _check(_libc.prctl(4, 1, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    _check(_libc.prctl(4, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing mounted here propagates anywhere
    # Opened in the new namespace (a bind's source must be a mount of the caller's namespace), before the
    # fresh folders cover them, bound again on top of them below: the kernel's connection folder, and the
    # sandbox's read-only folders that lie under /tmp (a checkout or venv kept there), never the shared one.
    keep = os.open(connection_dir, os.O_PATH | os.O_DIRECTORY)
    hidden = [point for point in _outermost_mounts_under(Path("/tmp"))
              if point != connection_dir and not (shared_dir is not None and (point == shared_dir or shared_dir
                                                                              in point.parents))]
    held = {point: os.open(point, os.O_PATH) for point in hidden}
    try:
        _tmpfs(Path("/tmp"), tmp_mb)
        _tmpfs(Path("/dev/shm"), min(SHM_MB, tmp_mb))
        _tmpfs(workdir, workdir_mb, "0777")
        for point, fd in held.items():
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                point.mkdir(parents=True, exist_ok=True)
            else:
                point.parent.mkdir(parents=True, exist_ok=True)
                point.touch()
            _mount(f"/proc/self/fd/{fd}", str(point), None, MS_BIND | MS_REC)
            _read_only(point)
        covers = []
        if shared_dir is not None and shared_dir.is_dir() and shared_dir in connection_dir.parents:
            _tmpfs(shared_dir, 1, "0755")  # still there when the host keeps it outside /tmp (TMPDIR)
            covers.append(shared_dir)
        connection_dir.mkdir(parents=True, exist_ok=True)
        _mount(f"/proc/self/fd/{keep}", str(connection_dir), None, MS_BIND)
        for cover in covers:  # nothing can be added beside the kernel's own folder
            _mount(None, str(cover), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    finally:
        os.close(keep)
        for fd in held.values():
            os.close(fd)
    # No /proc of the template's PID namespace (a kernel of a new PID namespace cannot mount its own under
    # bwrap's, whose read-only sub-mounts make it "not fully visible"): a read-only folder with only the
    # machine's descriptions that libraries read (torch's cpuinfo: which instructions the CPU has), which
    # say nothing of any process.
    kept = [name for name in PROC_FILES if Path("/proc", name).is_file()]
    for name in kept:  # set aside in the fresh /tmp, moved into the new /proc below
        Path("/tmp", f".proc-{name}").touch()
        _mount(f"/proc/{name}", f"/tmp/.proc-{name}", None, MS_BIND)
    _mount("tmpfs", "/proc", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=16k,mode=0555")
    for name in kept:
        Path("/proc", name).touch()
        _mount(f"/tmp/.proc-{name}", f"/proc/{name}", None, MS_MOVE)
        Path("/tmp", f".proc-{name}").unlink()
    _mount(None, "/proc", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _outermost_mounts_under(folder: Path) -> list[Path]:
    """Mount points strictly inside ``folder``, without those inside another of them."""
    points = set()
    with open("/proc/self/mountinfo", encoding="utf-8") as table:
        for line in table:  # the mount point is the fifth field, with spaces and the like octal-escaped
            point = Path(line.split()[4].encode().decode("unicode_escape"))
            if folder in point.parents:
                points.add(point)
    return sorted(point for point in points if not any(other in point.parents for other in points))


def _read_only(point: Path) -> None:
    flags = os.statvfs(point).f_flag
    kept = sum(bit for st, bit in _ST_KEEP.items() if flags & st)
    _mount(None, str(point), None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept)


def fork_kernel(connection_dir: Path) -> "KernelSide":
    """Fork the kernel into the new PID namespace. In the kernel: it is locked down (no capabilities, the
    filter) before it returns, so every thread it starts later inherits both; it gets a ``KernelSide``
    whose ``sockets_bound()`` it calls once ipykernel has bound its sockets. In this process (never
    returns): wait for that call, make the connection folder read-only, let the kernel go on, and exit
    with its status when it ends."""
    ready_read, ready_write = os.pipe()
    go_read, go_write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(ready_read)
        os.close(go_write)
        from course_utils.grading import sandbox

        # This process gone (the template ended it), the kernel gone; the filter keeps the kernel from undoing
        # it. Were this process gone before the call, sockets_bound() reads EOF and the kernel exits there,
        # before any code of the submission runs.
        sandbox.die_with_parent()
        lock_down()
        return KernelSide(ready_write, go_read)
    os.close(ready_write)
    os.close(go_read)
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_IGN)
    code = None
    try:
        if os.read(ready_read, 1) == b"1":  # empty: the kernel ended before it bound its sockets
            _read_only(connection_dir)
            os.write(go_write, b"1")
    except OSError as error:  # the kernel is not let go on: it waits for "1" and ends on EOF
        os.write(2, f"grading kernel not started: {error}\n".encode())
        code = 70
    os.close(go_write)
    _, status = os.waitpid(child, 0)
    if code is None:
        code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


class KernelSide:
    """The kernel's half of the hand-over with the process that made its world."""

    def __init__(self, ready_fd: int, go_fd: int) -> None:
        self.ready_fd, self.go_fd = ready_fd, go_fd

    def sockets_bound(self) -> None:
        """Called once, after ipykernel bound its sockets and before it reads a message: returns when the
        connection folder is read-only; exits when it could not be made so."""
        os.write(self.ready_fd, b"1")
        os.close(self.ready_fd)
        answer = os.read(self.go_fd, 1)
        os.close(self.go_fd)
        if answer != b"1":
            os._exit(70)


def lock_down() -> None:
    """In the kernel, while it has one thread: no capabilities, then the no-new-process filter."""
    from course_utils.grading import sandbox

    drop_capabilities()
    program = sandbox.no_new_processes_filter(own_pid=os.getpid())
    if program is not None:
        sandbox.install_filter(program)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> None:
    """Empty the effective, permitted and inheritable sets (the new user namespace gave them all); with no
    permitted capability, the ambient set is empty too and no_new_privs keeps it so."""
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")
    _check(_libc.prctl(38, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
