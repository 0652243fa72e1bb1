"""Each self-check of lessons 2-4 says "not yet" to the typical wrong answer of its exercise (issue 22, point 3).

tests/test_exercises.py and tests/test_exercise_checks_advanced.py prove that a right answer passes and an unsolved
exercise does not; here each check meets the mistakes a learner really makes, and must catch them, in both languages.
"""
from __future__ import annotations

import math
import types

import numpy as np
import pytest

from course_utils import exercise_checks_advanced as checks
from course_utils import exercises, messages


@pytest.fixture(autouse=True, params=["en", "ko"])
def language(request):
    messages.set_language(request.param)
    yield request.param
    messages.set_language(None)


NOT_YET = {"en": "not yet", "ko": "아직입니다"}
RIGHT = {"en": "right", "ko": "정답입니다"}


# Lesson 2, exercise 1: TrainingArguments for a described run -------------------------------------------------------

def _exercise_args(**changes):
    from transformers import TrainingArguments

    values = {"output_dir": "test-trainer-exercise", "num_train_epochs": 2, "per_device_train_batch_size": 16,
              "learning_rate": 3e-5, "logging_steps": 10, "save_strategy": "no", **changes}
    return TrainingArguments(**values)


@pytest.mark.parametrize("mistake", [
    {"save_strategy": "steps"},  # "saves no checkpoints" forgotten: the default saves every 500 steps
    {"save_total_limit": 0, "save_strategy": "steps"},  # a limit on kept checkpoints is not "no checkpoints"
    {"output_dir": "test-trainer"},  # the lesson's folder, shared with the run above, not its own
    {"logging_strategy": "epoch"},  # logging_steps is ignored unless the strategy is "steps"
    {"num_train_epochs": 3},  # the default left in place
    {"learning_rate": 3e-4},  # a typo in the exponent
])
def test_training_args_catches_the_usual_slips(mistake, language, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert exercises.check_training_args(_exercise_args()).ok
    verdict = exercises.check_training_args(_exercise_args(**mistake))
    assert not verdict.ok
    assert repr(verdict).startswith(f"✗ {NOT_YET[language]}")


# Lesson 2, exercise 2: optimizer steps of a run ----------------------------------------------------------------------

def _trainer_after(global_step, n, batch, epochs):
    return types.SimpleNamespace(state=types.SimpleNamespace(global_step=global_step), train_dataset=list(range(n)),
                                 args=types.SimpleNamespace(per_device_train_batch_size=batch, num_train_epochs=epochs))


@pytest.mark.parametrize("wrong", [
    lambda n, b, e: n // b * e,  # the last, smaller batch of each epoch dropped
    lambda n, b, e: math.ceil(n * e / b),  # one ceiling over the whole run: batches do not cross epochs
    lambda n, b, e: math.ceil(n / b),  # one epoch only
    lambda n, b, e: round(n / b * e),  # rounding instead of counting batches
    lambda n, b, e: n / b * e,  # a fraction of a step
])
def test_total_steps_catches_the_usual_slips(wrong):
    right = lambda n, b, e: math.ceil(n / b) * e  # noqa: E731
    smoke_run = _trainer_after(24, 64, 8, 3.0)  # lesson 2 in smoke mode: 64 pairs, batches of 8, 3 epochs
    assert exercises.check_total_steps(right, smoke_run).ok
    assert not exercises.check_total_steps(wrong, smoke_run).ok
    assert not exercises.check_total_steps(wrong).ok


# Lesson 3, exercise 1: compute_metrics with the share of "equivalent" predictions ------------------------------------

def _scores(logits, labels, rate):
    preds = np.argmax(logits, axis=-1)
    tp = ((preds == 1) & (labels == 1)).sum()
    f1 = 2 * tp / (2 * tp + ((preds == 1) & (labels == 0)).sum() + ((preds == 0) & (labels == 1)).sum())
    return {"accuracy": float((preds == labels).mean()), "f1": float(f1), "positive_rate": rate(logits, labels, preds)}


@pytest.mark.parametrize("rate", [
    lambda logits, labels, preds: float(labels.mean()),  # the share of true "equivalent" pairs, not of predictions
    lambda logits, labels, preds: float(preds.sum()),  # a count, not a share
    lambda logits, labels, preds: float((logits[:, 1] > 0).mean()),  # a positive logit is not the predicted class
    lambda logits, labels, preds: float((preds == 0).mean()),  # the other class
])
def test_compute_metrics_catches_a_wrong_positive_rate(rate):
    def right(eval_preds):
        logits, labels = eval_preds
        return _scores(logits, labels, lambda lo, la, p: float((p == 1).mean()))

    def wrong(eval_preds):
        logits, labels = eval_preds
        return _scores(logits, labels, rate)

    assert exercises.check_compute_metrics(right).ok
    verdict = exercises.check_compute_metrics(wrong)
    assert not verdict.ok and "positive_rate" in verdict.why


def test_compute_metrics_catches_scores_of_the_logits_themselves():
    def no_argmax(eval_preds):  # "class 1 when its logit is positive" instead of the larger of the two logits
        logits, labels = eval_preds
        preds = (logits[:, 1] > 0).astype(int)
        tp = ((preds == 1) & (labels == 1)).sum()
        f1 = 2 * tp / (2 * tp + ((preds == 1) & (labels == 0)).sum() + ((preds == 0) & (labels == 1)).sum())
        return {"accuracy": float((preds == labels).mean()), "f1": float(f1), "positive_rate": float(preds.mean())}

    assert not exercises.check_compute_metrics(no_argmax).ok


# Lesson 3, exercise 2: F1 from the confusion counts ------------------------------------------------------------------

@pytest.mark.parametrize("wrong", [
    lambda tp, fp, fn: (tp / (tp + fp) + tp / (tp + fn)) / 2,  # the arithmetic mean of precision and recall
    lambda tp, fp, fn: tp / (tp + fp),  # precision
    lambda tp, fp, fn: tp / (tp + fn),  # recall
    lambda tp, fp, fn: tp / (tp + fp + fn),  # the Jaccard index (intersection over union)
    lambda tp, fp, fn: 2 * tp / (tp + fp + fn),  # a 2 lost from the denominator
])
def test_f1_catches_the_usual_slips(wrong, language):
    assert exercises.check_f1_from_counts(lambda tp, fp, fn: 2 * tp / (2 * tp + fp + fn)).ok
    verdict = exercises.check_f1_from_counts(wrong)
    assert not verdict.ok
    assert repr(verdict).startswith(f"✗ {NOT_YET[language]}")


# Lesson 4, exercise 1: the split of an effective batch ---------------------------------------------------------------

def _args(batch, steps):
    return types.SimpleNamespace(per_device_train_batch_size=batch, gradient_accumulation_steps=steps)


def test_effective_batch_says_which_split_is_better(capsys, language):
    assert checks.check_effective_batch(_args(8, 2), target=32, devices=2, fits=8) is True
    assert RIGHT[language] in capsys.readouterr().out
    # 4 x 4 x 2 and 2 x 8 x 2 are also 32, the same update, but with twice or four times the accumulation passes.
    for batch, steps in ((4, 4), (2, 8), (1, 16)):
        assert checks.check_effective_batch(_args(batch, steps), target=32, devices=2, fits=8) is False
        out = capsys.readouterr().out
        assert NOT_YET[language] in out and "8" in out  # says how many examples a GPU could take
        assert "gradient_accumulation_steps" not in out  # a hint, not the answer


@pytest.mark.parametrize("batch, steps", [
    (8, 4),  # 32 per device: the devices forgotten (8 x 4 x 2 = 64)
    (16, 1),  # the effective batch per device, but 16 do not fit
    (32, 1),  # no accumulation at all
    (4, 2),  # 4 x 2 x 2 = 16
])
def test_effective_batch_catches_a_wrong_product(batch, steps, capsys, language):
    assert checks.check_effective_batch(_args(batch, steps), target=32, devices=2, fits=8) is False
    assert NOT_YET[language] in capsys.readouterr().out


def test_effective_batch_korean_particles(capsys):
    messages.set_language("ko")
    checks.check_effective_batch(_args(8, 4), target=32, devices=2, fits=8)
    out = capsys.readouterr().out
    assert "64개입니다. 32개가 되어야 합니다" in out, out  # not "32이 아닙니다"


def test_effective_batch_when_the_fullest_split_is_not_the_largest_that_fits():
    # 24 on 2 devices: 12 per device; at most 8 fit, and 8 does not divide 12, so 6 x 2 is the fastest split.
    assert checks.check_effective_batch(_args(6, 2), target=24, devices=2, fits=8) is True
    assert checks.check_effective_batch(_args(4, 3), target=24, devices=2, fits=8) is False


# Lesson 4, exercise 2: a constant schedule with warmup ---------------------------------------------------------------

def _rates(scheduler_type, num_warmup_steps=0, learning_rate=2e-5, num_training_steps=100):
    """The lesson's learning_rates(...): one rate per step of a get_scheduler schedule."""
    import torch
    from transformers import get_scheduler

    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=learning_rate)
    scheduler = get_scheduler(scheduler_type, optimizer, num_warmup_steps=num_warmup_steps,
                              num_training_steps=num_training_steps)
    rates = []
    for _ in range(num_training_steps):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return rates


