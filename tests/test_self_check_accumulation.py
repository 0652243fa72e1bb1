"""Lesson 5, exercise 5: the gradient-accumulation self-check says "not yet" to the mistakes it is there to catch.

The exercise asks for one optimizer step with the gradient of the mean loss over all examples of several micro-batches.
The mistake it targets is the one lesson 4 found in the Trainer with BertForSequenceClassification on transformers
5.24: each micro-batch loss (already a mean) is not divided by the number of micro-batches, so the step gets that many
times the gradient. Each wrong answer below is fed to the check on the course's real offline checkpoint and a real
batch of MRPC-like pairs; the right answers are fed too, so that the check cannot pass by rejecting everything. The
lesson's own folded answer (en and ko, the same code) must pass. Part (b) adds clipping (`max_norm`), once per update;
its target mistake is clipping after every micro-batch.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from course_utils import exercise_checks_advanced as checks
from course_utils import messages

ROOT = Path(__file__).resolve().parents[1]
PAIRS = [("The storm closed the airport on Monday.", "On Monday the airport was shut by the storm.", 1),
         ("She sold her car last week.", "The museum opens at nine.", 0),
         ("Prices fell sharply in March after the report.", "In March, prices went down.", 1),
         ("The team won the final.", "It rained all day in the city.", 0),
         ("He said the plan would cost more than expected.", "The plan will be more expensive, he said.", 1),
         ("Shares of the company rose 5 percent.", "The company's new CEO starts in May.", 0),
         ("A cat sat on the mat.", "There was a cat sitting on the mat.", 1),
         ("The bridge reopened after repairs.", "Officials closed the school for a week because of the flu.", 0)]


pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture(scope="module")
def model_and_batch(offline_folder):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, set_seed

    folder = offline_folder
    tokenizer = AutoTokenizer.from_pretrained(folder)
    set_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2)
    features = [{**tokenizer(a, b, truncation=True), "labels": label} for a, b, label in PAIRS]
    return model, DataCollatorWithPadding(tokenizer=tokenizer)(features)  # 8 pairs: 4 micro-batches of 2


def right(model, micro_batches, optimizer):
    for micro_batch in micro_batches:
        (model(**micro_batch).loss / len(micro_batches)).backward()
    optimizer.step()
    optimizer.zero_grad()


def right_zeroing_first(model, micro_batches, optimizer):
    optimizer.zero_grad()
    for micro_batch in micro_batches:
        (model(**micro_batch).loss / len(micro_batches)).backward()
    optimizer.step()


def not_divided(model, micro_batches, optimizer):  # the mistake the exercise targets
    for micro_batch in micro_batches:
        model(**micro_batch).loss.backward()
    optimizer.step()
    optimizer.zero_grad()


def zeroed_inside_the_loop(model, micro_batches, optimizer):
    for micro_batch in micro_batches:
        optimizer.zero_grad()
        (model(**micro_batch).loss / len(micro_batches)).backward()
    optimizer.step()


def step_per_micro_batch(model, micro_batches, optimizer):
    for micro_batch in micro_batches:
        (model(**micro_batch).loss / len(micro_batches)).backward()
        optimizer.step()
    optimizer.zero_grad()


def never_zeroed(model, micro_batches, optimizer):
    for micro_batch in micro_batches:
        (model(**micro_batch).loss / len(micro_batches)).backward()
    optimizer.step()


def all_at_once(model, micro_batches, optimizer):
    whole = {name: torch.cat([mb[name] for mb in micro_batches]) for name in micro_batches[0]}
    model(**whole).loss.backward()
    optimizer.step()
    optimizer.zero_grad()


def unsolved(model, micro_batches, optimizer):
    raise NotImplementedError


@pytest.mark.parametrize("answer", [right, right_zeroing_first])
def test_right_answers_pass(model_and_batch, answer, capsys):
    model, batch = model_and_batch
    assert checks.check_accumulated_update(answer, model, batch) is True
    assert "✓ right" in capsys.readouterr().out


@pytest.mark.parametrize("answer, why", [
    (not_divided, "4 times the gradient of one batch of 8"),
    (zeroed_inside_the_loop, "only the last micro-batch"),
    (step_per_micro_batch, "ran 4 times for 4 micro-batches"),
    (never_zeroed, "second call"),
    (all_at_once, "one forward pass over all the examples"),
    (unsolved, "NotImplementedError"),
])
def test_wrong_answers_are_not_yet_and_say_why(model_and_batch, answer, why, capsys):
    model, batch = model_and_batch
    assert checks.check_accumulated_update(answer, model, batch) is False
    out = capsys.readouterr().out
    assert "✗ not yet" in out and why in out, out


# Part (b) of the exercise: with `max_norm`, clip the accumulated gradient's norm once per update, as the Trainer does
# with max_grad_norm. The check asks with the given max_norm and with a quarter of the gradient's norm (which surely
# clips), so each mistake shows whatever the model's gradient norm is.

def right_clipped(model, micro_batches, optimizer, max_norm=None):
    for micro_batch in micro_batches:
        (model(**micro_batch).loss / len(micro_batches)).backward()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    optimizer.zero_grad()


def clipped_per_micro_batch(model, micro_batches, optimizer, max_norm=None):  # the mistake part (b) targets
    for micro_batch in micro_batches:
        (model(**micro_batch).loss / len(micro_batches)).backward()
        if max_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    optimizer.zero_grad()


def max_norm_ignored(model, micro_batches, optimizer, max_norm=None):
    right(model, micro_batches, optimizer)


def clipped_after_the_step(model, micro_batches, optimizer, max_norm=None):
    for micro_batch in micro_batches:
        (model(**micro_batch).loss / len(micro_batches)).backward()
    optimizer.step()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.zero_grad()


def clipped_per_parameter(model, micro_batches, optimizer, max_norm=None):
    for micro_batch in micro_batches:
        (model(**micro_batch).loss / len(micro_batches)).backward()
    if max_norm is not None:
        for parameter in model.parameters():
            torch.nn.utils.clip_grad_norm_([parameter], max_norm)
    optimizer.step()
    optimizer.zero_grad()


def clipped_by_value(model, micro_batches, optimizer, max_norm=None):
    for micro_batch in micro_batches:
        (model(**micro_batch).loss / len(micro_batches)).backward()
    if max_norm is not None:
        torch.nn.utils.clip_grad_value_(model.parameters(), max_norm)
    optimizer.step()
    optimizer.zero_grad()


def _gradient_norm(model, batch):
    model.zero_grad(set_to_none=True)
    model.eval()  # as the check does: no dropout
    model(**batch).loss.backward()
    norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in model.parameters() if p.grad is not None)).item()
    model.zero_grad(set_to_none=True)
    return norm


@pytest.mark.parametrize("max_norm", [1.0, 1e-3, 1e6])
def test_clipping_once_per_update_passes(model_and_batch, max_norm, capsys):
    model, batch = model_and_batch
    assert checks.check_accumulated_update(right_clipped, model, batch, max_norm=max_norm) is True
    out = capsys.readouterr().out
    assert "✓ right" in out and "clipped once per update" in out, out


def test_the_clipping_test_is_real_on_this_batch(model_and_batch):
    # 1e6 never clips, so the check must have asked again with a value that does: a quarter of the gradient's norm
    model, batch = model_and_batch
    assert _gradient_norm(model, batch) < 1e6
    assert checks.check_accumulated_update(clipped_per_micro_batch, model, batch, max_norm=1e6) is False


@pytest.mark.parametrize("answer, why", [
    (clipped_per_micro_batch, "clipped after every micro-batch"),
    (max_norm_ignored, "was not clipped"),
    (clipped_after_the_step, "was not clipped"),
    (clipped_per_parameter, "norm of all parameters together"),
    (clipped_by_value, "clip"),  # "not clipped" when no single number is above max_norm, as on this batch
    (right, "parameter `max_norm=None`"),  # part (a) right, part (b) not started
])
def test_clipping_mistakes_are_not_yet_and_say_why(model_and_batch, answer, why, capsys):
    model, batch = model_and_batch
    assert checks.check_accumulated_update(answer, model, batch, max_norm=1.0) is False
    out = capsys.readouterr().out
    assert "✗ not yet" in out and why in out, out


@pytest.mark.parametrize("answer, why", [
    (not_divided, "4 times the gradient"),
    (zeroed_inside_the_loop, "only the last micro-batch"),
    (never_zeroed, "second call"),
])
def test_accumulation_mistakes_are_still_caught_when_clipping_is_asked(model_and_batch, answer, why, capsys):
    # clipping would hide a gradient 4 times too large (clipped to the same norm): the unclipped calls come first
    model, batch = model_and_batch
    assert checks.check_accumulated_update(answer, model, batch, max_norm=1.0) is False
    assert why in capsys.readouterr().out


def test_the_check_leaves_the_lessons_model_alone(model_and_batch):
    model, batch = model_and_batch
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    dropout = [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    checks.check_accumulated_update(not_divided, model, batch)
    checks.check_accumulated_update(clipped_per_micro_batch, model, batch, max_norm=1.0)
    assert all(torch.equal(before[name], p) for name, p in model.named_parameters())
    assert all(p.grad is None for p in model.parameters())
    assert [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)] == dropout


def _answer_code(lang):
    cells = json.loads((ROOT / "notebooks" / lang / "05_training_loop.ipynb").read_text(encoding="utf-8"))["cells"]
    text = next("".join(c["source"]) for c in cells if c.get("id") == "lesson05-ex10-answer")
    assert text.startswith("<details><summary>")
    return re.findall(r"```python\n(.*?)```", text, re.S)[0]


def test_the_lessons_folded_answer_passes_and_is_the_same_in_korean(model_and_batch):
    from test_self_checks_lessons_1_5_6_8 import code_without_comments

    model, batch = model_and_batch
    namespace = {"torch": torch}  # the lesson imported torch before the exercise
    exec(_answer_code("en"), namespace)
    assert checks.check_accumulated_update(namespace["accumulated_update"], model, batch) is True
    assert checks.check_accumulated_update(namespace["accumulated_update"], model, batch, max_norm=1.0) is True
    assert code_without_comments(_answer_code("ko")) == code_without_comments(_answer_code("en"))


def test_korean_verdict(model_and_batch, capsys):
    model, batch = model_and_batch
    messages.set_language("ko")
    assert checks.check_accumulated_update(not_divided, model, batch) is False
    assert "4배" in capsys.readouterr().out
    assert checks.check_accumulated_update(clipped_per_micro_batch, model, batch, max_norm=1.0) is False
    assert "마이크로배치마다 그레이디언트를 클리핑" in capsys.readouterr().out
