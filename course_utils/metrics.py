"""Where ``evaluate.load`` finds the GLUE metric: the Hub, or the course's local copy.

Lessons 3-6: ``metric = evaluate.load(glue_metric_source(env), "mrpc")``.
"""
from __future__ import annotations

from pathlib import Path

LOCAL_GLUE_METRIC = str(Path(__file__).parent / "evaluate_metrics" / "glue" / "glue.py")


def glue_metric_source(env) -> str:
    """'glue' (the Hub's module) when online, else the path of the local copy."""
    return "glue" if env.hub_online else LOCAL_GLUE_METRIC
