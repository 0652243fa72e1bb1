"""Each benchmark's quick mode runs in a subprocess and prints its results in the agreed format.

Format and correctness only (no timing assertions: timings belong to benchmarks/,
see benchmarks/README.md). The four that train (marked ``bench_quick``, about 4 CPU-minutes together) run
in `make test-bench` and in CI's own job beside `make test`, not in `make test` itself (its 15 minutes). Data: the real MRPC files in ../shared/data/mrpc when
present, else a GLUE-format folder written from the course's paraphrase set.
"""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_MRPC = REPO.parent / "shared" / "data" / "mrpc"
RATIO = re.compile(r"^ratio (\S+) = (\S+)  \((.+)\)$", re.MULTILINE)
pytestmark = pytest.mark.timeout(1200)  # a quick run takes well under a minute on 2 free cores


@pytest.fixture(scope="module")
def mrpc_dir(tmp_path_factory) -> Path:
    if (SHARED_MRPC / "test.tsv").is_file():
        return SHARED_MRPC
    from course_utils.paraphrase import paraphrase_dataset

    folder = tmp_path_factory.mktemp("mrpc")
    for split, name in {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}.items():
        with open(folder / name, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
            writer.writerow(["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"])
            for i, row in enumerate(paraphrase_dataset()[split]):
                writer.writerow([row["label"], 2 * i, 2 * i + 1, row["sentence1"], row["sentence2"]])
    return folder


def run_benchmark(name: str, *args: str, env: dict | None = None) -> str:
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1", "TOKENIZERS_PARALLELISM": "false",
                   **(env or {})}
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / f"{name}.py"), *args], cwd=REPO,
                            env=environment, capture_output=True, text=True, timeout=1100)
    assert result.returncode == 0, f"{name} failed:\n{result.stderr[-3000:]}"
    return result.stdout


def ratios(output: str) -> dict[str, float]:
    found = {name: float(value) for name, value, _ in RATIO.findall(output)}
    assert all(value == value and value >= 0 for value in found.values()), found  # numbers, no NaN
    return found


@pytest.mark.bench_quick
def test_padding_quick(mrpc_dir):
    found = ratios(run_benchmark("padding", "--quick", "--data-dir", str(mrpc_dir)))
    for variant in ("dynamic", "grouped"):
        assert {f"padding.{variant}.tokens", f"padding.{variant}.speedup"} <= found.keys()
        # Padding to the batch's longest pair never needs more tokens than padding everything to 128.
        assert found[f"padding.{variant}.tokens"] > 1.0


@pytest.mark.bench_quick
def test_trainer_vs_loop_quick(mrpc_dir):
    output = run_benchmark("trainer_vs_loop", "--data-dir", str(mrpc_dir), env={"COURSE_SMOKE": "1"})
    assert "trainer_vs_loop.time" in ratios(output)
    # Same initial weights, same batches, same maths: both sides end with the same mean training loss.
    losses = [float(x) for x in re.findall(r"mean training loss (\d+\.\d+)", output)]
    assert len(losses) == 2 and abs(losses[0] - losses[1]) < 5e-3, losses


@pytest.mark.bench_quick
def test_grad_accum_quick(mrpc_dir):
    found = ratios(run_benchmark("grad_accum", "--quick", "--data-dir", str(mrpc_dir)))
    assert {"grad_accum.grad.max_rel_diff", "grad_accum.sgd_update.max_rel_diff", "grad_accum.peak_memory"} <= found.keys()
    # The Trainer's accumulated gradient and the SGD update it gives are batch 16's up to rounding ...
    assert found["grad_accum.grad.max_rel_diff"] < 1e-3 and found["grad_accum.sgd_update.max_rel_diff"] < 1e-3
    # ... and without the workaround they are either right (a fixed transformers) or the sum of 4 means.
    assert min(abs(found["grad_accum.grad_trainer_default.scale"] - s) for s in (1.0, 4.0)) < 1e-3
    if "grad_accum.peak_activation_memory" in found:  # CPU profiler
        assert found["grad_accum.peak_activation_memory"] < 1.0  # micro-batches of 4 hold fewer activations


