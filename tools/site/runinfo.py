"""What a site page says about the run behind its outputs: mode, machine, date, versions and run time.

Both executors write it into the executed notebook's metadata (``course_run``):
tools/run_lessons.py (`make run`, `make site-full`: with the run's wall time and data) and the nbval capture
plugin (`make test`).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import json
import os
import platform

KEY = "course_run"
# The libraries whose versions make a run's numbers what they are (the site shows the first ones).
PACKAGES = ("torch", "transformers", "datasets", "accelerate", "evaluate", "course-utils")


def is_smoke() -> bool:
    # The same switch as course_utils.environment.is_smoke (not imported: that module loads torch).
    return os.environ.get("COURSE_SMOKE", "").strip().lower() in {"1", "true", "yes", "on"}


def machine() -> dict:
    """Operating system, CPU count, GPU and CI of this run; no host name (pages are public)."""
    gpu = None
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except Exception:  # torch absent or broken: no GPU we could use
        gpu = None
    return {"system": f"{platform.system()} {platform.machine()}", "cpus": os.cpu_count(), "gpu": gpu,
            "ci": "GitHub Actions" if os.environ.get("GITHUB_ACTIONS") == "true" else None}


def versions() -> dict:
    """Python and the course's libraries as installed here (None for one that is not)."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def code_digest(nb) -> str:
    """sha256 of the code cells' sources: an executed copy belongs to the lesson only while this matches."""
    sources = [cell.get("source", "") for cell in nb["cells"] if cell.get("cell_type") == "code"]
    sources = ["".join(s) if isinstance(s, list) else s for s in sources]
    return hashlib.sha256(json.dumps(sources).encode("utf-8")).hexdigest()


def metadata(source_nb, runner: str, ok: bool, failed_cell: int | None = None, seconds: float | None = None,
             data: str | None = None) -> dict:
    """``seconds``: the lesson's wall time, start to last cell; ``data``: which MRPC the lessons read."""
    run = {
        "mode": "smoke" if is_smoke() else "full",
        "machine": machine(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "runner": runner,
        "ok": ok,
        "failed_cell": failed_cell,
        "code_sha256": code_digest(source_nb),
        "versions": versions(),
    }
    if seconds is not None:
        run["seconds"] = round(seconds, 1)
    if data is not None:
        run["data"] = data
    return run
