"""Living quizzes: every API claim of the bank holds for the installed transformers / torch / datasets / accelerate.

A rename upstream (say eval_strategy -> something else) fails here, naming the
question whose explanation has gone stale.
"""
from __future__ import annotations

import pytest

from course_utils.quiz import load_bank
from course_utils.quiz.claims import check_bank_claims, check_claim

# The API facts the course teaches; the bank must declare each as a claim on the named question.
REQUIRED = {
    "trainer.eval_strategy": [
        {"accepts": "transformers.TrainingArguments", "parameter": "eval_strategy"},
        {"rejects": "transformers.TrainingArguments", "parameter": "eval_frequency"},
        {"rejects": "transformers.TrainingArguments", "parameter": "evaluation_steps"},
        {"accepts": "transformers.TrainingArguments", "parameter": "do_eval"},
    ],
    "trainer.processing_class": [
        {"accepts": "transformers.Trainer", "parameter": "processing_class"},
        {"rejects": "transformers.Trainer", "parameter": "tokenizer"},
    ],
    "trainer.gradient_accumulation": [
        {"accepts": "transformers.TrainingArguments", "parameter": "gradient_accumulation_steps"},
        {"rejects": "transformers.TrainingArguments", "parameter": "save_gradients"},
        {"rejects": "transformers.TrainingArguments", "parameter": "gradient_clipping"},
        # lesson 4: as it comes, nobody divides the micro-batch losses (4 times too large); with the fix, the Trainer does
        {"computes": "course_utils.quiz.facts.accumulated_loss_ratio", "args": {"accumulation": 4}, "equals": 4},
        {"computes": "course_utils.quiz.facts.accumulated_loss_ratio", "args": {"accumulation": 4, "trainer_divides": True},
         "equals": 1},
    ],
    "trainer.train_logs": [
        {"computes": "course_utils.quiz.facts.trainer_max_steps", "args": {"n_examples": 3668, "batch": 8, "epochs": 3},
         "equals": 1377},
    ],
    "loop.step_order": [{"default": "torch.optim.Optimizer.zero_grad", "parameter": "set_to_none", "value": True}],
    "trainer.fp16": [{"accepts": "transformers.TrainingArguments", "parameter": "fp16"}],
    "loop.adamw": [{"exists": "torch.optim.AdamW"}, {"absent": "transformers.AdamW"}],
    # issue 25: lesson 3's standard error and F1 from counts, lesson 4's fp16 on a CPU, lessons 4-5's warmup,
    # lesson 5's gather_for_metrics (even_batches), lesson 6's best-model metric
    "evaluation.standard_error": [
        {"computes": "course_utils.quiz.facts.accuracy_standard_error", "args": {"n": "n_val", "p": "p"}}],
    "evaluation.f1_counts": [
        {"computes": "course_utils.quiz.facts.f1_from_counts", "args": {"tp": "tp", "fp": "fp", "fn": "fn", "tn": "tn"}}],
    "advanced.fp16_cpu": [
        {"computes": "course_utils.quiz.facts.cpu_autocast", "args": {"precision": "fp16"}, "equals": 0},
        {"computes": "course_utils.quiz.facts.cpu_autocast", "args": {"precision": "bf16"}, "equals": 1}],
    "loop.warmup_schedule": [
        {"computes": "course_utils.quiz.facts.linear_warmup_lr",
         "args": {"total_steps": 1000, "warmup_steps": 100, "step": 100, "learning_rate": 2e-05}, "equals": 2e-05},
        {"computes": "course_utils.quiz.facts.linear_warmup_lr",
         "args": {"total_steps": 1000, "warmup_steps": 100, "step": 1000, "learning_rate": 2e-05}, "equals": 0}],
    "loop.gather_for_metrics": [
        {"default": "accelerate.utils.DataLoaderConfiguration", "parameter": "even_batches", "value": True},
        {"computes": "course_utils.quiz.facts.sharded_examples", "args": {"n_examples": 408, "batch": 8, "processes": 2},
         "equals": 416}],
    "scenario.best_checkpoint_metric": [{"computes": "course_utils.quiz.facts.keeps_highest", "equals": 0}],
    # issue 27: the replaced distractors' explanations
    "preprocessing.unused_columns": [{"computes": "course_utils.quiz.facts.columns_after_training", "equals": 3}],
    "loop.accelerate": [{"default": "accelerate.Accelerator", "parameter": "device_placement", "value": True}],
}


