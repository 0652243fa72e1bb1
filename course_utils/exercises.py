"""Self-checks for the exercises at the end of lessons 1-3.

Each ``check_*`` runs the learner's answer on real inputs and returns a
:class:`Verdict` that reads "right" or "not yet: <why>" (in the learner's
language) without showing the solution. A check never raises: an unfinished
exercise (a function that returns ``None`` or raises) is simply "not yet".
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .messages import get_language

_WORDS = {
    "right": {"en": "✓ right", "ko": "✓ 정답입니다"},
    "not_yet": {"en": "✗ not yet", "ko": "✗ 아직입니다"},
}


@dataclass(frozen=True)
class Verdict:
    """The outcome of one self-check; shows itself as one line."""

    ok: bool
    why: str

    def __repr__(self) -> str:
        word = _WORDS["right" if self.ok else "not_yet"][get_language()]
        return f"{word}: {self.why}"

    __str__ = __repr__


def _say(en: str, ko: str, **fields) -> str:
    return (ko if get_language() == "ko" else en).format(**fields)


def run_learner(fn, *args):
    """(result, None) or (None, "ErrorType: message"): the learner's code never raises out of a check."""
    try:
        return fn(*args), None
    except NotImplementedError:
        return None, "NotImplementedError"
    except Exception as exc:  # the learner's code: any error is "not yet", never a traceback wall
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"


def say(ok: bool, en: str, ko: str) -> bool:
    """Print the verdict in the learner's language (for checks that report by printing); return ``ok``."""
    print(Verdict(ok, ko if get_language() == "ko" else en))
    return ok


def _call(fn, *args):
    """(result, None) or (None, a Verdict saying what went wrong)."""
    result, error = run_learner(fn, *args)
    if error is None:
        return result, None
    return None, Verdict(False, _say("your function raised {err}", "함수가 {err} 오류를 냈습니다", err=error))


# Lesson 1 -------------------------------------------------------------------------------------------------------

def check_sentence_b_tokens(fn, tokenizer, dataset, n: int = 8) -> Verdict:
    """Lesson 1: fn(encoding) must return the tokens of sentence B alone (no [SEP]).

    Compared with what the tokenizer gives for sentence B on its own, on ``n``
    pairs of ``dataset`` (so it holds for any checkpoint whose tokenizer makes
    token_type_ids).
    """
    pairs = dataset.select(range(min(n, len(dataset))))
    for row in pairs:
        encoding = tokenizer(row["sentence1"], row["sentence2"])
        expected = tokenizer.tokenize(row["sentence2"])
        got, error = _call(fn, encoding)
        if error:
            return error
        if got is None:
            return Verdict(False, _say("your function returns None; return a list of tokens (strings)",
                                       "함수가 None을 돌려줍니다. 토큰(문자열)의 리스트를 돌려주세요"))
        got = list(got)
        if got and not isinstance(got[0], str):
            return Verdict(False, _say("return tokens as strings (convert_ids_to_tokens), not {kind}",
                                       "토큰을 {kind} 타입이 아니라 문자열로 돌려주세요(convert_ids_to_tokens)",
                                       kind=type(got[0]).__name__))
        if got != expected:
            extra = [t for t in got if t in tokenizer.all_special_tokens]
            if extra:
                why = _say("special tokens {extra} are not part of sentence B", "특수 토큰({extra})은 문장 B에 속하지 않습니다",
                           extra=extra)
            elif len(got) > len(expected):
                why = _say("{n} tokens, but sentence B has {m}: some of sentence A slipped in?",
                           "토큰이 {n}개인데 문장 B는 {m}개입니다. 문장 A의 토큰이 섞이지 않았나요?", n=len(got), m=len(expected))
            else:
                why = _say("{n} tokens, but sentence B has {m}", "토큰이 {n}개인데 문장 B는 {m}개입니다",
                           n=len(got), m=len(expected))
            return Verdict(False, why)
    return Verdict(True, _say("sentence B recovered on {n} pairs", "쌍 {n}개에서 문장 B를 정확히 골라냈습니다", n=len(pairs)))


# Lesson 2 -------------------------------------------------------------------------------------------------------

