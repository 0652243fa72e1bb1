"""Where the course runs: platform, device, Hub access, smoke mode, seeds.

Used by the set-up cell of every lesson: ``env = course_utils.setup()``.
"""
from __future__ import annotations

import os
import random
import socket
import sys
import threading
import warnings
from dataclasses import dataclass
from urllib.parse import urlparse

from . import messages
from .device import detect_device
from .errors import install_notebook_handler

HUB_PROBE_TIMEOUT_S = 2.5
_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_EVALUATE_OFFLINE")
_hub_state: tuple[bool, str] | None = None


@dataclass(frozen=True)
class CourseEnvironment:
    """What this machine can do; printed by setup() and `make doctor`."""

    platform: str  # "colab" or "local"
    device: str  # "cuda", "mps" or "cpu"
    device_name: str
    hub_online: bool
    smoke: bool
    language: str
    seed: int

    @property
    def has_gpu(self) -> bool:
        return self.device == "cuda"

    @property
    def cpu_bf16(self) -> bool:
        """Training on a CPU with native bf16 instructions: the lessons' one visible change to the Trainer's defaults.

        Lessons pass ``bf16=env.cpu_bf16, use_cpu=env.cpu_bf16`` (TrainingArguments accepts bf16 on a machine without
        a GPU only with use_cpu=True). Both are False elsewhere, which is the Trainer's default (fp32); lesson 4
        teaches fp16/bf16 on a GPU.
        """
        from .precision import cpu_bf16_supported

        return self.device == "cpu" and cpu_bf16_supported()


def in_colab() -> bool:
    """True inside Google Colab (lesson set-up cells)."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def is_smoke() -> bool:
    """The one size switch: COURSE_SMOKE=1 shrinks data and steps (CI, impatient CPUs)."""
    return os.environ.get("COURSE_SMOKE", "").strip().lower() in {"1", "true", "yes", "on"}


def seed_everything(seed: int = 42) -> int:
    """Seed Python, NumPy and PyTorch (and CUDA) so reruns give the same numbers."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    return seed


def _hub_host() -> tuple[str, int]:
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    return url.hostname or "huggingface.co", url.port or (443 if url.scheme != "http" else 80)


def _probe(host: str, port: int, result: list) -> None:
    try:
        with socket.create_connection((host, port), timeout=HUB_PROBE_TIMEOUT_S):
            result.append((True, "ok"))
    except OSError as exc:
        result.append((False, type(exc).__name__))


def go_offline() -> None:
    """Put huggingface_hub, datasets, transformers and evaluate in offline mode.

    Environment variables cover libraries imported later; modules already
    imported read their constants at import time, so those are set too.
    """
    for name in _OFFLINE_VARIABLES:
        os.environ[name] = "1"
    if "huggingface_hub" in sys.modules:
        sys.modules["huggingface_hub"].constants.HF_HUB_OFFLINE = True
    if "datasets" in sys.modules:
        config = sys.modules["datasets"].config
        config.HF_HUB_OFFLINE = config.HF_DATASETS_OFFLINE = True
    if "evaluate" in sys.modules:
        sys.modules["evaluate"].config.HF_EVALUATE_OFFLINE = True


def hub_reachable(refresh: bool = False) -> bool:
    """Probe the Hub once (at most ~3 s); when it is unreachable, go offline.

    An unreachable Hub otherwise costs ~48 s of retries on every call.
    The answer is cached for the session; HF_HUB_OFFLINE=1 skips the probe.
    """
    global _hub_state
    if _hub_state is not None and not refresh:
        return _hub_state[0]
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        _hub_state = (False, "HF_HUB_OFFLINE=1")
    else:
        result: list = []
        # A thread bounds DNS lookups too, which socket timeouts do not cover.
        thread = threading.Thread(target=_probe, args=(*_hub_host(), result), daemon=True)
        thread.start()
        thread.join(HUB_PROBE_TIMEOUT_S + 0.3)
        _hub_state = result[0] if result else (False, "timeout")
    if not _hub_state[0]:
        go_offline()
    return _hub_state[0]


def hub_status_reason() -> str:
    """Why the last probe said what it said ('ok', 'timeout', 'gaierror', ...)."""
    hub_reachable()
    return _hub_state[1]


def describe(seed: int = 42, language: str | None = None) -> CourseEnvironment:
    """Detect everything without printing (used by setup() and doctor)."""
    device, name = detect_device()
    return CourseEnvironment(
        platform="colab" if in_colab() else "local",
        device=device,
        device_name=name,
        hub_online=hub_reachable(),
        smoke=is_smoke(),
        language=language or messages.get_language(),
        seed=seed,
    )


def setup(lang: str | None = None, seed: int = 42) -> CourseEnvironment:
    """The one set-up call of every lesson: language, Hub probe, seeds, summary.

    Prints one line each for the Hub, the device and the size mode.
    """
    from .precision import precision_advice

    if lang is not None:  # otherwise messages.get_language(): COURSE_LANG, else the lesson's folder
        messages.set_language(lang)
    install_notebook_handler()
    # Fast tokenizers use threads unless this says "false". Once they have, every fork (DataLoader workers,
    # map(num_proc=...), multi-process launchers) warns of a possible deadlock; "false" avoids warning and risk.
    # Only a default: a learner's own setting wins. Lesson 1 times batched tokenization both ways and says so.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # The Trainer's DataLoader asks for pinned memory; without a GPU torch warns on every run.
    warnings.filterwarnings("ignore", message=".*pin_memory.*no accelerator is found.*")
    env = describe(seed=seed)
    seed_everything(seed)
    reason = hub_status_reason()
    if env.hub_online:
        messages.say("hub_online")
    elif reason == "HF_HUB_OFFLINE=1":
        messages.say("hub_offline_forced")
    else:
        messages.say("hub_offline", why=reason)
    messages.say("device", device=env.device, name=env.device_name, precision=precision_advice(env.device, env.device_name))
    messages.say("smoke_on" if env.smoke else "smoke_off")
    return env
