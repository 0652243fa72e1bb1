"""`make lab`: JupyterLab on the lessons, in the learner's language (the Makefile calls it).

    .venv/bin/python tools/lab.py [arguments for jupyter lab]        make lab LAB_ARGS="..."

- COURSE_LANG=ko opens notebooks/ko, any other value notebooks/en (read as the
  lessons read it: its first two letters); unset or empty: notebooks/, both.
- As root, without --allow-root among the arguments, one line says, before
  Jupyter starts, that Jupyter will refuse and how to go on
  (make lab LAB_ARGS=--allow-root). Jupyter still decides: a configuration that
  allows root starts as before.
- An environment installed before tools/install.py wrote the JupyterLab
  settings (no news pop-up) gets them first (`tools/install.py lab-settings`).
COURSE_LAB_DRY_RUN=1 prints the line and the command instead (tests/test_lab.py).
Stdlib only.
"""
from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
ALLOW_ROOT = re.compile(r"--allow-root|--(?:\w+\.)?allow_root(?:=(?:true|1|yes))?", re.I)


def lesson_dir(course_lang: str | None) -> Path:
    """notebooks/ko for Korean, notebooks/en for any other language, notebooks/ when none is set."""
    lang = (course_lang or "").strip().lower()[:2]  # as course_utils.messages reads COURSE_LANG
    if not lang:
        return NOTEBOOKS
    return NOTEBOOKS / ("ko" if lang == "ko" else "en")


def root_hint(args: list[str], euid: int | None, course_lang: str | None = None) -> str | None:
    """The one line a root user reads before Jupyter refuses (None: not root, or --allow-root is passed)."""
    if euid != 0 or any(ALLOW_ROOT.fullmatch(a) for a in args):
        return None
    lab_args = shlex.join(args + ["--allow-root"]) if args else "--allow-root"
    if " " in lab_args:
        lab_args = f'"{lab_args}"'
    if (course_lang or "").strip().lower()[:2] == "ko":
        return (f"make lab: root 계정으로 실행하면 Jupyter가 시작을 거부합니다(Running as root is not recommended). "
                f"그래도 실행하려면: make lab LAB_ARGS={lab_args}")
    return (f"make lab: you are root, and Jupyter refuses to run as root (\"Running as root is not recommended\"); "
            f"to go on anyway: make lab LAB_ARGS={lab_args}")


def command(args: list[str], course_lang: str | None, python: str = sys.executable) -> list[str]:
    """jupyter lab of this environment on the lesson folder, then the caller's arguments."""
    jupyter = Path(python).with_name("jupyter.exe" if os.name == "nt" else "jupyter")
    return [str(jupyter), "lab", os.path.relpath(lesson_dir(course_lang)), *args]


def main(argv: list[str]) -> int:
    lang = os.environ.get("COURSE_LANG")
    euid = os.geteuid() if hasattr(os, "geteuid") else None
    hint = root_hint(argv, euid, lang)
    cmd = command(argv, lang)
    if hint:
        print(hint, file=sys.stderr, flush=True)
    if os.environ.get("COURSE_LAB_DRY_RUN"):
        print(shlex.join(cmd), flush=True)
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from install import write_lab_settings

    write_lab_settings()
    os.execv(cmd[0], cmd)  # Jupyter takes this process over: Ctrl+C and the exit status are its own
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
