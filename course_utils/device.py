"""Which device this machine trains on (used by the set-up cell and the precision advice).

Nothing here initializes CUDA in this process: torch.cuda.is_available() and device_count() do not
call torch.cuda._lazy_init(), and the GPU's name and compute capability come from nvidia-smi. A kernel
that has initialized CUDA can no longer fork, so accelerate's notebook_launcher (lesson 5) would refuse
to start several GPU processes after the set-up cell.
"""
from __future__ import annotations

import os
import subprocess
from functools import lru_cache

CUDA_FALLBACK_NAME = "CUDA GPU"


def usable_cores() -> int:
    """CPU cores this process may use (its affinity mask, not the machine's count; macOS/Windows: the count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@lru_cache(maxsize=1)
def _nvidia_smi_query(field: str) -> tuple[str, ...]:
    """One value per GPU for an nvidia-smi --query-gpu field (empty when nvidia-smi is missing or fails)."""
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(line.strip() for line in out.splitlines() if line.strip())


def cuda_device_name() -> str:
    """The first GPU's name without initializing CUDA (accelerate's nvidia-smi query), else 'CUDA GPU'."""
    try:
        from accelerate.utils import get_gpu_info

        names, _count = get_gpu_info()
        if names and names[0]:
            return names[0]
    except Exception:  # no nvidia-smi (ROCm, containers without it), odd output
        pass
    return CUDA_FALLBACK_NAME


def cuda_compute_capability() -> tuple[int, int] | None:
    """(major, minor) of the first GPU from nvidia-smi, without initializing CUDA; None when unknown."""
    values = _nvidia_smi_query("compute_cap")
    try:
        major, minor = values[0].split(".")
        return int(major), int(minor)
    except (IndexError, ValueError):
        return None


def detect_device() -> tuple[str, str]:
    """('cuda' | 'mps' | 'cpu', a human name for it), like d2l's try_gpu. Never initializes CUDA."""
    import torch

    if torch.cuda.is_available() and torch.cuda.device_count() > 0:
        name = cuda_device_name()
        count = torch.cuda.device_count()
        return "cuda", name if count == 1 else f"{name} × {count}"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps", "Apple GPU"
    import platform as _platform

    return "cpu", f"{_platform.processor() or _platform.machine()}, {os.cpu_count()} cores"
