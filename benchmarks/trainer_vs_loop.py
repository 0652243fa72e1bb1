"""Lesson 5's question, measured: what does the Trainer cost over a plain PyTorch training loop?

    python benchmarks/trainer_vs_loop.py [--quick] [--pairs 480] [--batch-size 8]

Both sides, in this one process, train a fresh copy of the same initial
weights on exactly the same batches in the same order: the training pairs are
shuffled once (seeded), then the loop's DataLoader reads them with
shuffle=False and the Trainer with train_sampling_strategy="sequential".
Same collator (DataCollatorWithPadding), same DataLoader settings (batch size,
no workers, no pinned memory on CPU), same optimizer maths (torch AdamW, lr
5e-5, weight decay 0.01, linear schedule without warmup), no evaluation,
checkpointing, logging or progress bars on either side. What still differs:
the Trainer exempts biases and LayerNorm weights from weight decay (same
cost), and its gradient clipping is switched off (max_grad_norm=0) because
the canonical loop has none; and the Trainer's default optimizer is torch's
*fused* AdamW (optim="adamw_torch_fused" since torch 2.8), while the canonical
loop's AdamW(model.parameters()) is the per-tensor implementation on CPU (same
maths, slower; measured here 2-3x the Trainer's time per epoch on 2 CPU cores).
The first side to meet a new batch shape pays for oneDNN's kernel set-up, so
the default is two rounds. The sides run round robin; the best time of each
counts. Both sides run in fp32, also on CUDA (the canonical loop has no
autocast). Prints the Trainer / loop time ratio (goal: <= 1.10).
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

LEARNING_RATE = 5e-5
WEIGHT_DECAY = 0.01  # torch.optim.AdamW's default, which the canonical loop uses
QUICK_PAIRS, QUICK_BATCH = 16, 8


def add_flags(parser):
    parser.add_argument("--pairs", type=int, default=480, help="MRPC training pairs (one epoch over them)")
    parser.add_argument("--batch-size", type=int, default=8, help="the lessons' batch size")
    parser.add_argument("--rounds", type=int, default=2, help="round-robin repeats; the best time of each counts")


def canonical_loop(model, train_dataset, collator, batch_size, device, num_epochs=1):
    """Lesson 5's training loop, written out as the lesson writes it (no progress bar). Returns mean loss."""
    from torch.optim import AdamW
    from torch.utils.data import DataLoader
    from transformers import get_scheduler

    train_dataloader = DataLoader(train_dataset, shuffle=False, batch_size=batch_size, collate_fn=collator)
    optimizer = AdamW(model.parameters(), lr=LEARNING_RATE)
    num_training_steps = num_epochs * len(train_dataloader)
    lr_scheduler = get_scheduler("linear", optimizer=optimizer, num_warmup_steps=0,
                                 num_training_steps=num_training_steps)
    total_loss = 0.0
    model.train()
    for epoch in range(num_epochs):
        for batch in train_dataloader:
            batch = {k: v.to(device) for k, v in batch.items()}
            outputs = model(**batch)
            loss = outputs.loss
            loss.backward()
            optimizer.step()
            lr_scheduler.step()
            optimizer.zero_grad()
            total_loss += loss.item()
    return total_loss / num_training_steps


def with_trainer(model, train_dataset, collator, tokenizer, batch_size, device):
    """The same epoch with the Trainer. Returns its mean training loss."""
    from transformers import Trainer, TrainingArguments

    with tempfile.TemporaryDirectory() as output_dir:
        training_args = TrainingArguments(
            output_dir, num_train_epochs=1, per_device_train_batch_size=batch_size,
            learning_rate=LEARNING_RATE, weight_decay=WEIGHT_DECAY, lr_scheduler_type="linear", warmup_steps=0,
            max_grad_norm=0.0, train_sampling_strategy="sequential", dataloader_pin_memory=device == "cuda",
            eval_strategy="no", save_strategy="no", logging_strategy="no", report_to="none",
            disable_tqdm=True, seed=common.SEED,
        )
        trainer = Trainer(model=model, args=training_args, train_dataset=train_dataset,
                          data_collator=collator, processing_class=tokenizer)
        return trainer.train().training_loss


def main():
    args = common.parse_args(__doc__.splitlines()[0], add_flags)
    env, checkpoint, device = common.setup()
    from transformers import AutoTokenizer, DataCollatorWithPadding

    import course_utils as cu

    if device == "cuda":
        common.note("on CUDA both sides run in fp32: the canonical loop has no autocast, so no fp16 here")
    pairs, batch_size = (QUICK_PAIRS, QUICK_BATCH) if args.quick else (args.pairs, args.batch_size)
    raw = common.subset(common.load_raw(args.data_dir)["train"], pairs)  # shuffled once, seeded
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    train_dataset = common.tokenize(raw, tokenizer, max_length=128).with_format("torch")
    collator = DataCollatorWithPadding(tokenizer=tokenizer)
    common.note(common.describe_machine(device))
    common.note(f"{len(raw)} MRPC training pairs, batch {batch_size}, one epoch per side")
    # Warm-up (kernel selection, allocator), untimed, so neither side pays it.
    canonical_loop(common.load_model(checkpoint, device), train_dataset.select(range(batch_size * 2)),
                   collator, batch_size, device)
    timers = {"loop": [], "trainer": []}
    rounds = 1 if args.quick else args.rounds
    for round_ in range(rounds):
        for side in timers:
            model = common.load_model(checkpoint, device)
            cu.seed_everything(common.SEED)
            with common.Timer() as timer:
                if side == "loop":
                    loss = canonical_loop(model, train_dataset, collator, batch_size, device)
                else:
                    loss = with_trainer(model, train_dataset, collator, tokenizer, batch_size, device)
            timers[side].append(timer)
            common.note(f"round {round_ + 1} {side}: {timer.seconds:.1f} s wall, {timer.cpu_seconds:.1f} s CPU, "
                        f"mean training loss {loss:.4f}")
    loop_wall, loop_cpu = common.best_of(timers["loop"])
    trainer_wall, trainer_cpu = common.best_of(timers["trainer"])
    common.ratio("trainer_vs_loop.time", trainer_wall / loop_wall,
                 f"Trainer wall time / plain loop wall time, best of {rounds}; goal <= 1.10")
    common.ratio("trainer_vs_loop.cpu_time", trainer_cpu / loop_cpu,
                 f"same with process CPU time, best of {rounds}")


if __name__ == "__main__":
    main()