@pytest.mark.parametrize("make", [
    lambda: _rates("constant_with_warmup", 10, num_training_steps=1377),  # the lesson's default length kept
    lambda: _rates("constant", 10),  # no warmup: the scheduler ignores num_warmup_steps
    lambda: _rates("constant_with_warmup", 0.1),  # a fraction: TrainingArguments takes one, get_scheduler does not
    lambda: _rates("constant_with_warmup", 11),  # one warmup step too many
    lambda: _rates("constant_with_warmup", 9),  # one too few
    lambda: _rates("linear", 10),  # decays after the warmup
    lambda: _rates("constant_with_warmup", 10, learning_rate=5e-5),  # the Trainer's default rate, not 2e-5
])
def test_constant_with_warmup_catches_the_usual_slips(make, capsys, language):
    assert checks.check_constant_with_warmup(_rates("constant_with_warmup", 10)) is True
    assert checks.check_constant_with_warmup(make()) is False
    assert NOT_YET[language] in capsys.readouterr().out


def test_effective_batch_with_real_training_arguments(tmp_path, capsys):
    from transformers import TrainingArguments

    fastest = TrainingArguments(str(tmp_path), per_device_train_batch_size=8, gradient_accumulation_steps=2)
    slower = TrainingArguments(str(tmp_path), per_device_train_batch_size=4, gradient_accumulation_steps=4)
    assert checks.check_effective_batch(fastest, target=32, devices=2, fits=8) is True
    assert checks.check_effective_batch(slower, target=32, devices=2, fits=8) is False