EXERCISE_ARGS = {  # lesson 2, exercise 1: what the learner's TrainingArguments must say
    "output_dir": "test-trainer-exercise",
    "num_train_epochs": 2,
    "per_device_train_batch_size": 16,
    "learning_rate": 3e-5,
    "logging_steps": 10,
    "save_strategy": "no",
}


def check_training_args(args) -> Verdict:
    """Lesson 2: a TrainingArguments object that matches EXERCISE_ARGS (the wording names no argument)."""
    from pathlib import Path

    if args is None or not hasattr(args, "num_train_epochs"):
        return Verdict(False, _say("make `exercise_args` a TrainingArguments object",
                                   "`exercise_args`를 TrainingArguments 객체로 만드세요"))
    problems = []
    if Path(str(args.output_dir)).name != EXERCISE_ARGS["output_dir"]:
        problems.append(_say("checkpoints would go to {got!r}, not to its own folder {want!r}",
                             "체크포인트가 전용 폴더({want!r})가 아니라 {got!r}에 저장됩니다",
                             got=str(args.output_dir), want=EXERCISE_ARGS["output_dir"]))
    if args.num_train_epochs != EXERCISE_ARGS["num_train_epochs"]:
        problems.append(_say("it would train {got:g} epochs, not 2", "2 에폭이 아니라 {got:g} 에폭 훈련합니다",
                             got=args.num_train_epochs))
    if args.per_device_train_batch_size != EXERCISE_ARGS["per_device_train_batch_size"]:
        problems.append(_say("training batches would hold {got} examples, not 16",
                             "훈련 배치에 예제가 16개가 아니라 {got}개 들어갑니다", got=args.per_device_train_batch_size))
    if not math.isclose(args.learning_rate, EXERCISE_ARGS["learning_rate"]):
        problems.append(_say("the learning rate is {got:g}, not 3e-5", "학습률이 3e-5가 아니라 {got:g}입니다",
                             got=args.learning_rate))
    if str(getattr(args.logging_strategy, "value", args.logging_strategy)) != "steps" or args.logging_steps != 10:
        problems.append(_say("the loss would not be logged every 10 steps", "손실이 10 스텝마다 기록되지 않습니다"))
    if str(getattr(args.save_strategy, "value", args.save_strategy)) != "no":
        problems.append(_say("it would still save checkpoints", "여전히 체크포인트를 저장합니다"))
    if problems:
        return Verdict(False, _say("; ", ". ").join(problems))
    return Verdict(True, _say("these arguments describe the run the exercise asks for",
                              "연습 문제가 요구하는 훈련을 정확히 설정했습니다"))


def check_total_steps(fn, trainer=None) -> Verdict:
    """Lesson 2: fn(n_examples, batch_size, epochs) -> optimizer steps of a Trainer run (no accumulation).

    Checked on sizes that do and do not divide evenly, and, given the lesson's
    trained ``trainer``, against the number of steps it really took.
    """
    cases = [(3668, 8, 3), (64, 8, 3), (65, 8, 3), (480, 16, 2), (7, 32, 1)]
    if trainer is not None and trainer.state.global_step:
        n = len(trainer.train_dataset)
        args = trainer.args
        cases.insert(0, (n, args.per_device_train_batch_size, int(args.num_train_epochs)))
    for i, (n, batch, epochs) in enumerate(cases):
        want = math.ceil(n / batch) * epochs
        if i == 0 and trainer is not None and trainer.state.global_step:
            want = trainer.state.global_step  # what the Trainer actually did decides
        got, error = _call(fn, n, batch, epochs)
        if error:
            return error
        if got is None:
            return Verdict(False, _say("your function returns None; return a whole number of steps",
                                       "함수가 None을 돌려줍니다. 스텝 수(정수)를 돌려주세요"))
        if got != want:
            if got == n // batch * epochs:
                hint = _say("count the last, smaller batch of each epoch too", "에폭마다 마지막의 작은 배치도 세어 보세요")
            else:
                hint = _say("how many batches make one epoch, and how many epochs are there?",
                            "에폭 하나는 배치 몇 개이고, 에폭은 몇 번인가요?")
            return Verdict(False, _say("for {n} examples, batches of {b} and {e} epochs you say {got}; {hint}",
                                       "예제 {n}개, 배치 크기 {b}, {e} 에폭일 때 답이 {got}입니다. {hint}",
                                       n=n, b=batch, e=epochs, got=got, hint=hint))
    return Verdict(True, _say("your count matches the Trainer on {k} cases", "{k}가지 경우 모두 Trainer와 같습니다",
                              k=len(cases)))


