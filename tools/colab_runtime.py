"""`make test-colab`, part 2: every lesson (en, ko) in smoke mode in a venv with Colab's versions.

    python3 tools/colab_runtime.py setup      build/colab-venv with Colab's kernel stack, widgets, ML libraries
    build/colab-venv/bin/python tools/colab_runtime.py run [LESSON ...]   execute the lessons there

setup: a venv on this machine's Python (Colab runs Python 3.13: see requirements/colab-runtime/os-info.txt)
with the versions Colab's pip freeze names of RUNTIME_PACKAGES and, as constraints, of everything they
bring. torch is the exception: Colab's is 2.11.0+cpu; here torch==2.13.0, the CPU build this machine keeps
on disk (PyPI's 2.11.0 for Linux is the CUDA build, several GB). The venv's state after setup is kept in
build/colab-venv/.colab-baseline.txt; `run` puts it back first (a former run's first cell upgraded it).

run: each lesson is copied into a folder of its own (cwd, as Colab's /content: the lesson's language comes
from the stand-in's notebook request, as on Colab) and executed with nbclient through the venv's
ipykernel and jupyter_client, with a stand-in `google.colab` (build/colab/stand-in: `output` records
enable_custom_widget_manager calls, `_message` answers "get_ipynb") imported at kernel start by an
IPython startup file, as Colab's kernel has it loaded before the first cell. The first cell therefore
takes its Colab branch: `%pip install` runs for real, with pip, but its two GitHub URLs are rewritten in
memory to the local checkout (the constraint file requirements/colab.txt and `file://<checkout>`): pip's
find-links, PIP_CONSTRAINT or an index cannot redirect a direct `git+https` requirement or a constraint
URL, and the machine has no route to GitHub. Checked per lesson: every cell ran, the Colab branch ran
(one enable_custom_widget_manager call), widgets were shown with ipywidgets 8's models (model module
version 2.0.0 of @jupyter-widgets/controls, not ipywidgets 7's 1.5.0). Exit 1 if any lesson fails.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "requirements" / "colab-runtime"
VENV = ROOT / "build" / "colab-venv"
WORK = ROOT / "build" / "colab"
BASELINE = VENV / ".colab-baseline.txt"
# Colab's versions of these (from its freeze) make the runtime: kernel stack, widgets, ML libraries.
RUNTIME_PACKAGES = ("pip", "ipykernel", "ipython", "jupyter-client", "jupyter-core", "traitlets", "tornado", "pyzmq",
                    "matplotlib-inline", "ipywidgets", "widgetsnbextension", "jupyterlab-widgets", "nbclient",
                    "nbformat", "numpy", "pandas", "matplotlib", "scikit-learn", "scipy", "transformers",
                    "tokenizers", "safetensors", "huggingface-hub", "datasets", "accelerate", "pyarrow", "fsspec",
                    "pyyaml", "tqdm", "sentence-transformers")
UNCONSTRAINED = {"setuptools"}
TORCH = "torch==2.13.0"  # the CPU build on this machine's disk; Colab's is 2.11.0+cpu
# The Colab cell (tools/repository_url.py) builds its two GitHub URLs in variables that %pip expands.
INSTALL_LINE = re.compile(r'^\s*%pip install -q -c \{versions\} "\{package\}"$', re.M)
VERSIONS_LINE = re.compile(r'^(\s*versions = )f?"https://raw\.githubusercontent\.com/\S+/requirements/colab\.txt"$',
                           re.M)
PACKAGE_LINE = re.compile(r'^(\s*package = )f?"(course-utils\[offline\] @ )git\+https://github\.com/\S+"$', re.M)
CONTROLS = "@jupyter-widgets/controls"
IPYWIDGETS8_MODEL_VERSION = "2.0.0"  # ipywidgets 7 writes 1.5.0


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def freeze_pins(text: str) -> dict[str, str]:
    """{canonical name: version} of Colab's `name==version` lines (URL lines left out)."""
    found = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$", line.strip())
        if m:
            found[canonical(m.group(1))] = m.group(2)
    return found


def colab_python() -> str:
    m = re.search(r"^Python (\S+)", (SNAPSHOT / "os-info.txt").read_text(encoding="utf-8"), re.M)
    return m.group(1) if m else "?"


