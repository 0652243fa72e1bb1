"""The exercise self-checks of lessons 1-3 say "right" to a correct answer and "not yet" to a wrong or missing one."""
from __future__ import annotations

import math
import types

import numpy as np
import pytest
from datasets import Dataset

from course_utils import exercises, messages

PAIRS = Dataset.from_dict({
    "sentence1": ["The cat sat on the mat.", "Shares rose 5 percent on Monday after the report."],
    "sentence2": ["A cat was sitting on the mat.", "The report lifted shares by five percent."],
})


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    import course_utils as cu

    folder = cu.offline_checkpoint()
    if folder is None:
        pytest.skip("offline weights not installed")
    return AutoTokenizer.from_pretrained(folder)


def _sentence_b_right(tok):
    def answer(encoding):
        ids = [i for i, t in zip(encoding["input_ids"], encoding["token_type_ids"]) if t == 1][:-1]
        return tok.convert_ids_to_tokens(ids)
    return answer


def test_sentence_b_right_and_not_yet(tokenizer):
    assert exercises.check_sentence_b_tokens(_sentence_b_right(tokenizer), tokenizer, PAIRS).ok
    with_sep = lambda enc: tokenizer.convert_ids_to_tokens(  # noqa: E731
        [i for i, t in zip(enc["input_ids"], enc["token_type_ids"]) if t == 1])
    verdict = exercises.check_sentence_b_tokens(with_sep, tokenizer, PAIRS)
    assert not verdict.ok and "[SEP]" in verdict.why
    assert not exercises.check_sentence_b_tokens(lambda enc: None, tokenizer, PAIRS).ok
    assert not exercises.check_sentence_b_tokens(lambda enc: enc["input_ids"], tokenizer, PAIRS).ok


def test_training_args_right_and_not_yet(tmp_path, monkeypatch):
    from transformers import TrainingArguments

    monkeypatch.chdir(tmp_path)
    right = TrainingArguments("test-trainer-exercise", num_train_epochs=2, per_device_train_batch_size=16,
                              learning_rate=3e-5, logging_steps=10, save_strategy="no")
    assert exercises.check_training_args(right).ok
    wrong = TrainingArguments("test-trainer-exercise", num_train_epochs=2, per_device_train_batch_size=16,
                              learning_rate=3e-5, logging_steps=10)  # still saves checkpoints
    verdict = exercises.check_training_args(wrong)
    assert not verdict.ok and "checkpoints" in verdict.why
    assert "save_strategy" not in verdict.why, "the hint does not give the argument's name away"
    assert not exercises.check_training_args(None).ok


def test_total_steps_uses_the_real_run():
    right = lambda n, b, e: math.ceil(n / b) * e  # noqa: E731
    trainer = types.SimpleNamespace(state=types.SimpleNamespace(global_step=24), train_dataset=list(range(64)),
                                    args=types.SimpleNamespace(per_device_train_batch_size=8, num_train_epochs=3.0))
    assert exercises.check_total_steps(right, trainer).ok
    floor = exercises.check_total_steps(lambda n, b, e: n // b * e)
    assert not floor.ok and "last, smaller batch" in floor.why
    no_epochs = exercises.check_total_steps(lambda n, b, e: math.ceil(n / b))
    assert not no_epochs.ok and "last, smaller batch" not in no_epochs.why
    assert not exercises.check_total_steps(lambda n, b, e: None).ok
    trainer.state.global_step = 25  # a Trainer that did something else: the real run decides
    assert not exercises.check_total_steps(right, trainer).ok


def test_compute_metrics_contract():
    def right(eval_preds):
        logits, labels = eval_preds
        preds = np.argmax(logits, axis=-1)
        tp = ((preds == 1) & (labels == 1)).sum()
        f1 = 2 * tp / (2 * tp + ((preds == 1) & (labels == 0)).sum() + ((preds == 0) & (labels == 1)).sum())
        return {"accuracy": float((preds == labels).mean()), "f1": float(f1), "positive_rate": float(preds.mean())}

    assert exercises.check_compute_metrics(right).ok
    no_rate = lambda p: {k: v for k, v in right(p).items() if k != "positive_rate"}  # noqa: E731
    assert "positive_rate" in exercises.check_compute_metrics(no_rate).why
    wrong_rate = lambda p: {**right(p), "positive_rate": 1 - right(p)["positive_rate"]}  # noqa: E731
    assert not exercises.check_compute_metrics(wrong_rate).ok
    assert not exercises.check_compute_metrics(lambda p: None).ok
    assert not exercises.check_compute_metrics(lambda p: 1 / 0).ok  # an error is "not yet", never raised


def test_f1_from_counts():
    assert exercises.check_f1_from_counts(lambda tp, fp, fn: 2 * tp / (2 * tp + fp + fn)).ok
    assert not exercises.check_f1_from_counts(lambda tp, fp, fn: tp / (tp + fp)).ok  # precision is not F1
    assert not exercises.check_f1_from_counts(lambda tp, fp, fn: None).ok


def test_verdict_speaks_the_learner_language():
    verdict = exercises.check_f1_from_counts(lambda tp, fp, fn: None)
    assert repr(verdict).startswith("✗ not yet")
    messages.set_language("ko")
    try:
        assert repr(exercises.check_f1_from_counts(lambda tp, fp, fn: None)).startswith("✗ 아직입니다")
    finally:
        messages.set_language(None)


# Korean: every "not yet" of lessons 1-3 in the learner's language, with no particle guessed for a value ----------

PARTICLE_AFTER_VALUE = r"\}(이|가|을|를|은|는|으로|로|과|와)\b"  # a particle right after a {placeholder}


def _korean_texts(module):
    """(line, text after a placeholder) for every string of ``module``'s source that holds Hangul: a template's
    whole text, or, in an f-string, what follows each replacement field (prefixed with "}")."""
    import ast
    import inspect
    import re

    hangul = re.compile("[가-힣]")
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.JoinedStr):
            for before, after in zip(node.values, node.values[1:]):
                if isinstance(before, ast.FormattedValue) and isinstance(after, ast.Constant) \
                        and hangul.search(after.value):
                    yield node.lineno, "}" + after.value
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and hangul.search(node.value):
            yield node.lineno, node.value