# Lesson 3 -------------------------------------------------------------------------------------------------------

def _expected_scores(logits, labels) -> dict[str, float]:
    import numpy as np

    preds = np.argmax(logits, axis=-1)
    tp = int(((preds == 1) & (labels == 1)).sum())
    fp = int(((preds == 1) & (labels == 0)).sum())
    fn = int(((preds == 0) & (labels == 1)).sum())
    return {"accuracy": float((preds == labels).mean()), "f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
            "positive_rate": float((preds == 1).mean())}


def check_compute_metrics(fn) -> Verdict:
    """Lesson 3: fn(EvalPrediction) -> {"accuracy", "f1", "positive_rate"} as the Trainer calls it."""
    import numpy as np
    from transformers import EvalPrediction

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=40)
    logits = rng.normal(size=(40, 2)).astype(np.float32)
    logits[:10, 1] += 3.0  # some confident "equivalent" predictions, so no score is trivially 0 or 1
    want = _expected_scores(logits, labels)
    got, error = _call(fn, EvalPrediction(predictions=logits, label_ids=labels))
    if error:
        return error
    if not isinstance(got, dict):
        return Verdict(False, _say("return a dict (metric name -> number), not {kind}",
                                   "{kind} 타입이 아니라 딕셔너리(메트릭 이름 → 숫자)를 돌려주세요", kind=type(got).__name__))
    if not all(isinstance(k, str) for k in got):
        return Verdict(False, _say("the keys must be metric names (strings)", "키는 메트릭 이름(문자열)이어야 합니다"))
    missing = [k for k in want if k not in got]
    if missing:
        return Verdict(False, _say("the dict lacks {keys}", "딕셔너리에 없는 키가 있습니다: {keys}", keys=missing))
    for key, value in want.items():
        try:
            number = float(got[key])
        except (TypeError, ValueError):
            return Verdict(False, _say("{key} must be a number the Trainer can log, not {kind}",
                                       "{key} 값은 Trainer가 기록할 수 있는 숫자여야 합니다({kind} 타입은 안 됩니다)",
                                       key=key, kind=type(got[key]).__name__))
        if not math.isclose(number, value, abs_tol=1e-6):
            return Verdict(False, _say("{key} is {got:.3f} on a test batch where it should be {want:.3f}",
                                       "시험용 배치에서 {key} 값이 {got:.3f}입니다(맞는 값: {want:.3f})",
                                       key=key, got=number, want=value))
    return Verdict(True, _say("accuracy, F1 and the share of 'equivalent' predictions are all correct",
                              "정확도, F1, 'equivalent' 예측 비율이 모두 맞습니다"))


def check_f1_from_counts(fn) -> Verdict:
    """Lesson 3: fn(tp, fp, fn) -> F1 from the counts of a confusion matrix."""
    cases = [(255, 57, 24), (10, 0, 0), (1, 3, 5), (279, 129, 0)]
    for tp, fp, fn_ in cases:
        want = 2 * tp / (2 * tp + fp + fn_)
        got, error = _call(fn, tp, fp, fn_)
        if error:
            return error
        if got is None:
            return Verdict(False, _say("your function returns None; return F1 as a number",
                                       "함수가 None을 돌려줍니다. F1을 숫자로 돌려주세요"))
        try:
            ok = math.isclose(float(got), want, abs_tol=1e-9)
        except (TypeError, ValueError):
            return Verdict(False, _say("return a number, not {kind}", "{kind} 타입이 아니라 숫자를 돌려주세요",
                                       kind=type(got).__name__))
        if not ok:
            return Verdict(False, _say("with tp={tp}, fp={fp}, fn={fn} you get {got:.4f}; F1 is the harmonic mean of "
                                       "precision and recall", "tp={tp}, fp={fp}, fn={fn}에서 나온 값이 {got:.4f}입니다. "
                                       "F1은 정밀도와 재현율의 조화 평균입니다", tp=tp, fp=fp, fn=fn_, got=float(got)))
    return Verdict(True, _say("F1 matches on {k} confusion matrices", "혼동 행렬 {k}개에서 F1이 모두 맞습니다", k=len(cases)))
