"""Shared set-up of the benchmarks: environment, data, tokenizer, model, timing, output lines.

Every benchmark prints its results as ``ratio NAME = VALUE  (what it means)``
lines; ``benchmarks/report.py`` collects them into ``build/benchmarks.md``.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

from course_utils.device import usable_cores

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TQDM_DISABLE", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MRPC_DIR = REPO_ROOT.parent / "shared" / "data" / "mrpc"
SEED = 42


def parse_args(description: str, extra=None) -> argparse.Namespace:
    """Common flags: --quick (or COURSE_SMOKE=1) for a fast sanity run, --data-dir."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fast sanity run (also COURSE_SMOKE=1)")
    parser.add_argument("--data-dir", default=None,
                        help="GLUE MRPC folder (train.tsv, dev.tsv, test.tsv); default: COURSE_DATA_DIR, "
                             "else ../shared/data/mrpc when present, else the course's paraphrase set")
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    import course_utils as cu

    args.quick = args.quick or cu.is_smoke()
    return args


def setup():
    """course_utils.setup() (Hub probe, seeds), torch threads = cores; returns (env, checkpoint, device)."""
    import torch

    import course_utils as cu

    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for results
        env = cu.setup(lang="en", seed=SEED)
        if not env.has_gpu:  # the CPU figures are the small offline model's, even where the Hub is reachable
            os.environ.setdefault("COURSE_CHECKPOINT", "offline")
        checkpoint = cu.pick_checkpoint(env)
    torch.set_num_threads(usable_cores())
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return env, checkpoint, device


def describe_machine(device: str) -> str:
    """One line: device, threads and the load average (the CPU is shared here)."""
    import torch

    if device == "cuda":
        return f"device cuda ({torch.cuda.get_device_name(0)}), fp16"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return f"device cpu, {torch.get_num_threads()} torch threads, {os.cpu_count()} cores, load average {load}"


def load_raw(data_dir: str | None = None):
    """MRPC as a DatasetDict: --data-dir, else COURSE_DATA_DIR, else ../shared/data/mrpc, else load_mrpc()."""
    import course_utils as cu

    folder = data_dir or os.environ.get("COURSE_DATA_DIR")
    if folder is None and (DEFAULT_MRPC_DIR / "train.tsv").is_file():
        folder = str(DEFAULT_MRPC_DIR)
    with contextlib.redirect_stdout(sys.stderr):
        return cu.read_mrpc_folder(folder) if folder else cu.load_mrpc()


def subset(dataset, n: int | None, seed: int = SEED):
    """A seeded random ``n`` examples of ``dataset`` (all of them when n is None or too big)."""
    if n is None or n >= len(dataset):
        return dataset
    return dataset.shuffle(seed=seed).select(range(n))


def tokenize(dataset, tokenizer, max_length: int | None = 128, padding: bool | str = False):
    """Tokenized sentence pairs, only the model's columns plus ``labels`` (for plain loops too)."""
    def tokenize_function(batch):
        return tokenizer(batch["sentence1"], batch["sentence2"], truncation=True,
                         max_length=max_length, padding=padding)

    tokenized = dataset.map(tokenize_function, batched=True,
                            remove_columns=[c for c in dataset.column_names if c != "label"])
    return tokenized.rename_column("label", "labels")


def load_model(checkpoint: str, device: str = "cpu", dropout: bool = True):
    """A fresh sequence-classification model (2 labels), seeded so every side starts equal."""
    import transformers
    from transformers import AutoModelForSequenceClassification

    import course_utils as cu

    cu.seed_everything(SEED)
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # the "newly initialised head" report, once per model
    try:
        kwargs = {} if dropout else {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
                                     "classifier_dropout": 0.0}
        model = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=2, **kwargs)
    finally:
        transformers.logging.set_verbosity(verbosity)
    return model.to(device)


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds`` (wall) and ``t.cpu_seconds`` (this process, all threads).

    Synchronises CUDA so GPU time is counted. On a shared CPU the wall time
    grows with other people's load; the process CPU time much less so.
    """

    def __enter__(self):
        _sync()
        self.start, self.cpu_start = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        _sync()
        self.seconds = time.perf_counter() - self.start
        self.cpu_seconds = time.process_time() - self.cpu_start
        return False


def best_of(timers):
    """(smallest wall seconds, smallest CPU seconds) of several rounds: the least disturbed run."""
    return min(t.seconds for t in timers), min(t.cpu_seconds for t in timers)


def _sync():
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def ratio(name: str, value: float, meaning: str) -> None:
    """The one output format of a measured ratio (read by benchmarks/report.py)."""
    print(f"ratio {name} = {value:.4g}  ({meaning})", flush=True)


def note(text: str) -> None:
    """A context line of a benchmark's output (also copied into the report)."""
    print(f"note {text}", flush=True)