def test_lesson_times_on_a_tiny_lesson(tmp_path):
    """The timing and training-cell detection of lesson_times.py, on a three-second notebook (the real lessons
    run in nbval; `lesson_times.py --quick` runs one of them in smoke mode by hand or in `make bench`)."""
    import nbformat

    cells = [nbformat.v4.new_markdown_cell("# tiny"),
             nbformat.v4.new_code_cell("import time\nclass Trainer:\n    def train(self):\n        time.sleep(0.3)"),
             nbformat.v4.new_code_cell("# trainer.train() in a comment is not training\ntrainer = Trainer()"),
             nbformat.v4.new_code_cell("trainer.train()"),
             nbformat.v4.new_code_cell("%%writefile script.py\ntrainer.train()"),
             nbformat.v4.new_code_cell("class M:\n    def train(self): pass\nmodel = M()\nmodel.train()"),
             nbformat.v4.new_code_cell("def fine_tune():\n    trainer.train()\n    return trainer"),  # defines only
             nbformat.v4.new_code_cell("run = fine_tune()")]  # calls a function that trains
    lesson = tmp_path / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), lesson)
    output = run_benchmark("lesson_times", "--quick", "--lesson", str(lesson))
    last = json.loads(output.strip().splitlines()[-1])
    assert last["mode"] == "smoke" and {"cores", "bf16_native"} <= last["machine"].keys()
    (result,) = last["lessons"]
    assert result["status"] == "ok" and [c["cell"] for c in result["training_cells"]] == [3, 7]
    assert 0.3 <= result["training_cells"][0]["seconds"] <= result["seconds"]
    assert result["cpu_seconds"] > 0  # the kernel's CPU time (it starts Python and IPython at least)
    assert "| tiny | smoke | ok |" in output and "| tiny | 3 | `trainer.train()` |" in output
    assert (tmp_path / "script.py").is_file()  # it ran in the lesson's own folder


@pytest.mark.bench_quick
def test_finetune_mrpc_quick(mrpc_dir):
    output = run_benchmark("finetune_mrpc", "--quick", "--data-dir", str(mrpc_dir))
    last = json.loads(output.strip().splitlines()[-1])
    assert set(last) == {"accuracy", "f1", "train_seconds", "eval_seconds", "split", "examples", "checkpoint",
                         "precision"}
    assert last["split"] == "test" and 0 < last["examples"] <= 64
    assert last["precision"] in {"fp32", "bf16", "fp16"}
    assert 0.0 <= last["accuracy"] <= 1.0 and 0.0 <= last["f1"] <= 1.0
    assert last["train_seconds"] > 0 and last["eval_seconds"] > 0


def test_report_collects_every_ratio(tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import report

    (tmp_path / "a.log").write_text("noise\nnote load 1.0\nratio a.x = 1.5  (one over two)\n", encoding="utf-8")
    (tmp_path / "b.log").write_text('ratio b.y = 2  (why)\n{"accuracy": 0.8, "split": "test"}\n', encoding="utf-8")
    (tmp_path / "c.log").write_text("| x | y |\n| --- | --- |\n| 1 | 2 |\nbetween\n| z |\n| --- |\n", encoding="utf-8")
    text = report.render(tmp_path)
    assert "| a | `a.x` | 1.5 | one over two |" in text and "| b | `b.y` | 2 | why |" in text
    assert "## c\n\n| x | y |\n| --- | --- |\n| 1 | 2 |\n\n| z |\n| --- |\n" in text and "No result in" not in text
    assert '{"accuracy": 0.8, "split": "test"}' in text and "- load 1.0" in text


def test_grading_throughput_builds_honest_and_hostile_submissions(tmp_path):
    """The class grading_throughput.py hands the grader (the grading itself is the round-trip test's job)."""
    import nbformat

    sys.path.insert(0, str(REPO / "benchmarks"))
    import grading_throughput as bench

    def notebook(answers):
        cells = [nbformat.v4.new_code_cell("import os")]
        for grade_id, text in answers.items():
            cell = nbformat.v4.new_code_cell(text)
            cell.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": grade_id}
            cells.append(cell)
        return nbformat.v4.new_notebook(cells=cells)

    for folder, answers in (("source", {"a1": "### BEGIN SOLUTION\nx = 1\n### END SOLUTION",
                                        "a2": "### BEGIN SOLUTION\ny = 2\n### END SOLUTION"}),
                            ("release", {"a1": "raise NotImplementedError()", "a2": "raise NotImplementedError()"})):
        (tmp_path / folder / "hw").mkdir(parents=True)
        nbformat.write(notebook(answers), tmp_path / folder / "hw" / "hw.ipynb")
    kinds = bench.write_submissions(tmp_path, students=20)
    assert len(kinds) == 20 and sorted(kinds.values()).count("honest") == 16
    answers = {kind: [c.source for c in nbformat.read(tmp_path / "submitted" / student / "hw" / "hw.ipynb", 4).cells[1:]]
               for (student, _), kind in kinds.items()}
    assert answers["honest"] == ["x = 1", "y = 2"]
    assert answers["blank"] == ["raise NotImplementedError()"] * 2
    assert answers["crash"] == ["x = 1", bench.HOSTILE["crash"]] and answers["loop"][1] == bench.HOSTILE["loop"]
    assert answers["flood"][1].startswith(bench.HOSTILE["flood"]) and answers["flood"][1].endswith("y = 2")
