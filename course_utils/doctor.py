"""`make doctor` (or `python -m course_utils.doctor`): what this machine can do.

Prints versions, whether they are the locked ones (requirements/*.txt), device,
fp16/bf16 support, Hub access, the offline weights (sha256 verified), whether
local MRPC files were found, and whether the grading sandbox can start.
README, "Installing".
"""
from __future__ import annotations

import os
import platform
import re
import sys
import unicodedata
from importlib import metadata
from pathlib import Path

from . import messages
from .errors import CourseError

PACKAGES = ("torch", "transformers", "datasets", "evaluate", "accelerate", "ipywidgets", "nbgrader")


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


# The set an install holds, from its stamp (Makefile): each set includes the ones before it.
LOCKED_SETS = ("test", "grading", "lab")
LOCK_DIR = Path(__file__).resolve().parents[1] / "requirements"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?:\s*;\s*(.*))?$", re.M)


def installed_set(prefix: Path | None = None) -> str:
    """Which locked set this environment holds (its Makefile stamp); 'lab' when none says."""
    prefix = Path(prefix or sys.prefix)
    return next((name for name in LOCKED_SETS if (prefix / f".course-{name}").exists()), "lab")


def lock_differences(lock: Path) -> tuple[int, list[str]]:
    """(pins that apply here, 'name installed (locked X)' for each that differs) for a lock file.

    A local build label does not count (torch 2.13.0+cpu is the locked 2.13.0). The items are in the
    learner's language (messages: doctor_lock_item).
    """
    from packaging.markers import Marker

    count, differ = 0, []
    for name, version, marker in _PIN.findall(lock.read_text(encoding="utf-8")):
        if marker and not Marker(marker).evaluate():
            continue
        count += 1
        have = _version(name)
        if have.split("+")[0] != version:
            differ.append(messages.text("doctor_lock_item", name=name, have=have, version=version))
    return count, differ


def lock_row() -> str:
    name = installed_set()
    lock = LOCK_DIR / f"{name}.txt"
    if not lock.is_file():
        return messages.text("doctor_lock_none")
    count, differ = lock_differences(lock)
    shown = f"requirements/{lock.name}"
    if not differ:
        return messages.text("doctor_lock_ok", count=count, lock=shown)
    fix = f"{Path(sys.executable)} {LOCK_DIR.parent / 'tools' / 'install.py'} {name}"
    items = ", ".join(differ[:5]) + (f" (+{len(differ) - 5})" if len(differ) > 5 else "")
    return messages.text("doctor_lock_differ", n=len(differ), count=count, lock=shown, items=items, fix=fix)


def grading_sandbox_status() -> tuple[bool, str]:
    """(ready, one line): does the grading sandbox start here, as `make autograde` checks before grading?

    The same check autograde runs (course_utils.grading.sandbox.preflight): bubblewrap with the
    course's namespaces, seccomp filter and limits starts an isolated Python that imports the
    grading kernel. The ready line is in the learner's language; a problem is preflight's own line.
    """
    from course_utils.grading.sandbox import preflight

    problem = preflight()
    if problem is not None:
        return False, problem
    return True, messages.text("doctor_sandbox_ready")


def find_local_mrpc() -> Path | None:
    """The folder COURSE_DATA_DIR names, if it holds train.tsv (what load_mrpc() will read)."""
    folder = os.environ.get("COURSE_DATA_DIR")
    if folder and (Path(folder).expanduser() / "train.tsv").is_file():
        return Path(folder).expanduser().resolve()
    return None


def report() -> list[tuple[str, str]]:
    """(label, value) rows of the doctor report, in the learner's language."""
    from .environment import describe, hub_status_reason
    from .models import offline_checkpoint
    from .precision import precision_advice, precision_support

    t = messages.text
    env = describe()
    versions = f"Python {platform.python_version()}, " + ", ".join(f"{p} {_version(p)}" for p in PACKAGES)
    support = precision_support(env.device)
    precision = ", ".join(f"{k} {t('doctor_supported' if v else 'doctor_unsupported')}" for k, v in support.items())
    rows = [
        (t("doctor_versions"), versions),
        (t("doctor_lock"), lock_row()),
        (t("doctor_device"), f"{env.device} ({env.device_name})"),
        (t("doctor_precision"), f"{precision}. {precision_advice(env.device, env.device_name)}"),
        (t("doctor_hub"), t("doctor_reachable") if env.hub_online else t("doctor_unreachable", why=hub_status_reason())),
    ]
    try:
        folder = offline_checkpoint()
        weights = t("doctor_weights_ok", path=folder) if folder else t("doctor_weights_missing")
    except CourseError as exc:
        weights = str(exc)
    rows.append((t("doctor_weights"), weights))
    data = find_local_mrpc()
    if data:
        rows_in_train = sum(1 for _ in open(data / "train.tsv", encoding="utf-8-sig")) - 1
        rows.append((t("doctor_data"), t("doctor_data_found", path=data, rows=rows_in_train)))
    else:
        rows.append((t("doctor_data"), t("doctor_data_missing")))
    rows.append((t("doctor_smoke"), t("smoke_on" if env.smoke else "smoke_off")))
    rows.append((t("doctor_bench"), t("doctor_gpu_bench" if env.has_gpu else "doctor_no_gpu_bench")))
    rows.append((t("doctor_sandbox"), grading_sandbox_status()[1]))
    return rows


def _columns(text: str) -> int:
    """Terminal columns of ``text``: a Hangul syllable (a wide character) takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def main() -> int:
    print(messages.text("doctor_title"))
    rows = report()
    width = max(_columns(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label}{' ' * (width - _columns(label))}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
