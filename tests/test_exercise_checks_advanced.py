"""The self-checks of lessons 4-6 say "right" to a right answer, "not yet" to wrong or unsolved ones, never raise."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from course_utils import exercise_checks_advanced as checks
from course_utils import messages


pytestmark = pytest.mark.usefixtures("english")


def args(**values):
    """A stand-in for TrainingArguments (the checks read attributes only)."""
    defaults = {"per_device_train_batch_size": 8, "gradient_accumulation_steps": 1, "load_best_model_at_end": False,
                "metric_for_best_model": None, "greater_is_better": None, "eval_strategy": "no",
                "save_strategy": "steps"}
    return SimpleNamespace(**{**defaults, **values})


def test_effective_batch(capsys):
    assert checks.check_effective_batch(None) is False
    assert "not yet" in capsys.readouterr().out
    assert checks.check_effective_batch(args(per_device_train_batch_size=8, gradient_accumulation_steps=2)) is True
    assert checks.check_effective_batch(args(per_device_train_batch_size=16, gradient_accumulation_steps=1)) is False
    assert "do not fit" in capsys.readouterr().out
    assert checks.check_effective_batch(args(per_device_train_batch_size=8, gradient_accumulation_steps=4)) is False


def test_effective_batch_with_real_training_arguments(tmp_path):
    from transformers import TrainingArguments

    right = TrainingArguments(str(tmp_path), per_device_train_batch_size=8, gradient_accumulation_steps=2)
    assert checks.check_effective_batch(right, target=32, devices=2, fits=8) is True


def test_constant_with_warmup():
    right = [2e-5 * step / 10 for step in range(10)] + [2e-5] * 90
    assert checks.check_constant_with_warmup(right) is True
    assert checks.check_constant_with_warmup(None) is False
    assert checks.check_constant_with_warmup([2e-5] * 100) is False  # no warmup
    linear = right[:10] + [2e-5 * (100 - step) / 90 for step in range(10, 100)]
    assert checks.check_constant_with_warmup(linear) is False


class _Output(SimpleNamespace):
    pass


class _TinyModel:
    """Enough of a model for the check: parameters, train/eval, a call that returns .loss."""

    def __init__(self):
        import torch

        self.weight = torch.nn.Parameter(torch.tensor(1.5))
        self.training = True

    def parameters(self):
        return [self.weight]

    def train(self):
        self.training = True

    def eval(self):
        self.training = False

    def __call__(self, x, labels):
        return _Output(loss=((self.weight * x - labels) ** 2).mean())


def _batches():
    import torch

    xs, ys = torch.arange(10.0), torch.arange(10.0) * 2
    return [{"x": xs[i:i + 4], "labels": ys[i:i + 4]} for i in range(0, 10, 4)]  # 4, 4, 2: uneven


def test_evaluate_loss(capsys):
    import torch

    def right(model, dataloader, device):
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for batch in dataloader:
                total += model(**batch).loss.item() * len(batch["labels"])
                count += len(batch["labels"])
        return total / count

    def mean_of_batch_means(model, dataloader, device):
        model.eval()
        with torch.no_grad():
            return sum(model(**b).loss.item() for b in dataloader) / len(dataloader)

    def with_gradients(model, dataloader, device):
        model.eval()
        losses = [model(**b).loss for b in dataloader]
        losses[0].backward()
        return right(model, dataloader, device)

    def unsolved(model, dataloader, device):
        raise NotImplementedError

    def as_tensor(model, dataloader, device):
        return torch.tensor(right(model, dataloader, device))

    assert checks.check_evaluate_loss(right, _TinyModel(), _batches(), "cpu") is True
    assert checks.check_evaluate_loss(mean_of_batch_means, _TinyModel(), _batches(), "cpu") is False
    assert checks.check_evaluate_loss(with_gradients, _TinyModel(), _batches(), "cpu") is False
    assert checks.check_evaluate_loss(unsolved, _TinyModel(), _batches(), "cpu") is False
    assert checks.check_evaluate_loss(as_tensor, _TinyModel(), _batches(), "cpu") is False  # the lesson asks for a float
    assert "tensor" in capsys.readouterr().out


def test_launch_prediction(capsys):
    batches = math.ceil(3668 / 8)
    per_process = math.ceil(batches / 3)
    assert checks.check_launch_prediction((per_process, per_process * 3 * 8 - 3668), n_train=3668) is True
    assert checks.check_launch_prediction((per_process, 0), n_train=3668) is False
    assert "only a short last batch" in capsys.readouterr().out
    assert checks.check_launch_prediction(None, n_train=3668) is False
    assert checks.check_launch_prediction("abc", n_train=3668) is False
    # two processes: the lesson's own numbers (230 batches each, 12 examples seen twice)
    assert checks.check_launch_prediction((230, 12), n_train=3668, processes=2) is True


def test_best_epoch(capsys):
    log = [{"loss": 0.7, "epoch": 1.0}, {"eval_loss": 0.6, "epoch": 1.0}, {"eval_loss": 0.5, "epoch": 2.0},
           {"eval_loss": 0.55, "epoch": 3.0}, {"train_loss": 0.4, "epoch": 3.0}]

    def right(history, metric, greater_is_better):
        rows = [row for row in history if metric in row]
        pick = max if greater_is_better else min
        return pick(rows, key=lambda row: row[metric])["epoch"]

    def always_lowest(history, metric, greater_is_better):
        return right(history, metric, False)

    def unsolved(history, metric, greater_is_better):
        raise NotImplementedError

    assert checks.check_best_epoch(right, log) is True
    assert checks.check_best_epoch(always_lowest, log) is False
    assert checks.check_best_epoch(unsolved, log) is False
    assert "NotImplementedError" in capsys.readouterr().out


def test_best_model_args(tmp_path):
    from transformers import TrainingArguments

    right = TrainingArguments(str(tmp_path), eval_strategy="epoch", save_strategy="epoch",
                              load_best_model_at_end=True, metric_for_best_model="eval_loss")
    assert checks.check_best_model_args(right, metric="eval_loss", greater_is_better=False) is True
    f1 = TrainingArguments(str(tmp_path), eval_strategy="epoch", save_strategy="epoch",
                           load_best_model_at_end=True, metric_for_best_model="f1")
    assert checks.check_best_model_args(f1, metric="eval_loss", greater_is_better=False) is False
    assert checks.check_best_model_args(None) is False
    assert checks.check_best_model_args(args(load_best_model_at_end=True, metric_for_best_model="loss",
                                             greater_is_better=False, eval_strategy="steps",
                                             save_strategy="steps")) is False


def test_korean_messages(capsys):
    messages.set_language("ko")
    checks.check_effective_batch(None)
    assert capsys.readouterr().out.startswith("✗ 아직입니다: ")


def test_label_pairs_unsolved_or_not_using_the_pipeline(capsys):
    assert checks.check_label_pairs(lambda classifier, pairs: None, None, None, None) is False
    assert "returns None" in capsys.readouterr().out
    assert checks.check_label_pairs(lambda classifier, pairs: ["equivalent"] * 3, None, None, None) is False
    assert "did not call the pipeline" in capsys.readouterr().out
    assert checks.check_label_pairs(lambda classifier, pairs: [classifier(list(p))[0] for p in pairs],
                                    lambda inputs, **k: ["x"], None, None) is False
    assert "not receive the pairs as pairs" in capsys.readouterr().out


def test_fourth_class(tmp_path, capsys):
    import csv

    path = tmp_path / "support.csv"

    def write(labels):
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows([f"message {i}", label] for label in labels for i in range(12))

    model = SimpleNamespace(config=SimpleNamespace(id2label={0: "billing", 1: "shipping", 2: "account"}))
    write(["billing", "shipping", "account"])
    assert checks.check_fourth_class(path, model) is False and "3 labels" in capsys.readouterr().out
    write(["billing", "shipping", "account", "returns"])
    assert checks.check_fourth_class(path, model) is False and "rerun from writing" in capsys.readouterr().out
    model.config.id2label[3] = "returns"
    assert checks.check_fourth_class(path, model) is True


def test_korean_messages_name_the_value_without_a_particle_after_it(tmp_path, capsys):
    import csv

    messages.set_language("ko")
    assert checks.check_best_model_args(args(output_dir="curves_trainer")) is False
    out = capsys.readouterr().out
    assert "출력 폴더('curves_trainer')는 이 강의의 앞선 훈련이 쓴 폴더입니다" in out, out

    other_metric = args(output_dir=str(tmp_path / "mine"), load_best_model_at_end=True, metric_for_best_model="f1")
    assert checks.check_best_model_args(other_metric) is False
    out = capsys.readouterr().out
    assert "`metric_for_best_model`이 지켜보는 메트릭('f1')은 요청한 메트릭이 아닙니다" in out, out

    log = [{"eval_loss": 0.5, "epoch": 1.0}, {"eval_loss": 0.4, "epoch": 2.0}]
    assert checks.check_best_epoch(lambda history, metric, greater: -1, log) is False
    out = capsys.readouterr().out
    assert "eval_loss 값이 없는 로그 행은 건너뛰세요" in out, out

    assert checks.check_label_pairs(lambda classifier, pairs: [classifier(list(p))[0] for p in pairs],
                                    lambda inputs, **k: ["x"], None, None) is False
    out = capsys.readouterr().out
    assert '{"text": ..., "text_pair": ...} 형태로 넘기세요' in out, out

    path = tmp_path / "support.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows([f"message {i}", label] for label in ("a", "b", "c", "d") for i in range(12))
    model = SimpleNamespace(config=SimpleNamespace(id2label={0: "a", 1: "b", 2: "c"}))
    assert checks.check_fourth_class(path, model) is False
    out = capsys.readouterr().out
    assert "✗ 아직입니다: 모델이 아는 레이블(['a', 'b', 'c'])이 CSV의 레이블과 다릅니다" in out, out
