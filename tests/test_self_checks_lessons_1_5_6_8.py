"""Each self-check of lessons 1, 5, 6 and 8 says "not yet" to the typical wrong answer it is there to catch.

Issue 22, "Self-checks that catch the error they target": a check that passes the mistake its exercise warns about
teaches the mistake. Every test here feeds one check a wrong answer a learner really writes, and asserts that the
check says "not yet" (and, where it matters, why); the right answer is fed too, so that a check cannot pass these
tests by saying "not yet" to everything.
"""
from __future__ import annotations

import csv
import math
from types import SimpleNamespace

import pytest
import torch
from torch.utils.data import DataLoader

from course_utils import exercise_checks_advanced as checks
from course_utils import exercises


pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture(scope="module")
def tokenizer(offline_folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(offline_folder)


# ---- lesson 1: sentence B alone --------------------------------------------------------------------------------

def test_sentence_b_wrong_answers(tokenizer):
    from datasets import Dataset

    pairs = Dataset.from_dict({
        "sentence1": ["The cat sat on the mat.", "Shares rose 5 percent on Monday after the report."],
        "sentence2": ["A cat was sitting on the mat.", "The report lifted shares by five percent."],
    })

    def tokens_where(encoding, wanted_type):
        return [t for t, k in zip(tokenizer.convert_ids_to_tokens(encoding["input_ids"]), encoding["token_type_ids"])
                if k == wanted_type]

    right = lambda enc: tokens_where(enc, 1)[:-1]  # noqa: E731 - type 1 without the closing [SEP]
    assert exercises.check_sentence_b_tokens(right, tokenizer, pairs).ok
    keeps_sep = exercises.check_sentence_b_tokens(lambda enc: tokens_where(enc, 1), tokenizer, pairs)
    assert not keeps_sep.ok and "[SEP]" in keeps_sep.why
    sentence_a = exercises.check_sentence_b_tokens(lambda enc: tokens_where(enc, 0)[1:-1], tokenizer, pairs)
    assert not sentence_a.ok  # token_type_ids 0 is sentence A
    ids = exercises.check_sentence_b_tokens(
        lambda enc: [i for i, k in zip(enc["input_ids"], enc["token_type_ids"]) if k == 1][:-1], tokenizer, pairs)
    assert not ids.ok and "strings" in ids.why
    whole_pair = exercises.check_sentence_b_tokens(
        lambda enc: [t for t in tokenizer.convert_ids_to_tokens(enc["input_ids"])
                     if t not in tokenizer.all_special_tokens], tokenizer, pairs)
    assert not whole_pair.ok and "sentence A slipped in" in whole_pair.why


# ---- lesson 5: the evaluation loss -----------------------------------------------------------------------------

# the model stand-in of the lesson-5 check's own tests
from test_exercise_checks_advanced import _TinyModel  # noqa: E402


def _full_batches_loader(n=16, batch_size=8):
    """A DataLoader whose batches are all full, like the lesson's validation sets (408, 120, 32 pairs in 8s)."""
    rows = [{"x": torch.tensor(float(i)), "labels": torch.tensor(2.0 * i)} for i in range(n)]
    return DataLoader(rows, batch_size=batch_size)


def right_evaluate_loss(model, dataloader, device):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in dataloader:
            total += model(**batch).loss.item() * len(batch["labels"])
            count += len(batch["labels"])
    return total / count


def right_by_dataset_size(model, dataloader, device):
    """Also right: divide by the size of the dataset the loader reads."""
    model.eval()
    with torch.no_grad():
        total = sum(model(**b).loss.item() * len(b["labels"]) for b in dataloader)
    return total / len(dataloader.dataset)


def mean_of_batch_means(model, dataloader, device):
    model.eval()
    with torch.no_grad():
        return sum(model(**b).loss.item() for b in dataloader) / len(dataloader)


def mean_of_batch_means_over_a_list(model, dataloader, device):
    model.eval()
    with torch.no_grad():
        losses = [model(**b).loss.item() for b in dataloader]
    return sum(losses) / len(losses)


def test_mean_of_batch_means_is_caught_when_every_batch_is_full(capsys):
    loader = _full_batches_loader()
    assert mean_of_batch_means(_TinyModel(), loader, "cpu") == pytest.approx(right_evaluate_loss(_TinyModel(), loader,
                                                                                                 "cpu"))
    assert checks.check_evaluate_loss(right_evaluate_loss, _TinyModel(), loader, "cpu") is True
    assert checks.check_evaluate_loss(right_by_dataset_size, _TinyModel(), loader, "cpu") is True
    capsys.readouterr()
    assert checks.check_evaluate_loss(mean_of_batch_means, _TinyModel(), loader, "cpu") is False
    out = capsys.readouterr().out
    assert "not yet" in out and "9 examples in batches of 8 + 1" in out and "Weight each batch" in out


def test_mean_of_batch_means_is_caught_on_a_plain_list_of_full_batches(capsys):
    batches = list(_full_batches_loader())
    assert checks.check_evaluate_loss(right_evaluate_loss, _TinyModel(), batches, "cpu") is True
    assert checks.check_evaluate_loss(mean_of_batch_means_over_a_list, _TinyModel(), batches, "cpu") is False
    assert "Weight each batch" in capsys.readouterr().out


def test_evaluate_loss_other_wrong_answers(capsys):
    loader = _full_batches_loader()

    def train_mode(model, dataloader, device):
        value = right_evaluate_loss(model, dataloader, device)
        model.train()
        return value

    def with_gradients(model, dataloader, device):
        model.eval()
        total = sum(model(**b).loss * len(b["labels"]) for b in dataloader)
        total.backward()
        return total.item() / len(dataloader.dataset)

    def as_tensor(model, dataloader, device):
        return torch.tensor(right_evaluate_loss(model, dataloader, device))

    def unsolved(model, dataloader, device):
        raise NotImplementedError

    expectations = [(train_mode, "model.eval()"), (with_gradients, "torch.no_grad()"), (as_tensor, ".item()"),
                    (unsolved, "NotImplementedError")]
    for wrong, hint in expectations:
        assert checks.check_evaluate_loss(wrong, _TinyModel(), loader, "cpu") is False, wrong.__name__
        out = capsys.readouterr().out
        assert "not yet" in out and hint in out, (wrong.__name__, out)


def test_evaluate_loss_on_the_lessons_own_kind_of_data(offline_folder, tokenizer, capsys):
    """A real model, DataCollatorWithPadding and 16 pairs in batches of 8, as in lesson 5 (all batches full)."""
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding, set_seed

    pairs = Dataset.from_dict({
        "sentence1": [f"The report on day {i} said that shares rose." for i in range(16)],
        "sentence2": [("Shares went up, the report said." if i % 2 else "It rained all week in the city " * (i % 4 + 1))
                      for i in range(16)],
        "labels": [i % 2 for i in range(16)],
    })
    features = pairs.map(lambda e: tokenizer(e["sentence1"], e["sentence2"], truncation=True), batched=True)
    features = features.remove_columns(["sentence1", "sentence2"])
    features.set_format("torch")
    loader = DataLoader(features, batch_size=8, collate_fn=DataCollatorWithPadding(tokenizer=tokenizer))
    set_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(offline_folder, num_labels=2)

    def unweighted(model, dataloader, device):
        model.eval()
        with torch.no_grad():
            losses = [model(**{k: v.to(device) for k, v in b.items()}).loss.item() for b in dataloader]
        return sum(losses) / len(losses)

    assert checks.check_evaluate_loss(right_evaluate_loss, model, loader, "cpu") is True
    assert checks.check_evaluate_loss(unweighted, model, loader, "cpu") is False
    assert "batches of 8 + 1" in capsys.readouterr().out


# ---- lesson 5: three processes -----------------------------------------------------------------------------------

def test_launch_prediction_wrong_answers(capsys):
    batches = math.ceil(3668 / 8)  # 459, the last one holds 4 pairs
    per_process = math.ceil(batches / 3)  # 153
    assert (batches, per_process) == (459, 153)
    assert checks.check_launch_prediction((153, 4), n_train=3668) is True
    wrong = {
        (153, 0): "repeated",   # "459 batches split evenly, so nothing repeats": the short last batch is filled up
        (152, 4): "per process",  # floor instead of ceiling
        (230, 12): "per process",  # the lesson's two-process numbers
        (153, 12): "repeated",
    }
    for prediction, topic in wrong.items():
        assert checks.check_launch_prediction(prediction, n_train=3668) is False, prediction
        out = capsys.readouterr().out
        assert "not yet" in out and topic in out, (prediction, out)


# ---- lesson 6: the best epoch from the log ---------------------------------------------------------------------

LOG = [{"loss": 0.7, "epoch": 1.0, "step": 4}, {"eval_loss": 0.6, "eval_f1": 0.70, "epoch": 1.0, "step": 4},
       {"loss": 0.5, "epoch": 2.0, "step": 8}, {"eval_loss": 0.5, "eval_f1": 0.72, "epoch": 2.0, "step": 8},
       {"loss": 0.3, "epoch": 3.0, "step": 12}, {"eval_loss": 0.55, "eval_f1": 0.78, "epoch": 3.0, "step": 12},
       {"train_loss": 0.5, "epoch": 3.0, "step": 12}]


def _rows(history, metric):
    return [row for row in history if metric in row]


def test_best_epoch_wrong_answers(capsys):
    def right(history, metric, greater_is_better):
        pick = max if greater_is_better else min
        return pick(_rows(history, metric), key=lambda row: row[metric])["epoch"]

    def position(history, metric, greater_is_better):  # the index among the evaluation rows, not the epoch
        rows = _rows(history, metric)
        return rows.index((max if greater_is_better else min)(rows, key=lambda row: row[metric]))

    def step(history, metric, greater_is_better):  # the step, not the epoch
        pick = max if greater_is_better else min
        return pick(_rows(history, metric), key=lambda row: row[metric])["step"]

    def last(history, metric, greater_is_better):  # the last evaluation, as if the run ended at its best
        return _rows(history, metric)[-1]["epoch"]

    def keyerror(history, metric, greater_is_better):  # training rows have no eval_ key
        return min(history, key=lambda row: row[metric])["epoch"]

    def lowest_always(history, metric, greater_is_better):
        return right(history, metric, False)

    assert checks.check_best_epoch(right, LOG) is True
    for wrong in (position, step, last, keyerror, lowest_always):
        assert checks.check_best_epoch(wrong, LOG) is False, wrong.__name__
        assert "not yet" in capsys.readouterr().out


# ---- lesson 6: stop on the loss, in a folder of its own ----------------------------------------------------------

def _loss_args(output_dir, **changes):
    """The exercise's TrainingArguments: lesson 6's `early_args` with another folder and the loss watched."""
    from transformers import TrainingArguments

    values = dict(num_train_epochs=10, learning_rate=1e-4, eval_strategy="epoch", save_strategy="epoch",
                  logging_strategy="epoch", load_best_model_at_end=True, metric_for_best_model="eval_loss",
                  save_total_limit=1, save_only_model=True)
    return TrainingArguments(output_dir, **{**values, **changes})


def test_best_model_args_reusing_a_finished_runs_folder_is_caught(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert checks.check_best_model_args(_loss_args("early_stopping_loss_trainer")) is True
    capsys.readouterr()
    for reused in ("early_stopping_trainer", "./early_stopping_trainer", str(tmp_path / "early_stopping_trainer"),
                   "overfit_trainer", "curves_trainer", "erratic_trainer"):
        assert checks.check_best_model_args(_loss_args(reused)) is False, reused
        out = capsys.readouterr().out
        assert "not yet" in out and "folder of its own" in out, (reused, out)


def test_best_model_args_other_wrong_answers(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    folder = "early_stopping_loss_trainer"
    wrong = {
        "F1 still watched": _loss_args(folder, metric_for_best_model="f1"),
        "lower loss taken as worse": _loss_args(folder, greater_is_better=True),
        "best model not reloaded": _loss_args(folder, load_best_model_at_end=False),
        "saves per step": _loss_args(folder, eval_strategy="steps", save_strategy="steps", eval_steps=4, save_steps=4),
    }
    for what, training_args in wrong.items():
        assert checks.check_best_model_args(training_args) is False, what
        assert "not yet" in capsys.readouterr().out
    assert checks.check_best_model_args(None) is False


def test_reusing_the_folder_really_touches_the_earlier_run(tmp_path, monkeypatch, offline_folder, tokenizer):
    """What the check's message says: a run in an earlier run's folder overwrites or deletes its checkpoints."""
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, Trainer, set_seed

    monkeypatch.chdir(tmp_path)
    data = Dataset.from_dict({"sentence1": ["A short one.", "Another sentence here."] * 4,
                              "sentence2": ["A brief one.", "Something else entirely."] * 4, "label": [1, 0] * 4})
    data = data.map(lambda e: tokenizer(e["sentence1"], e["sentence2"]), batched=True)

    def run(output_dir, epochs, metric):
        set_seed(0)
        model = AutoModelForSequenceClassification.from_pretrained(offline_folder, num_labels=2)
        args = _loss_args(output_dir, num_train_epochs=epochs, metric_for_best_model=metric, report_to="none",
                          per_device_train_batch_size=4, per_device_eval_batch_size=4, use_cpu=True)
        trainer = Trainer(model, args, train_dataset=data, eval_dataset=data, processing_class=tokenizer)
        trainer.train()
        return trainer

    first = run("early_stopping_trainer", 2, "eval_loss")
    kept = first.state.best_model_checkpoint
    before = (tmp_path / kept / "trainer_state.json").read_text() if (tmp_path / kept).exists() else None
    assert before is not None
    run("early_stopping_trainer", 3, "eval_loss")  # the wrong answer: the same folder again
    after = (tmp_path / kept / "trainer_state.json")
    assert not after.exists() or after.read_text() != before, "the first run's kept checkpoint is untouched"


# ---- lesson 8: label your pairs ------------------------------------------------------------------------------------

_LABELS = {0: "equivalent", 1: "not_equivalent", 2: "not_equivalent"}  # not a palindrome: order mistakes show


class _FakeTokenizer:
    def __call__(self, s1, s2, return_tensors=None):
        index = [pair[0] for pair in checks._TEST_PAIRS].index(s1)
        return SimpleNamespace(to=lambda device: {"index": index})


class _FakeModel:
    device = "cpu"
    config = SimpleNamespace(id2label={0: "not_equivalent", 1: "equivalent"})

    def __call__(self, index):
        label_id = 1 if _LABELS[index] == "equivalent" else 0
        return SimpleNamespace(logits=torch.tensor([[0.0, 1.0]] if label_id else [[1.0, 0.0]]))


def _fake_pipeline(inputs, **kwargs):
    """A text-classification pipeline over _FakeModel: one dict per input, a list for a list."""
    def one(item):
        if isinstance(item, dict):
            index = [pair[0] for pair in checks._TEST_PAIRS].index(item["text"])
            return {"label": _LABELS[index], "score": 0.9}
        return {"label": "not_equivalent", "score": 0.5}  # a single text: no pair at all
    return [one(item) for item in inputs] if isinstance(inputs, list) else one(inputs)


def test_label_pairs_wrong_answers(capsys):
    def right(classifier, pairs):
        return [r["label"] for r in classifier([{"text": a, "text_pair": b} for a, b in pairs])]

    def strings_not_pairs(classifier, pairs):
        return [classifier([a, b])[0]["label"] for a, b in pairs]

    def whole_results(classifier, pairs):
        return classifier([{"text": a, "text_pair": b} for a, b in pairs])

    def reversed_order(classifier, pairs):
        return right(classifier, pairs)[::-1]

    def hard_coded(classifier, pairs):
        return ["equivalent", "not_equivalent", "not_equivalent"]

    assert checks.check_label_pairs(right, _fake_pipeline, _FakeModel(), _FakeTokenizer()) is True
    capsys.readouterr()
    hints = {strings_not_pairs: "as pairs", whole_results: "label names", reversed_order: "order",
             hard_coded: "did not call the pipeline"}
    for wrong, hint in hints.items():
        assert checks.check_label_pairs(wrong, _fake_pipeline, _FakeModel(), _FakeTokenizer()) is False, wrong.__name__
        out = capsys.readouterr().out
        assert "not yet" in out and hint in out, (wrong.__name__, out)


# ---- lesson 8: a fourth class ------------------------------------------------------------------------------------

def test_fourth_class_wrong_answers(tmp_path, capsys):
    path = tmp_path / "support.csv"

    def write(counts):
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows([f"message {i}", label] for label, n in counts.items() for i in range(n))

    three = {0: "billing", 1: "delivery", 2: "technical"}
    model = SimpleNamespace(config=SimpleNamespace(id2label=dict(three)))
    write({"billing": 15, "delivery": 15, "technical": 15, "account": 3})  # a fourth label, too few messages
    assert checks.check_fourth_class(path, model) is False
    assert "at least 10" in capsys.readouterr().out
    write({"billing": 15, "delivery": 15, "technical": 15, "account": 10})  # the CSV is right, the model is old
    assert checks.check_fourth_class(path, model) is False
    assert "rerun" in capsys.readouterr().out
    model.config.id2label = {**three, 3: "account"}
    assert checks.check_fourth_class(path, model) is True


# ---- the folded answers of lessons 5, 6 and 8 pass their own checks ----------------------------------------------
# Issue 22: every self-checked exercise has a worked answer folded under its check cell. An answer the check refuses
# would teach a wrong solution, so each answer's code is run through the check it answers (en), and the Korean answer
# holds the same code (comments aside).

import json  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def code_without_comments(source: str) -> str:
    """What `make sync` compares: tools/sync_code_cells.py, loaded by path as tests/test_lessons_static.py does."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("sync_code_cells", ROOT / "tools" / "sync_code_cells.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.code_without_comments(source)


def _answer(lesson, cell_id, lang="en"):
    cells = json.loads((ROOT / "notebooks" / lang / f"{lesson}.ipynb").read_text(encoding="utf-8"))["cells"]
    text = next("".join(c["source"]) for c in cells if c.get("id") == cell_id)
    assert text.startswith("<details><summary>"), f"{lesson}/{cell_id} is not a folded answer"
    return text


def _answer_code(lesson, cell_id, lang="en"):
    blocks = re.findall(r"```python\n(.*?)```", _answer(lesson, cell_id, lang), re.S)
    assert blocks, f"{lesson}/{cell_id} has no code"
    return blocks[0]


ANSWERS_WITH_CODE = [("05_training_loop", "lesson05-ex2-answer"), ("06_learning_curves", "lesson06-ex2-answer"),
                     ("06_learning_curves", "lesson06-ex4-answer"), ("08_use_your_model", "lesson08-ex1-answer"),
                     ("08_use_your_model", "lesson08-ex4-answer")]


@pytest.mark.parametrize("lesson, cell_id", ANSWERS_WITH_CODE)
def test_korean_answer_holds_the_same_code(lesson, cell_id):
    assert code_without_comments(_answer_code(lesson, cell_id, "ko")) == code_without_comments(
        _answer_code(lesson, cell_id, "en"))


def test_lesson5_answer_evaluate_loss_passes_its_check():
    namespace = {"torch": torch}
    exec(_answer_code("05_training_loop", "lesson05-ex2-answer"), namespace)
    assert checks.check_evaluate_loss(namespace["evaluate_loss"], _TinyModel(), _full_batches_loader(), "cpu") is True


def test_lesson5_answer_three_processes_passes_its_check():
    for lang in ("en", "ko"):
        found = re.search(r"`my_prediction = \((\d+), (\d+)\)`", _answer("05_training_loop", "lesson05-ex4-answer", lang))
        assert found, lang
        assert checks.check_launch_prediction(tuple(map(int, found.groups())), n_train=3668) is True


def test_lesson6_answer_best_epoch_passes_its_check():
    namespace = {}
    exec(_answer_code("06_learning_curves", "lesson06-ex2-answer"), namespace)
    assert checks.check_best_epoch(namespace["best_epoch"], LOG) is True


def test_lesson6_answer_loss_args_passes_its_check(tmp_path, monkeypatch):
    from transformers import TrainingArguments

    monkeypatch.chdir(tmp_path)
    namespace = {"TrainingArguments": TrainingArguments, "env": SimpleNamespace(cpu_bf16=False)}
    exec(_answer_code("06_learning_curves", "lesson06-ex4-answer"), namespace)
    assert checks.check_best_model_args(namespace["loss_args"]) is True


def test_lesson8_answer_label_pairs_passes_its_check():
    namespace = {}
    exec(_answer_code("08_use_your_model", "lesson08-ex1-answer"), namespace)
    assert checks.check_label_pairs(namespace["label_pairs"], _fake_pipeline, _FakeModel(), _FakeTokenizer()) is True


def test_lesson8_answer_fourth_class_passes_its_check(tmp_path):
    namespace = {"messages": {label: [f"{label} message {i}" for i in range(15)]
                              for label in ("billing", "delivery", "technical")}}
    exec(_answer_code("08_use_your_model", "lesson08-ex4-answer"), namespace)
    new = namespace["messages"]["account"]
    assert len(set(new)) == len(new) >= 10
    path = tmp_path / "support.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:  # as the lesson's CSV cell writes it
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for label, texts in namespace["messages"].items():
            writer.writerows([text, label] for text in texts)
    names = sorted(namespace["messages"])  # class_encode_column sorts the names
    model = SimpleNamespace(config=SimpleNamespace(id2label=dict(enumerate(names))))
    assert checks.check_fourth_class(path, model) is True
