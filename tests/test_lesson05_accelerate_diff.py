"""Lesson 5 shows, as the Hugging Face course does, the plain loop turned into an Accelerate loop as a ```diff block.

The diff must stay true to the lesson's own code: its old side (context and `-` lines) is the code of sections 2 and 3,
line for line and in order, and its new side (context and `+` lines) is what the Accelerate script runs, apart from
the few lines the lesson says the script changes (the Accelerator's options, fused AdamW, `num_epochs` as an argument,
no progress bar). Comments aside, in both languages.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LOOP_CELLS = ["b0cc4044", "31341622", "aceab1ff", "1daba8ac"]  # model, optimizer + scheduler, device, the loop
SCRIPT_CELL = "e4f43cd6"
# new-side lines the script writes otherwise; the markdown before the script says how
SCRIPT_CHANGES = {"accelerator = Accelerator()", "optimizer = AdamW(model.parameters(), lr=5e-5)", "num_epochs = 3",
                  "progress_bar = tqdm(range(num_training_steps))", "progress_bar.update(1)"}


def _code(line: str) -> str:
    return re.sub(r"\s*#.*$", "", line).rstrip()


def _diff_sides(lang):
    cells = {c.id: c for c in nbformat.read(ROOT / "notebooks" / lang / "05_training_loop.ipynb", 4).cells}
    diff = re.findall(r"```diff\n(.*?)```", cells["lesson05-accelerate-diff"].source, re.S)
    assert len(diff) == 1
    lines = [line for line in diff[0].splitlines() if _code(line[1:]).strip()]
    old = [_code(line[1:]) for line in lines if line[0] in " -"]
    new = [_code(line[1:]) for line in lines if line[0] in " +"]
    return cells, old, new, lines


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_diff_starts_from_the_lessons_own_loop(lang):
    cells, old, _, lines = _diff_sides(lang)
    assert all(line[0] in " +-" for line in lines)
    lesson = [_code(line) for cell in LOOP_CELLS for line in cells[cell].source.splitlines()]
    position = 0
    for line in old:
        assert line in lesson[position:], f"{lang}: not in the lesson's code (in this order): {line!r}"
        position = lesson.index(line, position) + 1


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_script_runs_the_diffs_loop(lang):
    cells, _, new, _ = _diff_sides(lang)
    script = {_code(line).strip() for line in cells[SCRIPT_CELL].source.splitlines()}
    missing = [line.strip() for line in new if line.strip() not in script and line.strip() not in SCRIPT_CHANGES]
    assert not missing, f"{lang}: the diff's new side has lines the script does not run: {missing}"
    for needed in ("from accelerate import Accelerator", "accelerator.backward(loss)",
                   "train_dataloader, eval_dataloader, model, optimizer = accelerator.prepare("):
        assert needed in [line.strip() for line in new]
    assert not any("device" in line for line in new), "the diff's new side still moves things to `device`"