def rewrite_first_cell(source: str, root: Path = ROOT) -> str:
    """The Colab cell with its constraint URL and git URL pointing at the local checkout."""
    if any(len(line.findall(source)) != 1 for line in (INSTALL_LINE, VERSIONS_LINE, PACKAGE_LINE)):
        raise ValueError(f"the first cell has no (or more than one) Colab install of the expected shape:\n{source}")
    source = VERSIONS_LINE.sub(lambda m: f'{m.group(1)}"{root / "requirements" / "colab.txt"}"', source)
    return PACKAGE_LINE.sub(lambda m: f'{m.group(1)}"{m.group(2)}{root.as_uri()}"', source)


def pip(python: Path, *args: str, quiet: bool = True) -> None:
    subprocess.run([str(python), "-m", "pip", "install", *(["-q"] if quiet else []), *args], check=True)


def venv_freeze(python: Path) -> str:
    return subprocess.run([str(python), "-m", "pip", "freeze", "--all"], check=True, capture_output=True,
                          text=True).stdout


# --- setup ---------------------------------------------------------------------------------------

def setup(force: bool = False) -> int:
    freeze = freeze_pins((SNAPSHOT / "pip-freeze.txt").read_text(encoding="utf-8"))
    python = VENV / "bin" / "python"
    stamp = VENV / ".colab-setup"
    key = json.dumps({"freeze": sorted(freeze.items()), "packages": RUNTIME_PACKAGES, "torch": TORCH})
    if not force and stamp.exists() and stamp.read_text() == key and BASELINE.exists():
        print(f"colab-venv: up to date ({VENV.relative_to(ROOT)})")
        return 0
    started = time.monotonic()
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    WORK.mkdir(parents=True, exist_ok=True)
    constraints = WORK / "colab-freeze-constraints.txt"
    # Everything but torch's family (the CPU build of this machine's disk stands in) and setuptools (torch 2.13
    # needs >= 77, Colab has 75.2) as constraints; torch named again below, so pip never trades it for a CUDA build.
    constraints.write_text("".join(f"{n}=={v}\n" for n, v in sorted(freeze.items())
                                   if not n.startswith("torch") and n not in UNCONSTRAINED))
    pip(python, f"pip=={freeze['pip']}")
    print(f"colab-venv: {TORCH} (CPU build from this machine's disk; Colab has torch 2.11.0+cpu, whose "
          f"PyPI release for Linux is the CUDA build)", flush=True)
    pip(python, TORCH)
    missing = [p for p in RUNTIME_PACKAGES if p not in freeze]
    if missing:
        raise SystemExit(f"Colab's freeze has no {missing}: update RUNTIME_PACKAGES")
    pip(python, "-c", str(constraints), TORCH, *(f"{p}=={freeze[p]}" for p in RUNTIME_PACKAGES))
    BASELINE.write_text(venv_freeze(python))
    stamp.write_text(key)
    print(f"colab-venv: built in {time.monotonic() - started:.0f} s on Python {sys.version.split()[0]} "
          f"(Colab runs Python {colab_python()})")
    return 0


def restore_baseline(python: Path) -> None:
    """Undo a former run's first-cell install: remove what it added, put Colab's versions back."""
    base = freeze_pins(BASELINE.read_text())
    now = venv_freeze(python)
    current = {canonical(m.group(1)): m.group(2) for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:==| @ )(\S+)$",
                                                                        now, re.M)}
    extra = sorted(n for n in current if n not in base and n != "torch")
    changed = sorted(n for n, v in base.items() if current.get(n) != v and n != "torch")
    if extra:
        subprocess.run([str(python), "-m", "pip", "uninstall", "-q", "-y", *extra], check=True)
    if changed:
        pip(python, "--no-deps", *(f"{n}=={base[n]}" for n in changed))
    if extra or changed:
        print(f"colab-venv: back to Colab's versions (removed {len(extra)}, reinstalled {len(changed)})", flush=True)


# --- the google.colab stand-in -------------------------------------------------------------------

