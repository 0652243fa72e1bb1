"""Install one audience's locked set into the running Python's environment (the Makefile calls it).

    .venv/bin/python tools/install.py lab        learner: lessons, quizzes, JupyterLab
    .venv/bin/python tools/install.py grading    + nbgrader (instructor targets)
    .venv/bin/python tools/install.py test       + pytest, nbval, Playwright (`make test`)

Versions come from requirements/<set>.txt (the lock, tools/lock.py). torch:
on Linux without an NVIDIA GPU it comes first, as the CPU build of the locked
version from PyTorch's CPU wheel index (about 4.5 GB smaller than the CUDA
build); when that index cannot be reached, one line says so and the default
build comes with the rest. A GPU machine and macOS keep the default.
COURSE_TORCH=cpu|default forces the choice.

The installer is uv (put into the environment by pip first; several times
faster than pip, README "What gets installed"), told where pip looks (pip's
find-links and indexes from pip.conf and PIP_* variables), so a classroom
mirror set up for pip still applies. COURSE_INSTALLER=pip uses pip alone; so
does a machine where uv cannot be installed (one line says so).

Then the learner's JupyterLab settings go into the environment's settings
overrides, <prefix>/share/jupyter/lab/settings/overrides.json (defaults of
this JupyterLab and Notebook 7, below what a person sets in the Settings
editor; nothing in the user's home): no "Would you like to get notified about
official Jupyter news?" pop-up over the lesson. An existing overrides.json is
merged, not replaced: a setting it already holds stays as it is.
    .venv/bin/python tools/install.py lab-settings    only that step (tools/lab.py runs it)

Stdlib only: it runs before anything else is installed.
"""
from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK_DIR = ROOT / "requirements"
AUDIENCES = ("lab", "grading", "test")
# JupyterLab settings overrides: {plugin id: {setting: value}} (keys from the installed JupyterLab's schemas,
# <prefix>/share/jupyter/lab/schemas/@jupyterlab/apputils-extension/notification.json; tests/test_lab.py checks them).
LAB_OVERRIDES = {
    # "none" (the default) asks every new learner about Jupyter news in a toast; "false" never fetches news and never
    # asks (checkForUpdates needs fetchNews "true", so it is off too).
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false"},
}
CPU_INDEX = os.environ.get("COURSE_TORCH_CPU_INDEX", "https://download.pytorch.org/whl/cpu")
PROBE_SECONDS = 5
UV_VERSION = "0.13.9"
# Locked packages whose stated requirements contradict the lock: uv installs them under pyproject.toml's
# [tool.uv] override-dependencies (it reads them when it runs in ROOT); pip has no overrides, so with pip they
# come after the rest, without their requirements (what they import is in the lock). {name: why}
WITHOUT_REQUIREMENTS = {"ngshare-exchange": "requires jupyter_core<4.11.2; nbgrader 0.9 needs 4.12 or newer"}


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
            f"(PyPI's Linux build brings CUDA, about 4.5 GB more; COURSE_TORCH_CPU_INDEX=<mirror> retries).")


def pip_sources(config: str | None = None) -> list[str]:
    """pip's find-links and indexes (`pip config list`: files and PIP_* variables) as uv flags."""
    if config is None:
        config = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True,
                                text=True).stdout
    index_url, flags = None, []
    for line in config.splitlines():  # e.g. global.find-links='/opt/wheels' or :env:.index-url='...'
        key, _, value = line.partition("=")
        option, values = key.rsplit(".", 1)[-1], value.strip().strip("'\"").split()
        if option == "index-url" and values:
            if index_url is None or key.startswith(":env:"):  # a PIP_INDEX_URL variable wins, as in pip
                index_url = values[0]
        elif option in ("find-links", "extra-index-url"):
            for v in values:
                if v not in flags:
                    flags += [f"--{option}", v]
    if index_url:
        flags = ["--index-url", index_url] + flags
    if flags:  # pip takes the best version from all of them together
        flags += ["--index-strategy", "unsafe-best-match"]
    return flags


