"""Which device this machine trains on (used by the set-up cell and the precision advice)."""
from __future__ import annotations

import os


def detect_device() -> tuple[str, str]:
    """('cuda' | 'mps' | 'cpu', a human name for it), like d2l's try_gpu."""
    import torch

    if torch.cuda.is_available():
        return "cuda", torch.cuda.get_device_name(0)
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps", "Apple GPU"
    import platform as _platform

    return "cpu", f"{_platform.processor() or _platform.machine()}, {os.cpu_count()} cores"
