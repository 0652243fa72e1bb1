"""Lesson 4's claim, measured: batch 4 x gradient_accumulation_steps 4 is the update of batch 16, in less memory.

    python benchmarks/grad_accum.py [--quick] [--steps 1]

Trainer runs in this one process from the same initial weights, dropout off,
on the same MRPC training pairs in the same order (sequential sampler):
per_device_train_batch_size=16 against batch 4 with
gradient_accumulation_steps=4, the latter with ``model.accepts_loss_kwargs =
False`` (and, to show why, as the Trainer comes). The attribute is needed
because transformers 5 sees ``**kwargs`` in BertForSequenceClassification.forward,
assumes the model normalises its loss by ``num_items_in_batch`` and skips
dividing by the accumulation steps, while the model returns a plain mean: the
accumulated gradient is 4x batch 16's. Prints
  - the accumulated gradients: the gradients the Trainer hands its optimizer
    at the first step (a callback's ``on_pre_optimizer_step``), largest
    relative difference per tensor, max|g16 - g4x4| / max|g16|; goal <= 1e-5;
    tensors whose gradient is zero in theory (attention key biases: softmax
    ignores a constant per row) hold rounding noise only and are left out
    (listed in the output);
  - the updates with plain SGD (no momentum, no clipping, one step): the update
    is -lr x the accumulated gradient, so nothing but accumulation differs;
    goal <= 1e-5; and the same as the Trainer comes (4x too large);
  - as a note, the same comparison with the Trainer's default AdamW: its first
    step, lr * g / (|g| + eps), magnifies rounding where |g| is near eps, so that
    figure measures AdamW as much as accumulation;
  - the peak-memory ratio (4x4 / 16, AdamW runs). On a GPU:
    torch.cuda.max_memory_allocated. On a CPU: the PyTorch profiler's memory
    timeline (profile_memory=True), which follows every tensor the CPU
    allocator hands out during trainer.train(); both the total peak (weights,
    gradients, optimizer state, activations) and the peak of activations and
    temporaries alone (total minus weights, gradients and optimizer state).
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

# Columns of the profiler's memory timeline: one unnamed, then torch.profiler._memory_profiler's categories.
TIMELINE_COLUMNS = ["?", "parameter", "optimizer_state", "input", "temporary", "activation", "gradient",
                    "autograd_detail", "unknown"]
RESIDENT = {"parameter", "optimizer_state", "gradient"}
# SGD's learning rate for the one-step comparison: a probe, not a training setting. The update is read back as
# new - initial weights in float32, so it carries the rounding of w + update, up to ulp(w); for this model
# max|w| / max|g| reaches ~1.3e4 in some tensors (attention query biases), so at lr 5e-5 that rounding would
# be ~1e-3 of the update and the ratio would measure float32, not accumulation. At 1e4 the floor is ~1e-7
# (printed as a note).
SGD_LR = 1e4


def add_flags(parser):
    parser.add_argument("--steps", type=int, default=1, help="optimizer steps (16 pairs each)")


def first_step_gradients():
    """A TrainerCallback keeping the gradients the optimizer is about to apply at the first step (``.gradients``).

    ``on_pre_optimizer_step`` runs after the last micro-batch's backward and after clipping, so these
    are the Trainer's own accumulated gradients, exactly what the optimizer receives.
    """
    from transformers import TrainerCallback

    class FirstStepGradients(TrainerCallback):
        gradients = None

        def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
            if self.gradients is None:
                self.gradients = {n: p.grad.detach().clone() for n, p in model.named_parameters()
                                  if p.grad is not None}

    return FirstStepGradients()


def train(checkpoint, device, dataset, collator, tokenizer, batch_size, accumulation, steps, workaround=False,
          optimizer="adamw", profile=False):
    """One Trainer run; a dict: initial and updated weights, the first step's accumulated gradients, the
    reported training loss, and (profile=True) the peak bytes of all tensors and of activations + temporaries.

    optimizer="adamw": the Trainer's defaults (fused AdamW, lr 5e-5, linear schedule, clipping at 1.0).
    optimizer="sgd": plain SGD (no momentum, no weight decay), constant lr SGD_LR, no clipping: the
    update is -lr x the accumulated gradient, nothing in the optimizer rescales it.

    workaround=True sets ``model.accepts_loss_kwargs = False``: transformers 5 sees ``**kwargs`` in
    BertForSequenceClassification.forward, assumes the model divides its loss by ``num_items_in_batch``
    and so skips the division by gradient_accumulation_steps, but the model returns a plain mean: the
    accumulated gradient is the SUM of the micro-batch means (4x batch 16's). The attribute makes the
    Trainer divide again.
    """
    import torch
    from transformers import Trainer, TrainingArguments

    model = common.load_model(checkpoint, device, dropout=False)
    if workaround:
        model.accepts_loss_kwargs = False
    initial = {n: p.detach().clone() for n, p in model.named_parameters()}
    settings = {"optim": "sgd", "learning_rate": SGD_LR, "lr_scheduler_type": "constant", "max_grad_norm": 0.0} \
        if optimizer == "sgd" else {}
    first_step = first_step_gradients()
    with tempfile.TemporaryDirectory() as output_dir:
        training_args = TrainingArguments(
            output_dir, max_steps=steps, per_device_train_batch_size=batch_size,
            gradient_accumulation_steps=accumulation, train_sampling_strategy="sequential",
            save_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True,
            seed=common.SEED, dataloader_pin_memory=device == "cuda", fp16=device == "cuda", **settings,
        )
        trainer = Trainer(model=model, args=training_args, train_dataset=dataset, data_collator=collator,
                          processing_class=tokenizer, callbacks=[first_step])
        label = f"{optimizer}, batch {batch_size} x {accumulation}" + (" (accepts_loss_kwargs=False)" if workaround else "")
        losses = []

        def run():
            losses.append(trainer.train().training_loss)

        peak = peak_activation = None
        if not profile:
            run()
        elif device == "cuda":
            torch.cuda.synchronize()
            resident = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            run()
            peak = torch.cuda.max_memory_allocated()
            common.note(f"{label}: CUDA peak {peak / 2**20:.1f} MiB ({resident / 2**20:.1f} MiB before training)")
        else:
            peak, peak_activation = profile_cpu_memory(run, label)
    common.note(f"{label}: mean training loss reported by the Trainer {losses[0]:.4f}")
    updated = {n: p.detach().clone() for n, p in model.named_parameters()}
    return {"initial": initial, "updated": updated, "loss": losses[0], "gradients": first_step.gradients,
            "peak": peak, "peak_activation": peak_activation}


def profile_cpu_memory(function, label):
    """Run ``function`` under the PyTorch profiler; (peak bytes of all CPU tensors, peak minus resident kinds)."""
    import numpy as np
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True,
                 with_stack=True) as prof:
        function()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "timeline.json"
        # Deprecated in favour of a CUDA-only API; on CPU it is the profiler's way to a memory timeline.
        prof.export_memory_timeline(str(path), device="cpu")
        _, sizes = json.loads(path.read_text())
    sizes = np.asarray(sizes, dtype=np.float64)
    total = sizes.sum(axis=1)
    transient = sizes[:, [i for i, c in enumerate(TIMELINE_COLUMNS) if c not in RESIDENT]].sum(axis=1)
    at_peak = dict(zip(TIMELINE_COLUMNS, sizes[total.argmax()] / 2**20))
    common.note(f"{label}: CPU tensor peak {total.max() / 2**20:.1f} MiB ("
                + ", ".join(f"{k} {v:.1f}" for k, v in at_peak.items() if v >= 0.05)
                + f"); activations+temporaries peak {transient.max() / 2**20:.1f} MiB")
    return total.max(), transient.max()


def max_relative_difference(a, b, floor=0.0):
    """max over tensors of max|a - b| / max|a|, skipping tensors with max|a| <= floor * the largest max|a|.

    The floor is for gradients: the attention key biases get a gradient of exactly zero in theory
    (softmax ignores a constant added to every score of a row), so theirs is rounding noise (~1e-10).
    Returns (worst ratio, names of skipped tensors).
    """
    scales = {name: reference.abs().max().item() for name, reference in a.items()}
    largest = max(scales.values())
    worst, skipped = 0.0, []
    for name, reference in a.items():
        if scales[name] <= floor * largest or scales[name] == 0:
            skipped.append(name)
            continue
        worst = max(worst, (reference - b[name]).abs().max().item() / scales[name])
    return worst, skipped


def main():
    args = common.parse_args(__doc__.splitlines()[0], add_flags)
    env, checkpoint, device = common.setup()
    from transformers import AutoTokenizer, DataCollatorWithPadding

    steps = 1 if args.quick else args.steps
    raw = common.subset(common.load_raw(args.data_dir)["train"], 16 * steps)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    dataset = common.tokenize(raw, tokenizer, max_length=128)
    collator = DataCollatorWithPadding(tokenizer=tokenizer)
    common.note(common.describe_machine(device))
    common.note(f"{len(raw)} MRPC training pairs, {steps} optimizer step(s), dropout off, same initial weights, "
                f"same pairs in the same order; SGD runs: one step, probe lr {SGD_LR:g}, no momentum, no clipping; "
                "AdamW runs: the Trainer's defaults (lr 5e-5, linear schedule, clipping at 1.0)")

    def run(batch_size, accumulation, steps=steps, **kwargs):
        return train(checkpoint, device, dataset, collator, tokenizer, batch_size, accumulation, steps, **kwargs)

    sgd16 = run(16, 1, steps=1, optimizer="sgd")  # one step: the probe learning rate is no training setting
    sgd4x4 = run(4, 4, steps=1, optimizer="sgd", workaround=True)
    sgd4x4_as_is = run(4, 4, steps=1, optimizer="sgd")
    adam16 = run(16, 1, profile=True)
    adam4x4 = run(4, 4, workaround=True, profile=True)

    # 1. The accumulated gradients the optimizer receives (the Trainer's own, first step).
    gradient, zero_in_theory = max_relative_difference(sgd16["gradients"], sgd4x4["gradients"], floor=1e-6)
    common.ratio("grad_accum.grad.max_rel_diff", gradient,
                 "the Trainer's accumulated gradient at the first optimizer step, batch 16 vs 4 x 4 with "
                 "model.accepts_loss_kwargs=False, max|g16 - g4x4| / max|g16| per tensor "
                 f"({len(zero_in_theory)} zero-in-theory tensors skipped); goal <= 1e-5")
    common.ratio("grad_accum.grad_trainer_default.scale", norm(sgd4x4_as_is["gradients"]) / norm(sgd16["gradients"]),
                 "norm of the accumulated gradient, 4 x 4 as the Trainer comes / 16 (1 = correct; 4 = the "
                 "micro-batch means summed, not averaged)")
    # 2. The update with SGD: -lr x the accumulated gradient, nothing rescales it.
    keep = [n for n in sgd16["updated"] if n not in zero_in_theory]
    update, _ = max_relative_difference(delta(sgd16, keep), delta(sgd4x4, keep))
    common.ratio("grad_accum.sgd_update.max_rel_diff", update,
                 "SGD updates (new - initial weights), 16 vs 4 x 4 with the workaround, max|d16 - d4x4| / max|d16| "
                 "per tensor; goal <= 1e-5")
    floor = rounding_floor(sgd16, keep)
    common.note(f"float32 rounding of the updated weights alone can move an SGD update by up to {floor:.2g} of its "
                "tensor's largest update (max ulp(w) / max|update| over the tensors compared): the floor of the "
                "SGD ratio")
    as_is, _ = max_relative_difference(delta(sgd16, keep), delta(sgd4x4_as_is, keep))
    common.ratio("grad_accum.sgd_update_trainer_default.max_rel_diff", as_is,
                 "same, 4 x 4 as the Trainer comes: the update is 4x too large (3 = 4 - 1)")
    common.ratio("grad_accum.trainer_default.loss_scale", sgd4x4_as_is["loss"] / sgd16["loss"],
                 "training loss the Trainer reports, 4 x 4 as it comes / 16 (1 = correct; 4 = summed micro-batch means)")
    # 3. AdamW (the Trainer's default), a note: its first step, lr * g / (|g| + eps), magnifies rounding where
    # |g| is near eps, so its relative difference measures AdamW as much as accumulation.
    adam_weights, _ = max_relative_difference({n: adam16["updated"][n] for n in keep}, adam4x4["updated"])
    adam_update, _ = max_relative_difference(delta(adam16, keep), delta(adam4x4, keep))
    adam_grad, _ = max_relative_difference(adam16["gradients"], adam4x4["gradients"], floor=1e-6)
    common.note(f"AdamW (the Trainer's default), 16 vs 4 x 4 with the workaround: updated weights differ by at most "
                f"{adam_weights:.2g} and the updates by {adam_update:.2g} (relative, per tensor), while the gradients "
                f"it received differ by {adam_grad:.2g} (after clipping at 1.0): AdamW's first step, "
                "lr * g / (|g| + eps), magnifies rounding where |g| is near eps")
    all_weights, _ = max_relative_difference(adam16["updated"], adam4x4["updated"])
    common.note(f"{len(zero_in_theory)} tensors have a zero-in-theory gradient (rounding noise only) and are left "
                f"out of the ratios: {', '.join(zero_in_theory)}; with them AdamW's weight ratio is {all_weights:.3g}")
    where = "CUDA max_memory_allocated" if device == "cuda" else "CPU tensors, PyTorch profiler memory timeline"
    common.ratio("grad_accum.peak_memory", adam4x4["peak"] / adam16["peak"], f"peak memory 4 x 4 / 16, AdamW, {where}")
    if adam16["peak_activation"] is not None:
        common.ratio("grad_accum.peak_activation_memory", adam4x4["peak_activation"] / adam16["peak_activation"],
                     "peak of activations and temporaries 4 x 4 / 16, same profiler")


def delta(run, names):
    """The update of each tensor: new - initial weights."""
    return {n: run["updated"][n] - run["initial"][n] for n in names}


def norm(tensors) -> float:
    return sum(float((t.double() ** 2).sum()) for t in tensors.values()) ** 0.5


def rounding_floor(run, names) -> float:
    """max over tensors of max ulp(w) / max|update|: how far float32 rounding of w + update alone can move it."""
    import torch

    worst = 0.0
    for n in names:
        step = (run["updated"][n] - run["initial"][n]).abs().max().item()
        if step > 0:
            worst = max(worst, torch.finfo(torch.float32).eps * run["updated"][n].abs().max().item() / step)
    return worst


if __name__ == "__main__":
    main()