@pytest.fixture(scope="module")
def bank():
    return load_bank()


def test_every_claim_of_the_bank_holds_for_the_installed_libraries(bank, shared_mrpc, monkeypatch):
    """Number questions' keys are recomputed here (Trainer, DataLoader, scheduler, tokenizer, MRPC files)."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(shared_mrpc))
    claims = [c for q in bank.questions.values() for c in q.claims]
    assert len(claims) >= 40
    assert sum("computes" in c for c in claims) >= 8
    failures = check_bank_claims(bank)
    assert not failures, "\n".join(f"{qid}: {claim} -> {why} (fix the explanation and the claim)" for qid, claim, why in failures)


def test_the_instructors_exam_bank_holds_too(root, shared_mrpc, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(shared_mrpc))
    failures = check_bank_claims(load_bank(root / "grading/source/07_chapter_quiz/exam_bank.yaml"))
    assert not failures, failures


def test_a_computed_key_that_drifts_is_caught():
    from course_utils.quiz.bank import Question

    q = Question("demo.steps", "01_demo", {"en": "x", "ko": "x"}, (), False, kind="number",
                 answer={"formula": "n / batch * epochs", "tolerance": 0}, facts={"n": 3668},
                 params={"batch": [8], "epochs": [3]}, explain={"en": "x", "ko": "x"})
    claim = {"computes": "course_utils.quiz.facts.dataloader_length", "args": {"n_examples": "n", "batch": "batch"}}
    assert "= 459 here, the quiz's key is 1375.5" in check_claim(claim, q)  # no ceil, times epochs: wrong key


def test_a_number_an_explanation_states_is_checked_too():
    """A choice question may carry a 'computes' claim with a literal number (what its explanation says)."""
    from course_utils.quiz.bank import Question

    q = Question("demo.loop", "01_demo", {"en": "x", "ko": "x"}, (), False)
    claim = {"computes": "course_utils.quiz.facts.dataloader_length", "args": {"n_examples": 3668, "batch": 8}}
    assert check_claim({**claim, "equals": 459}, q) is None
    assert "= 459 here, the quiz says 458" in check_claim({**claim, "equals": 458}, q)
    assert "number question" in check_claim(claim, q)  # no number to compare with


def test_the_taught_api_facts_are_declared(bank):
    for qid, claims in REQUIRED.items():
        for claim in claims:
            assert claim in bank.questions[qid].claims, (qid, claim)


@pytest.mark.parametrize("claim, fragment", [
    ({"accepts": "transformers.TrainingArguments", "parameter": "evaluation_strategy"}, "has no parameter 'evaluation_strategy'"),
    ({"rejects": "transformers.TrainingArguments", "parameter": "eval_strategy"}, "now accepts 'eval_strategy'"),
    ({"default": "transformers.TrainingArguments", "parameter": "logging_steps", "value": 50}, "defaults to 500"),
    ({"exists": "transformers.AdamW"}, "does not resolve"),
    ({"absent": "torch.optim.AdamW"}, "exists now"),
    ({"rejects": "accelerate.Accelerator.backward", "parameter": "retain_graph"}, "**kwargs"),
])
def test_a_false_claim_is_reported(claim, fragment):
    why = check_claim(claim)
    assert why is not None and fragment in why, why


def test_explanations_match_the_installed_behaviour(tmp_path):
    """Facts the explanations state beyond signatures, checked by running the real classes."""
    import inspect

    import torch
    from transformers import Trainer, TrainingArguments

    args = TrainingArguments(str(tmp_path), eval_strategy="epoch")
    assert args.do_eval is True  # "set to True automatically when eval_strategy is not 'no'"
    with pytest.raises(TypeError):
        TrainingArguments(str(tmp_path), eval_frequency="epoch")  # "raises a TypeError"
    with pytest.raises(TypeError):
        TrainingArguments(str(tmp_path), save_gradients=True)
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="eval_dataset"):  # eval_strategy without eval_dataset refuses to start
        Trainer(model=model, args=args, train_dataset=[{"x": 1}])
    plain = TrainingArguments(str(tmp_path))
    assert plain.eval_strategy == "no" and plain.logging_steps == 500 and plain.lr_scheduler_type == "linear"
    assert inspect.signature(torch.optim.AdamW).parameters["weight_decay"].default > 0