class Installer:
    """`uv pip install` (or `pip install`) into the running Python's environment.

    uv does not byte-compile ahead of time (pip does, for every module of every package):
    Python compiles what a lesson imports on first import, and keeps it.
    """

    def __init__(self) -> None:
        self.uv: Path | None = None
        self.sources: list[str] = []
        if os.environ.get("COURSE_INSTALLER", "uv").strip().lower() == "pip":
            return
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}"],
                              capture_output=True, text=True)
        uv = Path(sys.executable).with_name("uv.exe" if os.name == "nt" else "uv")
        if done.returncode == 0 and uv.exists():
            self.uv, self.sources = uv, pip_sources()
        else:
            print(f"uv {UV_VERSION} could not be installed here; installing with pip instead (slower).", flush=True)

    def install(self, *args: str, own_index: bool = False) -> None:
        """own_index: the arguments name their index, so pip's sources do not apply."""
        if self.uv is None:
            cmd = [sys.executable, "-m", "pip", "install", "--quiet", *args]
        else:
            cmd = [str(self.uv), "pip", "install", "--quiet", "--python", sys.executable,
                   *([] if own_index else self.sources), *args]
        subprocess.run(cmd, check=True, cwd=ROOT)  # uv reads [tool.uv] of ROOT/pyproject.toml


def without_requirements(lock_text: str) -> list[str]:
    """The lock's pins (lines as written) of the WITHOUT_REQUIREMENTS packages."""
    pins = (re.match(r"([A-Za-z0-9._-]+)==", line) for line in lock_text.splitlines())
    return [m.string for m in pins if m and m.group(1).lower().replace("_", "-") in WITHOUT_REQUIREMENTS]


def lab_overrides_path(prefix: str | Path) -> Path:
    """Where JupyterLab (and Notebook 7) of the environment at ``prefix`` read their settings overrides."""
    return Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def write_lab_settings(prefix: str | Path | None = None) -> Path | None:
    """Merge LAB_OVERRIDES into the environment's overrides.json; returns its path (None: left alone, one line says
    why). A setting the file already holds is kept; the file is rewritten only when something was added."""
    path = lab_overrides_path(sys.prefix if prefix is None else prefix)
    try:
        current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError) as exc:
        current = exc
    if not isinstance(current, dict) or any(not isinstance(current.get(p, {}), dict) for p in LAB_OVERRIDES):
        why = current if isinstance(current, Exception) else "not a JSON object of {plugin: {setting: value}}"
        print(f"JupyterLab settings: {path} left as it is ({why}); Jupyter may ask about its news.", flush=True)
        return None
    merged = dict(current)
    for plugin, settings in LAB_OVERRIDES.items():
        merged[plugin] = {**settings, **current.get(plugin, {})}
    if merged != current:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)  # a JupyterLab starting meanwhile reads the old file or the new one, never half of it
    return path


def install(audience: str) -> None:
    lock = LOCK_DIR / f"{audience}.txt"
    installer = Installer()
    if wants_cpu_torch():
        version = locked_torch(lock)
        why = index_unreachable(CPU_INDEX)
        if why:
            print(fallback_line(CPU_INDEX, why), flush=True)
        else:
            print(f"CPU torch: torch {version} from {CPU_INDEX} (Linux, no NVIDIA GPU)", flush=True)
            # --no-deps: torch's own dependencies come pinned from the lock below.
            installer.install("--no-deps", "--index-url", CPU_INDEX, f"torch=={version}", own_index=True)
    held = without_requirements(lock.read_text(encoding="utf-8"))
    if installer.uv is None and held:
        with tempfile.TemporaryDirectory() as tmp:
            rest = Path(tmp) / lock.name
            rest.write_text("\n".join(line for line in lock.read_text(encoding="utf-8").splitlines()
                                      if line not in held) + "\n", encoding="utf-8")
            installer.install("-r", str(rest))
        installer.install("--no-deps", *held)
    else:
        installer.install("-r", str(lock))
    # The course package itself, editable, and nothing the lock did not decide.
    installer.install("--no-deps", "-e", str(ROOT))
    write_lab_settings()


def main(argv: list[str]) -> int:
    if argv == ["lab-settings"]:
        return 0 if write_lab_settings() else 1
    if len(argv) != 1 or argv[0] not in AUDIENCES:
        print(f"usage: python tools/install.py {{{'|'.join(AUDIENCES)}|lab-settings}}", file=sys.stderr)
        return 2
    if sys.version_info < (3, 11):
        print(f"The course needs Python 3.11 or newer; {sys.executable} is {platform.python_version()}. "
              f"Remove .venv and run make with PYTHON=python3.11 (or newer).", file=sys.stderr)
        return 1
    install(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
