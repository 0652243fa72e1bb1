"""Self-checks for the exercises of lessons 4-6 (advanced training, training loop, learning curves).

Each check prints one line, "right: ..." or "not yet: ... (why)", in the learner's language, and returns
True or False. A check never raises and never prints the answer: an unsolved exercise (a ``None`` left in
place, a function that still raises ``NotImplementedError``) is simply "not yet".
"""
from __future__ import annotations

import math

from .messages import get_language

_RIGHT = {"en": "right: ", "ko": "정답입니다: "}
_NOT_YET = {"en": "not yet: ", "ko": "아직입니다: "}


def _say(ok: bool, en: str, ko: str) -> bool:
    language = get_language()
    print((_RIGHT if ok else _NOT_YET).get(language, _RIGHT["en"] if ok else _NOT_YET["en"])
          + (ko if language == "ko" else en))
    return ok


def _call(function, *args):
    """(result, error line) of a learner's function; never raises."""
    try:
        return function(*args), None
    except NotImplementedError:
        return None, "NotImplementedError"
    except Exception as error:  # the learner's code: report, do not crash the notebook
        return None, f"{type(error).__name__}: {error}"


# ---- lesson 4 -------------------------------------------------------------------------------------------

def check_effective_batch(training_args, target: int = 32, devices: int = 2, fits: int = 8) -> bool:
    """TrainingArguments for an effective batch of ``target`` on ``devices`` GPUs that hold ``fits`` each."""
    if training_args is None:
        return _say(False, "build `my_args = TrainingArguments(...)` first.",
                    "먼저 `my_args = TrainingArguments(...)`를 만드세요.")
    batch = getattr(training_args, "per_device_train_batch_size", None)
    steps = getattr(training_args, "gradient_accumulation_steps", None)
    if not isinstance(batch, int) or not isinstance(steps, int):
        return _say(False, "`my_args` should be a TrainingArguments object.",
                    "`my_args`는 TrainingArguments 객체여야 합니다.")
    if batch > fits:
        return _say(False, f"{batch} examples per device do not fit: each GPU holds at most {fits}.",
                    f"장치당 예제 {batch}개는 들어가지 않습니다. GPU 하나에 최대 {fits}개가 들어갑니다.")
    effective = batch * steps * devices
    if effective != target:
        return _say(False, f"{batch} x {steps} x {devices} devices = {effective}, not {target}.",
                    f"{batch} x {steps} x 장치 {devices}개 = {effective}이지 {target}이 아닙니다.")
    return _say(True, f"{batch} x {steps} x {devices} = {target} examples per optimizer step.",
                f"옵티마이저 스텝마다 예제 {batch} x {steps} x {devices} = {target}개입니다.")


def check_constant_with_warmup(rates, learning_rate: float = 2e-5, steps: int = 100, warmup: int = 10) -> bool:
    """The learning rates of a constant schedule with ``warmup`` warmup steps, one per training step."""
    if rates is None:
        return _say(False, "fill `my_rates` with one learning rate per step.",
                    "`my_rates`에 스텝마다 학습률을 하나씩 채우세요.")
    rates = [float(r) for r in rates]
    if len(rates) != steps:
        return _say(False, f"{len(rates)} learning rates, one per step of {steps} expected.",
                    f"학습률이 {len(rates)}개입니다. 스텝 {steps}개마다 하나씩이어야 합니다.")
    if rates[0] != 0.0:
        return _say(False, "a warmup starts from 0.", "워밍업은 0에서 시작합니다.")
    rising = all(a < b for a, b in zip(rates[:warmup], rates[1:warmup + 1]))
    flat = all(math.isclose(r, learning_rate, rel_tol=1e-6) for r in rates[warmup:])
    if not rising:
        return _say(False, f"the first {warmup} steps should climb step by step.",
                    f"처음 {warmup}스텝 동안 학습률이 한 스텝씩 올라가야 합니다.")
    if not flat:
        return _say(False, f"after the warmup the rate should stay at {learning_rate} to the end.",
                    f"워밍업 뒤에는 끝까지 {learning_rate}에 머물러야 합니다.")
    return _say(True, "a warmup, then a constant learning rate.", "워밍업 뒤에 학습률이 일정합니다.")