@pytest.mark.parametrize("module_name", ["exercises", "exercise_checks_advanced"])
def test_no_korean_particle_is_guessed_after_a_value(module_name):
    """"32이" or "f1는": a particle after a value depends on how the value is read, so the self-checks
    write their sentences with none there (a noun in between, a colon, or 입니다)."""
    import importlib
    import re

    module = importlib.import_module(f"course_utils.{module_name}")
    bad = [(line, text) for line, text in _korean_texts(module) if re.search(PARTICLE_AFTER_VALUE, text)]
    assert not bad, bad


def test_korean_not_yet_of_lessons_1_to_3(tmp_path, monkeypatch):
    from transformers import TrainingArguments

    monkeypatch.chdir(tmp_path)
    messages.set_language("ko")
    try:
        elsewhere = TrainingArguments("elsewhere", num_train_epochs=2, per_device_train_batch_size=16,
                                      learning_rate=3e-5, logging_steps=10, save_strategy="no")
        why = exercises.check_training_args(elsewhere).why
        assert "전용 폴더('test-trainer-exercise')가 아니라 'elsewhere'에 저장됩니다" in why, why

        assert "NoneType 타입이 아니라 딕셔너리" in exercises.check_compute_metrics(lambda p: None).why
        why = exercises.check_compute_metrics(lambda p: {"accuracy": 0.5}).why
        assert "딕셔너리에 없는 키가 있습니다: ['f1', 'positive_rate']" in why, why
        why = exercises.check_compute_metrics(lambda p: {"accuracy": "high", "f1": 0.5, "positive_rate": 0.5}).why
        assert "accuracy 값은 Trainer가 기록할 수 있는 숫자여야 합니다(str 타입은 안 됩니다)" in why, why
        why = exercises.check_compute_metrics(lambda p: {"accuracy": 0.0, "f1": 0.0, "positive_rate": 0.0}).why
        assert why.startswith("시험용 배치에서 accuracy 값이 0.000입니다(맞는 값: "), why

        assert "str 타입이 아니라 숫자를 돌려주세요" in exercises.check_f1_from_counts(lambda tp, fp, fn: "x").why
        why = exercises.check_f1_from_counts(lambda tp, fp, fn: 0.5).why
        assert "tp=255, fp=57, fn=24에서 나온 값이 0.5000입니다" in why, why
        verdict = repr(exercises.check_f1_from_counts(lambda tp, fp, fn: 0.5))
        assert verdict.startswith("✗ 아직입니다: ")
    finally:
        messages.set_language(None)


def test_korean_sentence_b_messages(tokenizer):
    messages.set_language("ko")
    try:
        why = exercises.check_sentence_b_tokens(lambda enc: enc["input_ids"], tokenizer, PAIRS).why
        assert "토큰을 int 타입이 아니라 문자열로 돌려주세요" in why, why
        with_sep = lambda enc: tokenizer.convert_ids_to_tokens(  # noqa: E731
            [i for i, t in zip(enc["input_ids"], enc["token_type_ids"]) if t == 1])
        why = exercises.check_sentence_b_tokens(with_sep, tokenizer, PAIRS).why
        assert "특수 토큰(['[SEP]'])은 문장 B에 속하지 않습니다" in why, why
        assert repr(exercises.check_sentence_b_tokens(_sentence_b_right(tokenizer), tokenizer, PAIRS)) \
            .startswith("✓ 정답입니다: ")
    finally:
        messages.set_language(None)
