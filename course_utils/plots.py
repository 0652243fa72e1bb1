"""Loss curves from ``trainer.state.log_history`` in one call.

Lessons 3 and 6 draw these curves inline with matplotlib, because reading the log is what they teach; lesson 6
points learners here for their own notebooks.
"""
from __future__ import annotations


def log_history_frames(log_history: list[dict]):
    """(training rows, evaluation rows) of a Trainer's log_history as DataFrames."""
    import pandas as pd

    frame = pd.DataFrame(log_history)
    train = frame[frame.get("loss").notna()] if "loss" in frame else frame.iloc[0:0]
    evaluation = frame[frame.get("eval_loss").notna()] if "eval_loss" in frame else frame.iloc[0:0]
    return train.reset_index(drop=True), evaluation.reset_index(drop=True)


def plot_loss_curves(log_history: list[dict], title: str = "Training and validation loss", ax=None):
    """Training loss (per logging step) and validation loss (per evaluation) against the step."""
    import matplotlib.pyplot as plt

    train, evaluation = log_history_frames(log_history)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    if len(train):
        ax.plot(train["step"], train["loss"], marker=".", label="training loss")
    if len(evaluation):
        ax.plot(evaluation["step"], evaluation["eval_loss"], marker="o", label="validation loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    return ax