# ---- lesson 5 -------------------------------------------------------------------------------------------

def check_evaluate_loss(function, model, dataloader, device) -> bool:
    """``function(model, dataloader, device)`` must return the mean validation loss, without gradients."""
    import torch

    for parameter in model.parameters():
        parameter.grad = None
    model.train()
    result, error = _call(function, model, dataloader, device)
    if error:
        return _say(False, f"`evaluate_loss` raised {error}.", f"`evaluate_loss`에서 {error} 오류가 났습니다.")
    if not isinstance(result, (float, int)) and not (torch.is_tensor(result) and result.numel() == 1):
        return _say(False, "return one number (a Python float: use `.item()`).",
                    "숫자 하나를 돌려주세요(파이썬 float: `.item()`을 쓰세요).")
    if any(p.grad is not None for p in model.parameters()):
        return _say(False, "gradients were computed: evaluate under `torch.no_grad()`.",
                    "그레이디언트가 계산되었습니다. `torch.no_grad()` 안에서 평가하세요.")
    if model.training:
        return _say(False, "the model is still in training mode: call `model.eval()`.",
                    "모델이 아직 훈련 모드입니다. `model.eval()`을 호출하세요.")
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in dataloader:
            batch = {name: tensor.to(device) for name, tensor in batch.items()}
            total += model(**batch).loss.item() * len(batch["labels"])
            count += len(batch["labels"])
    expected = total / count
    if not math.isclose(float(result), expected, rel_tol=1e-4, abs_tol=1e-6):
        return _say(False, "the number differs from the mean loss over all validation examples "
                           "(weight each batch by its size: the last batch can be smaller).",
                    "검증 예제 전체의 평균 손실과 다릅니다(마지막 배치는 더 작을 수 있으니 배치마다 크기로 가중하세요).")
    return _say(True, "the mean validation loss, in eval mode, without gradients.",
                "평가 모드에서 그레이디언트 없이 계산한 평균 검증 손실입니다.")


def check_launch_prediction(prediction, n_train: int, batch_size: int = 8, processes: int = 3) -> bool:
    """(batches per process per epoch, examples seen twice per epoch) with ``even_batches=True``."""
    if prediction is None:
        return _say(False, "write your prediction as `my_prediction = (batches_per_process, repeated_examples)`.",
                    "예상을 `my_prediction = (프로세스당_배치_수, 두_번_보는_예제_수)`로 적으세요.")
    try:
        per_process, repeated = (int(x) for x in prediction)
    except (TypeError, ValueError):
        return _say(False, "`my_prediction` should be two whole numbers.", "`my_prediction`은 정수 두 개여야 합니다.")
    batches = math.ceil(n_train / batch_size)
    expected_per_process = math.ceil(batches / processes)
    expected_repeated = expected_per_process * processes * batch_size - n_train
    wrong = []
    if per_process != expected_per_process:
        wrong.append(("the batches per process are off: count the batches of the whole set, then share them out",
                      "프로세스당 배치 수가 다릅니다. 먼저 전체 배치 수를 세고 나눠 보세요"))
    if repeated != expected_repeated:
        wrong.append(("the repeated examples are off: every process fills its last batch from the start of the data",
                      "두 번 보는 예제 수가 다릅니다. 프로세스마다 마지막 배치를 데이터 앞부분으로 채웁니다"))
    if wrong:
        return _say(False, "; ".join(en for en, _ in wrong) + ".", "; ".join(ko for _, ko in wrong) + ".")
    return _say(True, f"{per_process} batches per process, {repeated} examples seen twice.",
                f"프로세스마다 {per_process}배치, 두 번 보는 예제 {repeated}개입니다.")


