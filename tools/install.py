"""Install one audience's locked set into the running Python's environment (the Makefile calls it).

    .venv/bin/python tools/install.py lab        learner: lessons, quizzes, JupyterLab
    .venv/bin/python tools/install.py grading    + nbgrader (instructor targets)
    .venv/bin/python tools/install.py test       + pytest, nbval, Playwright (`make test`)

Versions come from requirements/<set>.txt (the lock, tools/lock.py). torch:
on Linux without an NVIDIA GPU it comes first, as the CPU build of the locked
version from PyTorch's CPU wheel index (about 5 GB smaller than the CUDA
build); when that index cannot be reached, one line says so and the default
build comes with the rest. A GPU machine and macOS keep the default.
COURSE_TORCH=cpu|default forces the choice. Stdlib only: it runs before
anything else is installed.
"""
from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK_DIR = ROOT / "requirements"
AUDIENCES = ("lab", "grading", "test")
CPU_INDEX = os.environ.get("COURSE_TORCH_CPU_INDEX", "https://download.pytorch.org/whl/cpu")
PROBE_SECONDS = 5


def has_nvidia_gpu() -> bool:
    """An NVIDIA driver is loaded (what the CUDA build of torch needs to use a GPU)."""
    if Path("/proc/driver/nvidia/version").exists():
        return True
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            return subprocess.run([smi, "-L"], capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False
    return False


def wants_cpu_torch(system: str | None = None, gpu: bool | None = None) -> bool:
    """Linux without an NVIDIA GPU; COURSE_TORCH=cpu or =default overrides."""
    forced = os.environ.get("COURSE_TORCH", "").strip().lower()
    if forced in ("cpu", "default"):
        return forced == "cpu"
    system = system or platform.system()
    return system == "Linux" and not (has_nvidia_gpu() if gpu is None else gpu)


def locked_torch(lock: Path) -> str:
    """The torch version the lock pins."""
    found = re.search(r"^torch==(\S+)", lock.read_text(encoding="utf-8"), re.M)
    if not found:
        raise SystemExit(f"{lock.relative_to(ROOT)} pins no torch: run `make lock`.")
    return found.group(1)


def index_unreachable(url: str, timeout: float = PROBE_SECONDS) -> str | None:
    """Why `url` cannot be read (None when it answers)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url.rstrip("/") + "/torch/", method="HEAD"),
                                    timeout=timeout):
            return None
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return str(getattr(exc, "reason", exc))


def fallback_line(url: str, why: str) -> str:
    return (f"CPU torch: {url} cannot be reached ({why}); torch comes from pip's usual indexes instead "
            f"(PyPI's Linux build brings CUDA, about 5 GB more; COURSE_TORCH_CPU_INDEX=<mirror> retries).")


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args], check=True)


def install(audience: str) -> None:
    lock = LOCK_DIR / f"{audience}.txt"
    if wants_cpu_torch():
        version = locked_torch(lock)
        why = index_unreachable(CPU_INDEX)
        if why:
            print(fallback_line(CPU_INDEX, why), flush=True)
        else:
            print(f"CPU torch: torch {version} from {CPU_INDEX} (Linux, no NVIDIA GPU)", flush=True)
            # --no-deps: torch's own dependencies come pinned from the lock below.
            pip("--no-deps", "--index-url", CPU_INDEX, f"torch=={version}")
    pip("-r", str(lock))
    # The course package itself, editable, and nothing the lock did not decide.
    pip("--no-deps", "-e", str(ROOT))


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in AUDIENCES:
        print(f"usage: python tools/install.py {{{'|'.join(AUDIENCES)}}}", file=sys.stderr)
        return 2
    install(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
