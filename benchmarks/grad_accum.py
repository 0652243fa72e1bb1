"""Lesson 4's claim, measured: batch 4 x gradient_accumulation_steps 4 is the update of batch 16, in less memory.

    python benchmarks/grad_accum.py [--quick] [--steps 1]

Three Trainer runs in this one process from the same initial weights, dropout
off, on the same 16 * steps MRPC training pairs in the same order (sequential
sampler): per_device_train_batch_size=16; batch 4 with
gradient_accumulation_steps=4 as the Trainer comes; and the same with
``model.accepts_loss_kwargs = False``. The last is needed because
transformers 5 sees ``**kwargs`` in BertForSequenceClassification.forward,
assumes the model normalises its loss by ``num_items_in_batch`` and skips
dividing by the accumulation steps, while the model returns a plain mean: the
accumulated gradient is 4x batch 16's (AdamW hides most of it, the reported
loss shows it). Prints
  - the largest relative difference of the updated weights (per tensor,
    max|w16 - w4x4| / max|w16|; goal <= 1e-5), with and without the
    workaround, and, stricter, of the updates themselves (d = new - initial);
  - the largest relative difference of the first step's gradients (plain
    forward/backward, loss/4 per micro-batch); tensors whose gradient is zero
    in theory (attention key biases: softmax ignores a constant per row) hold
    rounding noise only and are left out (listed in the output);
  - the peak-memory ratio (4x4 / 16). On a GPU: torch.cuda.max_memory_allocated.
    On a CPU: the PyTorch profiler's memory timeline (profile_memory=True),
    which follows every tensor the CPU allocator hands out during
    trainer.train(); both the total peak (weights, gradients, optimizer state,
    activations) and the peak of activations and temporaries alone (total
    minus weights, gradients and optimizer state) are reported.
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


def add_flags(parser):
    parser.add_argument("--steps", type=int, default=1, help="optimizer steps (16 pairs each)")


def train(checkpoint, device, dataset, collator, tokenizer, batch_size, accumulation, steps, workaround=False):
    """Trainer run; returns (initial weights, updated weights, mean training loss, peak bytes, peak activation bytes).

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
    with tempfile.TemporaryDirectory() as output_dir:
        training_args = TrainingArguments(
            output_dir, max_steps=steps, per_device_train_batch_size=batch_size,
            gradient_accumulation_steps=accumulation, train_sampling_strategy="sequential",
            save_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True,
            seed=common.SEED, dataloader_pin_memory=device == "cuda", fp16=device == "cuda",
        )
        trainer = Trainer(model=model, args=training_args, train_dataset=dataset,
                          data_collator=collator, processing_class=tokenizer)
        label = f"batch {batch_size} x {accumulation}" + (" (accepts_loss_kwargs=False)" if workaround else "")
        losses = []

        def run():
            losses.append(trainer.train().training_loss)

        if device == "cuda":
            torch.cuda.synchronize()
            resident = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            run()
            peak = torch.cuda.max_memory_allocated()
            peak_activation = None  # the caching allocator does not say what a byte holds
            common.note(f"{label}: CUDA peak {peak / 2**20:.1f} MiB ({resident / 2**20:.1f} MiB before training)")
        else:
            peak, peak_activation = profile_cpu_memory(run, label)
    common.note(f"{label}: mean training loss reported by the Trainer {losses[0]:.4f}")
    updated = {n: p.detach().clone() for n, p in model.named_parameters()}
    return initial, updated, losses[0], peak, peak_activation


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


def gradients(checkpoint, device, dataset, collator, micro_batches):
    """First-step gradients on the first 16 pairs, as ``micro_batches`` backward passes of loss / micro_batches."""
    model = common.load_model(checkpoint, device, dropout=False)
    model.train()
    size = 16 // micro_batches
    for k in range(micro_batches):
        batch = collator([dataset[i] for i in range(k * size, (k + 1) * size)])
        batch = {key: value.to(device) for key, value in batch.items()}
        (model(**batch).loss / micro_batches).backward()
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


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
    common.note(f"{len(raw)} MRPC training pairs, {steps} optimizer step(s), dropout off, Trainer defaults "
                "(AdamW lr 5e-5, linear schedule)")

    initial, w16, loss16, peak16, act16 = train(checkpoint, device, dataset, collator, tokenizer, 16, 1, steps)
    _, w4x4, loss4x4, peak4x4, act4x4 = train(checkpoint, device, dataset, collator, tokenizer, 4, 4, steps)
    _, fixed, _, _, _ = train(checkpoint, device, dataset, collator, tokenizer, 4, 4, steps, workaround=True)
    tokenized = dataset.with_format("torch")
    grad16 = gradients(checkpoint, device, tokenized, collator, 1)
    grad4x4 = gradients(checkpoint, device, tokenized, collator, 4)

    gradient, zero_in_theory = max_relative_difference(grad16, grad4x4, floor=1e-6)
    # Tensors whose gradient is zero in theory get AdamW steps of lr * noise / (|noise| + eps): left out below.
    keep = [n for n in w16 if n not in zero_in_theory]
    deltas16 = {n: w16[n] - initial[n] for n in keep}
    weights, _ = max_relative_difference({n: w16[n] for n in keep}, fixed)
    common.ratio("grad_accum.weights.max_rel_diff", weights,
                 "updated weights, Trainer batch 16 vs 4 x 4 with model.accepts_loss_kwargs=False, "
                 "max|w16 - w4x4| / max|w16| per tensor; goal <= 1e-5")
    weights_as_is, _ = max_relative_difference({n: w16[n] for n in keep}, w4x4)
    common.ratio("grad_accum.weights_trainer_default.max_rel_diff", weights_as_is,
                 "same, Trainer 4 x 4 as it comes (transformers 5 does not divide the loss by 4 for this model)")
    update, _ = max_relative_difference(deltas16, {n: fixed[n] - initial[n] for n in keep})
    common.ratio("grad_accum.update.max_rel_diff", update,
                 "the updates themselves (new - initial weights), 16 vs 4 x 4 with the workaround")
    all_weights, _ = max_relative_difference(w16, fixed)
    common.note(f"{len(zero_in_theory)} tensors have a zero-in-theory gradient (rounding noise only) and are left "
                f"out of the weight ratios: {', '.join(zero_in_theory)}; with them the weight ratio is {all_weights:.3g}")
    common.ratio("grad_accum.trainer_default.loss_scale", loss4x4 / loss16,
                 "training loss the Trainer reports, 4 x 4 as it comes / 16 (1 = correct; 4 = summed micro-batch means)")
    common.ratio("grad_accum.grad.max_rel_diff", gradient,
                 f"first-step gradients, plain loop, loss / 4 per micro-batch, max|g16 - g4x4| / max|g16| per tensor "
                 f"({len(zero_in_theory)} tensors with a zero-in-theory gradient skipped)")
    where = "CUDA max_memory_allocated" if device == "cuda" else "CPU tensors, PyTorch profiler memory timeline"
    common.ratio("grad_accum.peak_memory", peak4x4 / peak16, f"peak memory 4 x 4 / 16, {where}")
    if act16 is not None:
        common.ratio("grad_accum.peak_activation_memory", act4x4 / act16,
                     "peak of activations and temporaries 4 x 4 / 16, same profiler")

if __name__ == "__main__":
    main()
