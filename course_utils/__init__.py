"""Helpers for the course "Fine-tuning a pretrained model with the Trainer API".

The lessons call the Hugging Face APIs themselves; this package only does
what they cannot do alone on every machine: find out where it runs (Hub,
GPU, smoke mode), fall back to offline data/weights/metric, plot, and quiz.
"""
from .data import check_pair_dataset, load_mrpc, read_mrpc_folder, smoke_subset
from .environment import CourseEnvironment, hub_reachable, in_colab, is_smoke, seed_everything, setup
from .errors import CourseError
from .messages import get_language, set_language
from .metrics import LOCAL_GLUE_METRIC, glue_metric_source
from .models import CANONICAL_CHECKPOINT, offline_checkpoint, pick_checkpoint
from .plots import log_history_frames, plot_loss_curves
from .precision import mixed_precision_kwargs, precision_support

__version__ = "0.1.0"

__all__ = [
    "CANONICAL_CHECKPOINT", "CourseEnvironment", "CourseError", "LOCAL_GLUE_METRIC", "check_pair_dataset",
    "get_language", "glue_metric_source", "hub_reachable", "in_colab", "is_smoke", "load_mrpc",
    "log_history_frames", "mixed_precision_kwargs", "offline_checkpoint", "pick_checkpoint",
    "plot_loss_curves", "precision_support", "read_mrpc_folder", "seed_everything", "set_language", "setup",
    "smoke_subset",
]
