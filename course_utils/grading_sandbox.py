"""Start an nbgrader grading kernel inside a bubblewrap sandbox (grading/README.md, "Isolation").

The kernel spec ``grading/jupyter/kernels/course-sandbox/kernel.json`` runs
``python -m course_utils.grading_sandbox -f {connection_file}``. This launcher:

* copies the kernel's working directory (the student's autograded folder)
  WITHOUT its notebooks into a private temporary folder: during autograde that
  folder holds the sanitized notebook with the hidden tests, and the student's
  code runs before them;
* starts ``bwrap`` with everything unshared (no network, own PID namespace, the
  user ``nobody``), a read-only view of the Python installation, the venv and the
  ``course_utils`` package only, a fresh /tmp, and that copy as its working
  directory (mounted at the same path, so relative paths behave as usual);
* limits memory, CPU time and file size, and discards the kernel's raw
  stdout/stderr beyond a few kilobytes (a flood cannot fill the grader's log).

nbgrader, jupyter_client and ipykernel have no sandbox of their own
(nbgrader #483, #1386), so this module is written by hand. bubblewrap is the
Debian package ``bubblewrap``.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import course_utils

KERNEL_MODULE = "course_utils.grading_kernel"
LIMITS = {  # env var -> (resource, default); generous for a tiny forward pass, small for abuse
    "COURSE_GRADING_MEMORY_MB": (resource.RLIMIT_AS, 8192),
    "COURSE_GRADING_CPU_S": (resource.RLIMIT_CPU, 600),
    "COURSE_GRADING_FILE_MB": (resource.RLIMIT_FSIZE, 64),
}
STDERR_KEEP_BYTES = 16_000
MAX_COPIED_FILE_BYTES = 32 << 20
MAX_COPIED_TOTAL_BYTES = 256 << 20


def _connection_file(argv: list[str]) -> Path:
    if "-f" not in argv or argv.index("-f") + 1 >= len(argv):
        raise SystemExit("usage: python -m course_utils.grading_sandbox -f CONNECTION_FILE")
    return Path(argv[argv.index("-f") + 1]).resolve()


def _copy_without_notebooks(source: Path, target: Path) -> None:
    """Copy the student's files, never a notebook or a link (the notebook in memory is the graded one)."""
    budget = MAX_COPIED_TOTAL_BYTES
    for path in source.rglob("*"):
        relative = path.relative_to(source)
        if path.is_symlink() or path.suffix == ".ipynb" or ".ipynb_checkpoints" in relative.parts:
            continue
        if path.is_dir():
            (target / relative).mkdir(parents=True, exist_ok=True)
        elif path.is_file() and path.stat().st_size <= min(MAX_COPIED_FILE_BYTES, budget):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / relative)
            budget -= path.stat().st_size


def _readonly_roots() -> list[Path]:
    """What the kernel may read: the interpreter, the venv, the course_utils package."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             Path(course_utils.__file__).resolve().parent}
    roots.add(Path(sysconfig.get_paths()["purelib"]).resolve())
    try:  # the quiz bank (quiz.answer checks ids and letters); its keys ship with the package anyway
        from course_utils.quiz.bank import default_bank_dir

        roots.add(default_bank_dir().resolve())
    except Exception:  # no bank installed: quiz cells then fail on their own, with a clear message
        pass
    return sorted(roots)


def bwrap_command(workdir: Path, sandbox_dir: Path, connection_file: Path) -> list[str]:
    """The bwrap argv that runs the hardened kernel with only the listed paths visible."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SystemExit("bubblewrap is not installed: the grading sandbox needs it. "
                         "Install it with: apt-get install bubblewrap")
    cmd = [bwrap, "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
           "--die-with-parent", "--proc", "/proc", "--dev", "/dev", "--size", str(256 << 20), "--tmpfs", "/tmp",
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
    # The connection file and (ipc transport) its sockets live in this private runtime folder.
    cmd += ["--bind", str(connection_file.parent), str(connection_file.parent)]
    cmd += ["--bind", str(sandbox_dir), str(workdir), "--chdir", str(workdir)]
    environment = {
        "HOME": "/tmp", "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/mpl",
        "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_EVALUATE_OFFLINE": "1",
        "HF_HOME": "/tmp/hf", "TOKENIZERS_PARALLELISM": "false", "TQDM_DISABLE": "1",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        "COURSE_SMOKE": "1", "NBGRADER_EXECUTION": os.environ.get("NBGRADER_EXECUTION", ""),
    }
    cmd.append("--clearenv")
    for key, value in environment.items():
        cmd += ["--setenv", key, value]
    cmd += ["--", str(Path(sys.prefix) / "bin" / "python"), "-m", KERNEL_MODULE, "-f", str(connection_file)]
    return cmd


def _apply_limits() -> None:
    for variable, (limit, default) in LIMITS.items():
        value = int(os.environ.get(variable, default))
        value = value << 20 if variable.endswith("_MB") else value
        resource.setrlimit(limit, (value, value))


def _die_with_parent() -> None:
    """jupyter_client starts kernels in their own session: if nbgrader is killed (the batch runner's
    time limit), this launcher must die too, and bwrap --die-with-parent then ends the sandbox."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: bwrap does not exist there either
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before prctl took effect
        return 1
    connection_file = _connection_file(argv)
    workdir = Path.cwd().resolve()
    json.loads(connection_file.read_text())  # fail early on a broken connection file
    scratch = Path(os.environ.get("COURSE_GRADING_SCRATCH") or tempfile.gettempdir())
    scratch.mkdir(parents=True, exist_ok=True)
    sandbox_dir = Path(tempfile.mkdtemp(prefix="course-sandbox-", dir=scratch))
    try:
        _copy_without_notebooks(workdir, sandbox_dir)
        os.chmod(sandbox_dir, 0o777)  # the kernel runs as nobody and may write its own files here
        for path in sandbox_dir.rglob("*"):
            os.chmod(path, 0o777 if path.is_dir() else 0o666)
        os.chmod(connection_file.parent, 0o777)
        os.chmod(connection_file, 0o644)
        process = subprocess.Popen(bwrap_command(workdir, sandbox_dir, connection_file), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_apply_limits)
        kept = 0
        for chunk in iter(lambda: process.stderr.read1(4096), b""):
            if kept < STDERR_KEEP_BYTES:
                sys.stderr.buffer.write(chunk[: STDERR_KEEP_BYTES - kept])
                sys.stderr.flush()
                kept += len(chunk)
        return process.wait()
    finally:
        shutil.rmtree(sandbox_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
