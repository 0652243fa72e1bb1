"""`make doctor` (or `python -m course_utils.doctor`): what this machine can do.

Prints versions, device, fp16/bf16 support, Hub access, the offline weights
(sha256 verified) and whether local MRPC files were found. README, "Set up".
"""
from __future__ import annotations

import os
import platform
import sys
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
    precision = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in support.items())
    rows = [
        (t("doctor_versions"), versions),
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
    rows.append(("make bench", t("doctor_gpu_bench" if env.has_gpu else "doctor_no_gpu_bench")))
    return rows


def main() -> int:
    print(messages.text("doctor_title"))
    rows = report()
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
