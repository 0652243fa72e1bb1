"""Lesson 1's claim, measured: fixed padding vs dynamic padding vs dynamic padding with length grouping.

    python benchmarks/padding.py [--quick] [--pairs 800] [--batch-size 16]

Three one-epoch Trainer runs in this one process, same MRPC training pairs,
same initial weights, same batch size and hyper-parameters; only the padding
and the sampler differ:
  fixed    tokenizer(..., padding="max_length", max_length=128), random order
  dynamic  DataCollatorWithPadding (pads each batch to its longest pair), random order
  grouped  DataCollatorWithPadding + TrainingArguments(train_sampling_strategy="group_by_length"),
           i.e. the Trainer's own LengthGroupedSampler
Tokens are counted as the collator hands the batches to the model (padding included).
Prints the token ratio and the epoch-time ratio of each against fixed padding.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

FIXED_LENGTH = 128
QUICK_PAIRS, QUICK_BATCH = 16, 8


class CountingCollator:
    """Wraps a collator and counts the tokens (input_ids elements, padding included) it hands out."""

    def __init__(self, collator):
        self.collator = collator
        self.tokens = 0
        self.batches = 0

    def __call__(self, features):
        batch = self.collator(features)
        self.tokens += batch["input_ids"].numel()
        self.batches += 1
        return batch


def add_flags(parser):
    parser.add_argument("--pairs", type=int, default=800, help="MRPC training pairs (one epoch over them)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="round-robin repeats; the best time of each counts")


def main():
    args = common.parse_args(__doc__.splitlines()[0], add_flags)
    env, checkpoint, device = common.setup()
    from transformers import AutoTokenizer, DataCollatorWithPadding, Trainer, TrainingArguments

    pairs, batch_size = (QUICK_PAIRS, QUICK_BATCH) if args.quick else (args.pairs, args.batch_size)
    raw = common.subset(common.load_raw(args.data_dir)["train"], pairs)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    padded = common.tokenize(raw, tokenizer, FIXED_LENGTH, padding="max_length")
    unpadded = common.tokenize(raw, tokenizer, FIXED_LENGTH)
    variants = {  # name: (dataset, train_sampling_strategy)
        "fixed": (padded, "random"),
        "dynamic": (unpadded, "random"),
        "grouped": (unpadded, "group_by_length"),
    }
    common.note(common.describe_machine(device))
    common.note(f"{len(raw)} MRPC training pairs, batch {batch_size}, one epoch per variant, "
                f"fixed length {FIXED_LENGTH}, checkpoint {Path(checkpoint).name}")
    timers = {name: [] for name in variants}
    tokens = {}
    rounds = 1 if args.quick else args.rounds
    for round_ in range(rounds):  # round robin, so a burst of load hits every variant alike
        for name, (dataset, sampling) in variants.items():
            collator = CountingCollator(DataCollatorWithPadding(tokenizer=tokenizer))
            model = common.load_model(checkpoint, device)
            with tempfile.TemporaryDirectory() as output_dir:
                training_args = TrainingArguments(
                    output_dir, num_train_epochs=1, per_device_train_batch_size=batch_size,
                    train_sampling_strategy=sampling, save_strategy="no", logging_strategy="no",
                    report_to="none", disable_tqdm=True, seed=common.SEED, fp16=device == "cuda",
                    dataloader_pin_memory=device == "cuda",
                )
                trainer = Trainer(model=model, args=training_args, train_dataset=dataset,
                                  data_collator=collator, processing_class=tokenizer)
                with common.Timer() as timer:
                    trainer.train()
            timers[name].append(timer)
            tokens[name] = collator.tokens
            common.note(f"round {round_ + 1} {name}: {collator.tokens} tokens in {collator.batches} batches, "
                        f"{timer.seconds:.1f} s wall, {timer.cpu_seconds:.1f} s CPU ({sampling} sampler)")
    fixed_wall, fixed_cpu = common.best_of(timers["fixed"])
    for name in ("dynamic", "grouped"):
        wall, cpu = common.best_of(timers[name])
        common.ratio(f"padding.{name}.tokens", tokens["fixed"] / tokens[name],
                     f"fixed-{FIXED_LENGTH} tokens / {name} tokens")
        common.ratio(f"padding.{name}.speedup", fixed_wall / wall,
                     f"fixed-{FIXED_LENGTH} epoch wall time / {name} epoch wall time, best of {rounds}")
        common.ratio(f"padding.{name}.cpu_speedup", fixed_cpu / cpu,
                     f"same with process CPU time, best of {rounds}")

if __name__ == "__main__":
    main()