STANDIN_OUTPUT = '''"""Stand-in for google.colab.output (tools/colab_runtime.py): records the calls."""
import json, os, time


def _record(name, **kw):
    with open(os.environ["COLAB_STANDIN_LOG"], "a", encoding="utf-8") as f:
        f.write(json.dumps({"call": name, "notebook": os.environ.get("COLAB_STANDIN_NOTEBOOK"), "t": time.time(), **kw}) + "\\n")


def enable_custom_widget_manager():
    _record("enable_custom_widget_manager")


def disable_custom_widget_manager():
    _record("disable_custom_widget_manager")
'''
STANDIN_MESSAGE = '''"""Stand-in for google.colab._message: answers "get_ipynb" with the running notebook, as Colab's front end."""
import json, os


def blocking_request(request_type, request="", timeout_sec=5, parent=None):
    if request_type != "get_ipynb":
        raise NotImplementedError(request_type)
    with open(os.environ["COLAB_STANDIN_NOTEBOOK"], encoding="utf-8") as f:
        return {"ipynb": json.load(f)}
'''


def write_standin(folder: Path) -> tuple[Path, Path]:
    """(PYTHONPATH entry, IPYTHONDIR) of the stand-in; google/ stays a namespace package (protobuf's too)."""
    pkg = folder / "stand-in" / "google" / "colab"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text('"""Stand-in for Colab\'s google.colab (tools/colab_runtime.py)."""\n')
    (pkg / "output.py").write_text(STANDIN_OUTPUT)
    (pkg / "_message.py").write_text(STANDIN_MESSAGE)
    startup = folder / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-google-colab.py").write_text("import google.colab  # loaded before the first cell, as on Colab\n")
    return folder / "stand-in", folder / "ipython"


# --- run -----------------------------------------------------------------------------------------

PROBE = """import json as _j, sys as _s, ipykernel as _k, IPython as _i, jupyter_client as _c, ipywidgets as _w
print("COLAB-PROBE " + _j.dumps({"executable": _s.executable, "ipykernel": _k.__version__, "IPython": _i.__version__,
                                "jupyter_client": _c.__version__, "ipywidgets": _w.__version__}))"""


def _probe_result(cell) -> dict:
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")
    found = [line[len("COLAB-PROBE "):] for line in text.splitlines() if line.startswith("COLAB-PROBE ")]
    return json.loads(found[-1]) if found else {}


def cell_seconds(cell) -> float | None:
    """Seconds a cell ran, from nbclient's timing metadata."""
    from datetime import datetime

    times = cell.get("metadata", {}).get("execution", {})
    try:
        start, end = (datetime.fromisoformat(times[k].replace("Z", "+00:00"))
                      for k in ("iopub.execute_input", "shell.execute_reply"))
    except (KeyError, ValueError):
        return None
    return round((end - start).total_seconds(), 1)