# ---- lesson 6 -------------------------------------------------------------------------------------------

def _reference_best(log_history, metric: str, greater_is_better: bool):
    rows = [row for row in log_history if metric in row]
    if not rows:
        return None
    best = (max if greater_is_better else min)(rows, key=lambda row: row[metric])
    return best["epoch"]


def check_best_epoch(function, log_history) -> bool:
    """``function(log_history, metric, greater_is_better)`` must return the epoch of the best evaluation."""
    synthetic = [{"loss": 0.6, "epoch": 1.0}, {"eval_loss": 0.50, "eval_f1": 0.70, "epoch": 1.0},
                 {"eval_loss": 0.40, "eval_f1": 0.75, "epoch": 2.0}, {"eval_loss": 0.45, "eval_f1": 0.80, "epoch": 3.0},
                 {"train_loss": 0.5, "epoch": 3.0}]
    cases = [(synthetic, "eval_loss", False), (synthetic, "eval_f1", True), (log_history, "eval_loss", False)]
    for history, metric, greater in cases:
        result, error = _call(function, history, metric, greater)
        if error:
            return _say(False, f"`best_epoch` raised {error}.", f"`best_epoch`에서 {error} 오류가 났습니다.")
        expected = _reference_best(history, metric, greater)
        if result != expected:
            direction = ("higher is better" if greater else "lower is better")
            return _say(False, f"wrong epoch for {metric} ({direction}); skip the log rows that lack {metric}.",
                        f"{metric}의 에폭이 틀렸습니다({'높을수록' if greater else '낮을수록'} 좋습니다). "
                        f"{metric}이 없는 로그 행은 건너뛰세요.")
    return _say(True, "the best epoch for a loss and for F1, also on the overfitting run's log.",
                "손실과 F1 모두, 과적합 실행의 로그에서도 가장 좋은 에폭을 찾았습니다.")


def check_best_model_args(training_args, metric: str = "eval_loss", greater_is_better: bool = False) -> bool:
    """TrainingArguments that evaluate and save each epoch and keep the checkpoint best on ``metric``."""
    if training_args is None:
        return _say(False, "build the TrainingArguments first.", "먼저 TrainingArguments를 만드세요.")
    args = training_args
    if not hasattr(args, "load_best_model_at_end"):
        return _say(False, "this should be a TrainingArguments object.", "TrainingArguments 객체여야 합니다.")
    if not args.load_best_model_at_end:
        return _say(False, "the best checkpoint is reloaded only with `load_best_model_at_end=True`.",
                    "가장 좋은 체크포인트는 `load_best_model_at_end=True`일 때만 다시 불러옵니다.")
    bare = lambda name: (name or "").removeprefix("eval_")  # noqa: E731 - the Trainer adds "eval_" itself
    if bare(args.metric_for_best_model) != bare(metric):
        return _say(False, f"`metric_for_best_model` watches {args.metric_for_best_model!r}, not the metric asked for.",
                    f"`metric_for_best_model`이 요청한 메트릭이 아니라 {args.metric_for_best_model!r}을 지켜봅니다.")
    if args.greater_is_better is not greater_is_better:
        return _say(False, "check which direction is better for this metric (`greater_is_better`).",
                    "이 메트릭은 어느 쪽이 좋은지 확인하세요(`greater_is_better`).")
    strategy = lambda value: getattr(value, "value", value)  # noqa: E731 - an enum or a string
    if strategy(args.eval_strategy) != "epoch" or strategy(args.save_strategy) != "epoch":
        return _say(False, "evaluate and save once per epoch (`eval_strategy` and `save_strategy`).",
                    "에폭마다 평가하고 저장하세요(`eval_strategy`와 `save_strategy`).")
    return _say(True, f"these arguments keep the epoch with the best {bare(metric)}.",
                f"이 인수로 {bare(metric)} 값이 가장 좋은 에폭을 남깁니다.")