def widget_check(nb) -> tuple[int, list[str]]:
    """(widget views shown, problems) from nbclient's stored widget state and the outputs."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    views = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    versions = sorted({m.get("model_module_version") for m in state.values() if m.get("model_module") == CONTROLS})
    problems = []
    if views and versions != [IPYWIDGETS8_MODEL_VERSION]:
        problems.append(f"{CONTROLS} models of version {versions}, not ipywidgets 8's {IPYWIDGETS8_MODEL_VERSION}")
    return len(views), problems


def run(lessons: list[str], timeout: int) -> int:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    if Path(sys.prefix).resolve() != VENV.resolve():
        raise SystemExit(f"run it with {VENV / 'bin' / 'python'} (its kernel stack is Colab's)")
    python = Path(sys.executable)
    restore_baseline(python)
    import importlib.metadata as md

    stack = {n: md.version(n) for n in ("ipykernel", "ipython", "jupyter_client", "ipywidgets", "nbclient", "torch",
                                        "transformers", "numpy", "pandas")}
    print(f"Colab runtime stand-in on Python {sys.version.split()[0]} (Colab runs Python {colab_python()}): "
          + ", ".join(f"{k} {v}" for k, v in stack.items()), flush=True)
    run_dir = WORK / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    standin, ipython_dir = write_standin(WORK)
    log = WORK / "colab-calls.jsonl"
    log.unlink(missing_ok=True)
    # MRPC as the Makefile finds it (COURSE_DATA_DIR, or ../shared beside a maintainer's checkout); without
    # either, the lessons read the course's own paraphrase set, as on Colab without the Hub.
    shared = ROOT.parent / "shared" / "data" / "mrpc"
    data = os.environ.get("COURSE_DATA_DIR") or (str(shared.resolve()) if shared.is_dir() else None)
    if data is None:
        os.environ.pop("COURSE_DATA_DIR", None)
    os.environ.update(COURSE_SMOKE="1", HF_HUB_OFFLINE="1", TQDM_DISABLE="1", TOKENIZERS_PARALLELISM="false",
                      **({"COURSE_DATA_DIR": data} if data else {}), PYTHONPATH=str(standin), IPYTHONDIR=str(ipython_dir),
                      COLAB_STANDIN_LOG=str(log), PYDEVD_DISABLE_FILE_VALIDATION="1", HF_HOME=str(WORK / "hf-home"), MPLBACKEND="module://matplotlib_inline.backend_inline")
    paths = sorted((ROOT / "notebooks" / "en").glob("*.ipynb")) + sorted((ROOT / "notebooks" / "ko").glob("*.ipynb"))
    if lessons:
        paths = [p for p in paths if any(s in p.stem for s in lessons)]
    results, failed = [], 0
    for path in paths:
        lang = path.parent.name
        cwd = run_dir / f"{path.stem}-{lang}"  # not named en/ko: the language comes from "get_ipynb", as on Colab
        cwd.mkdir(parents=True)
        nb = nbformat.read(path, as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "code")
        first.source = rewrite_first_cell(first.source)
        copy = cwd / path.name
        nbformat.write(nb, copy)
        nb.cells.append(nbformat.v4.new_code_cell(PROBE))  # in memory only: which kernel stack ran the lesson
        os.environ["COLAB_STANDIN_NOTEBOOK"] = str(copy)
        calls_before = len(log.read_text().splitlines()) if log.exists() else 0
        started = time.monotonic()
        error = None
        try:
            NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}},
                           store_widget_state=True).execute()
        except CellExecutionError as exc:
            error = f"{getattr(exc, 'ename', 'error')}: {str(getattr(exc, 'evalue', exc))[:300]}"
        except Exception as exc:  # noqa: BLE001  (a kernel that died, a timeout: the lesson failed)
            error = f"{type(exc).__name__}: {str(exc)[:300]}"
        seconds = time.monotonic() - started
        nbformat.write(nb, copy)
        calls = [json.loads(line) for line in (log.read_text().splitlines() if log.exists() else [])][calls_before:]
        problems = [error] if error else []
        if [c["call"] for c in calls] != ["enable_custom_widget_manager"]:
            problems.append(f"google.colab.output calls: {[c['call'] for c in calls]} (expected one "
                            f"enable_custom_widget_manager: did the Colab branch run?)")
        probe = nb.cells.pop()
        ran = _probe_result(probe)
        if not error and ran.get("executable", "").rsplit("/bin/", 1)[0] != str(VENV):
            problems.append(f"the kernel was not build/colab-venv's: {ran}")
        elif not error and (ran.get("ipykernel"), ran.get("IPython"), ran.get("jupyter_client")) != \
                tuple(stack[k] for k in ("ipykernel", "ipython", "jupyter_client")):
            problems.append(f"kernel stack {ran}, not Colab's")
        views, widget_problems = widget_check(nb)
        problems += widget_problems
        if not error and views == 0:
            problems.append("no widget shown (the quiz's last cell shows one)")
        failed += bool(problems)
        install = cell_seconds(first)
        results.append({"lesson": f"{lang}/{path.name}", "seconds": round(seconds, 1), "first_cell_seconds": install,
                        "widget_views": views, "problems": problems})
        print(f"  {'FAIL' if problems else 'ok  '} {lang}/{path.name}: {seconds:.0f} s (first cell's install "
              f"{install if install is not None else '?'} s), {views} widget view(s)"
              + "".join(f"\n       {p}" for p in problems), flush=True)
    installed = {n: md.version(n) for n in ("course-utils", "transformers", "datasets", "huggingface-hub",
                                            "ipywidgets", "accelerate", "tokenizers")}
    print("after the first cell's install: " + ", ".join(f"{k} {v}" for k, v in installed.items()))
    (WORK / "runtime.json").write_text(json.dumps({"stack": stack, "installed": installed, "lessons": results},
                                                  indent=1), encoding="utf-8")
    print(f"Colab runtime: {len(paths) - failed} of {len(paths)} lessons passed ({run_dir.relative_to(ROOT)}/)")
    return 1 if failed or not paths else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--force", action="store_true")
    r = sub.add_parser("run")
    r.add_argument("lessons", nargs="*", help="parts of lesson file names (default: every lesson, en and ko)")
    r.add_argument("--timeout", type=int, default=900, help="seconds a cell may take")
    args = parser.parse_args(argv)
    return setup(args.force) if args.command == "setup" else run(args.lessons, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
