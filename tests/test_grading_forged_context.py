"""No hidden check takes its expected value from what the student's kernel sends (issue 21, part 5).

The kernel runs the student's code, so every value it sends can be forged (patch ``send`` or the objects it
reads). A check that computes what is right from such a value (lesson 3's argmax once took the expected labels
from the logits the kernel sent) is beaten by a wrong answer sent together with forged CONTEXT made to match it.

For every test cell of every source assignment, two payloads go to the real judge, called the way
JudgeOutsideKernel calls it (``run_judge``: ``python -I -m course_utils.grading.judge`` in the source folder):

* the honest one (what the key's work sends; computed with the real tokenizer and weights where the values
  come from them) must pass: the check is able to give the marks, so its failure below means something;
* the forged one — a wrong answer plus every context value changed to agree with it — must not.

One case goes through the real round trip (release, sandboxed kernel, nbgrader, judge): lesson 3's argmax with
wrong predictions computed from forged logits earns what the wrong answer earns, not the point.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.grading.checks import split_test
from course_utils.grading.preprocessors import run_judge

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "grading" / "source"
ASSIGNMENTS = ["01_preprocessing", "02_trainer_api", "03_evaluation", "04_advanced_training", "07_chapter_quiz",
               "08_use_your_model"]
STUDENT = "alice"  # the quiz's checks read the student's exam variant from the grader's id, never from the kernel

PAIRS = (["The cat sat on the mat.", "Stocks rose sharply on Monday after the report.", "He said the plan would work."],
         ["A cat was sitting on the mat.", "Shares climbed on Monday following the report.",
          "The weather was cold all week."])  # lesson 1's set-up cell


def checks_of(assignment: str) -> dict[str, str]:
    """{grade_id: the check (below ### CHECK)} of every test cell, read from the source as it is now."""
    nb = nbformat.read(SOURCE / assignment / f"{assignment}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: split_test(c.source)[1] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")}


# ---------------------------------------------------------------- honest and forged payloads, per check
def _lesson1() -> dict:
    """Real values: the packaged checkpoint's tokenizer (the only one the grading sandbox has)."""
    from transformers import AutoTokenizer

    from course_utils.models import offline_checkpoint

    tokenizer = AutoTokenizer.from_pretrained(offline_checkpoint())
    pair = tokenizer(*PAIRS, truncation=True)
    alone = tokenizer(PAIRS[0], truncation=True)  # the usual mistake: sentence1 only
    long_text = " ".join(["word"] * 400)
    cut = tokenizer([long_text], [long_text], truncation=True)["input_ids"][0]
    uncut = tokenizer([long_text], [long_text])["input_ids"][0]
    first = tokenizer(PAIRS[0][0], PAIRS[1][0])
    longest = max(len(ids) for ids in pair["input_ids"])
    lists = ["builtins.list", "builtins.list"]
    return {
        # context: the token types and the kinds; forged to agree with ids of sentence1 alone
        "ex1_pair": ({"ids": pair["input_ids"], "token_types": pair["token_type_ids"], "kinds": lists},
                     {"ids": alone["input_ids"], "token_types": alone["token_type_ids"], "kinds": lists,
                      "sentences": [[s] for s in PAIRS[0]]}),
        # context: a claimed maximum length that the untruncated row would respect
        "ex1_truncation": ({"row": cut, "kind": "builtins.list"},
                           {"row": uncut, "kind": "builtins.list", "model_max_length": len(uncut)}),
        # context: the token type ids the count would come from (all tokens counted)
        "ex2_token_types": ({"n": sum(first["token_type_ids"]), "kind": "builtins.int"},
                            {"n": len(first["input_ids"]), "kind": "builtins.int",
                             "token_type_ids": [1] * len(first["input_ids"])}),
        # context: sample lengths that would make padding to 512 "the longest of the batch"
        "ex3_collator": ({"collator": "transformers.data.data_collator.DataCollatorWithPadding",
                          "kind": "torch.Tensor", "shape": [3, longest]},
                         {"collator": "transformers.data.data_collator.DataCollatorWithPadding",
                          "kind": "torch.Tensor", "shape": [3, 512], "lengths": [512, 512, 512]}),
    }


def _lesson2() -> dict:
    from safetensors import safe_open

    from course_utils.models import offline_checkpoint

    with safe_open(str(offline_checkpoint() / "model.safetensors"), "np") as weights:
        pretrained = [round(float(x), 6) for x in weights.get_slice("embeddings.word_embeddings.weight")[1996, :4]]
    model = {"model": "transformers.models.bert.modeling_bert.BertForSequenceClassification", "labels": 2,
             "head": "torch.nn.modules.linear.Linear", "head_out": 2}
    trainer = {"trainer": "transformers.trainer.Trainer", "same_model": True, "same_args": True, "train": True,
               "validation": True, "collator": "transformers.data.data_collator.DataCollatorWithPadding", "step": 0}
    return {
        # context: a forged "checkpoint row" equal to the random (from_config) weights sent as the_word
        "ex1_model": ({**model, "the_word": pretrained},
                      {**model, "the_word": [0.013, -0.021, 0.004, 0.029],
                       "checkpoint_row": [0.013, -0.021, 0.004, 0.029]}),
        # context: a claimed max_steps that a trainer already trained for 3 steps would have reached
        "ex2_trainer": (trainer, {**trainer, "step": 3, "max_steps": 3}),
        # context: forged training arguments agreeing with the wrong answers
        "ex3_defaults": ({"steps": 500, "steps_kind": "builtins.int", "reports": False,
                          "reports_kind": "builtins.bool"},
                         {"steps": 10, "steps_kind": "builtins.int", "reports": True, "reports_kind": "builtins.bool",
                          "training_args": {"logging_steps": 10, "eval_strategy": "steps"}}),
    }


def _lesson3() -> dict:
    import numpy as np

    toy_logits = np.array([[0.1, 0.9], [2.0, -1.0], [0.3, 0.4], [-0.5, 1.5], [1.2, 0.2]])  # the hidden toy batch
    toy_labels = np.array([1, 0, 0, 1, 1])

    def metrics(preds):
        tp = int(((preds == 1) & (toy_labels == 1)).sum())
        precision, recall = tp / max(int((preds == 1).sum()), 1), tp / int((toy_labels == 1).sum())
        return {"accuracy": float((preds == toy_labels).mean()),
                "f1": 2 * precision * recall / (precision + recall) if tp else 0.0}

    wrong_preds = [1, 0, 0, 0, 1, 1, 0, 1]  # argmin of the set-up cell's logits: every label flipped
    value_kinds = ["builtins.float", "builtins.float"]
    return {
        "ex1_shapes": ({"shapes": [[8, 2], [8]], "kinds": ["builtins.tuple", "builtins.tuple"]},
                       {"shapes": [[16, 2], [16]], "kinds": ["builtins.tuple", "builtins.tuple"], "n_examples": 16}),
        # The attack of the issue: wrong predictions, and logits forged so that argmax gives exactly them.
        # The honest labels are the key's: the round trip below shows the key earns them in the sandbox.
        "ex2_argmax": ({"preds": [0, 1, 1, 1, 0, 0, 1, 0], "kind": "numpy.ndarray"},
                       {"preds": wrong_preds, "kind": "numpy.ndarray",
                        "logits": [[0.0, 1.0] if p else [1.0, 0.0] for p in wrong_preds]}),
        # context: forged metric keys the check could have compared with
        "ex3_keys": ({"kind": "builtins.dict", "keys": ["accuracy", "f1"], "key_kinds": ["builtins.str"] * 2,
                      "value_kinds": value_kinds},
                     {"kind": "builtins.dict", "keys": ["accuracy"], "key_kinds": ["builtins.str"],
                      "value_kinds": value_kinds, "metric_keys": ["accuracy"]}),
        # context: the toy batch forged (logits negated) so that the argmin metrics look right for it
        "ex3_values": ({"kind": "builtins.dict", **metrics(toy_logits.argmax(-1))},
                       {"kind": "builtins.dict", **metrics(toy_logits.argmin(-1)),
                        "predictions": (-toy_logits).tolist(), "label_ids": toy_labels.tolist()}),
        "ex4_eval_strategy": (
            {"args": "transformers.training_args.TrainingArguments",
             "strategy": "transformers.trainer_utils.IntervalStrategy", "value": "epoch"},
            {"args": "transformers.training_args.TrainingArguments",
             "strategy": "transformers.trainer_utils.IntervalStrategy", "value": "steps",
             "expected_strategy": "steps"}),
    }


def _lesson4() -> dict:
    args = "transformers.training_args.TrainingArguments"
    ints = ["builtins.int", "builtins.int"]
    cosine = {"args": args, "schedule": "transformers.trainer_utils.SchedulerType", "schedule_value": "cosine",
              "lr": 2e-5, "lr_kind": "builtins.float", "warmup": 0.1, "warmup_kind": "builtins.float"}
    return {
        # context: a forged target batch that 8 x 2 would reach
        "ex1_effective_batch": ({"args": args, "batch": 8, "accumulation": 4, "kinds": ints},
                                {"args": args, "batch": 8, "accumulation": 2, "kinds": ints, "target": 16}),
        "ex1_eval_epoch": ({"args": args, "strategy": "transformers.trainer_utils.IntervalStrategy", "value": "epoch"},
                           {"args": args, "strategy": "transformers.trainer_utils.IntervalStrategy", "value": "no",
                            "expected": "no"}),
        # context: the kernel claims a GPU (torch.cuda.is_available patched), so fp16 "would be" right
        "ex2_fp16": ({"value": False, "kind": "builtins.bool"},
                     {"value": True, "kind": "builtins.bool", "cuda": True}),
        # context: a forged warmup ratio agreeing with the wrong warmup
        "ex3_cosine": (cosine, {**cosine, "warmup": 0.06, "warmup_ratio": 0.06}),
    }


def _quiz() -> dict:
    """Right answers for this student's variant; forged: for each question, the answer that would be right for
    another student's variant or parameters (and those parameters and that student claimed beside it)."""
    from course_utils.quiz import exam, load_bank

    folder = SOURCE / "07_chapter_quiz"
    bank = load_bank(folder / "exam_bank.yaml")
    mine = exam.variant_spec(folder / "chapter_exam.yaml", STUDENT)["questions"]
    others = {item["id"]: item.get("params") for s in ("bob", "carol", "dave", "erin")
              for item in exam.variant_spec(folder / "chapter_exam.yaml", s)["questions"]}
    right = {}
    for item in mine:
        q = bank.questions[item["id"]]
        right[item["id"]] = q.key_value(item.get("params")) if q.numeric else list(q.correct_ids)
    cases = {}
    for n, item in enumerate(mine, start=1):
        qid, q = item["id"], bank.questions[item["id"]]
        if q.numeric:
            other = others.get(qid) or {}
            forged_answer = q.key_value(other) if other and other != item.get("params") else right[qid] + 1000
            context = {"params": other, "student": "bob"}
        else:
            wrong = next(c for c in q.choice_ids if c not in q.correct_ids)
            forged_answer, context = [wrong], {"key": {qid: [wrong]}, "student": "bob"}
        assert forged_answer != right[qid]
        cases[f"q{n:02d}"] = ({"answers": right}, {"answers": {**right, qid: forged_answer}, **context})
    return cases


def _lesson8() -> dict:
    files = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "training_args.bin"]
    reloaded = {"model_class": "BertForSequenceClassification", "tokenizer_class": "TokenizersBackend",
                "loaded_from": "my-model", "tokenizer_from": "my-model", "new_object": True,
                "id2label": [["0", "'not_equivalent'"], ["1", "'equivalent'"]],
                "label2id": [["'equivalent'", "1"], ["'not_equivalent'", "0"]]}
    # The fine-tuned model's labels for the ten pairs (the key's, as the round trip grades them)
    labels = ["equivalent", "equivalent", "not_equivalent", "equivalent", "not_equivalent", "equivalent", "equivalent",
              "not_equivalent", "equivalent", "not_equivalent"]
    wrong = ["not_equivalent" if label == "equivalent" else "equivalent" for label in labels]
    pipe = {"pipeline_class": "TextClassificationPipeline", "list_type": "list", "label_types": ["str"] * 10}
    return {
        # context: a forged list of the files "required", agreeing with a folder without the tokenizer
        "ex1_saved": ({"folder_type": "str", "files": files},
                      {"folder_type": "str", "files": ["config.json", "model.safetensors"],
                       "required": ["config.json", "model.safetensors"]}),
        # context: label names forged to agree with reversed id2label / label2id
        "ex2_reloaded": (reloaded, {**reloaded, "id2label": [["0", "'equivalent'"], ["1", "'not_equivalent'"]],
                                    "label2id": [["'equivalent'", "0"], ["'not_equivalent'", "1"]],
                                    "names": ["equivalent", "not_equivalent"]}),
        # context: the model's predicted ids and id2label, forged to agree with the wrong labels
        "ex3_predictions": ({**pipe, "labels": labels},
                            {**pipe, "labels": wrong,
                             "predicted_ids": [0 if w == "not_equivalent" else 1 for w in wrong],
                             "id2label": {"0": "not_equivalent", "1": "equivalent"}}),
    }


BUILDERS = {"01_preprocessing": _lesson1, "02_trainer_api": _lesson2, "03_evaluation": _lesson3,
            "04_advanced_training": _lesson4, "07_chapter_quiz": _quiz, "08_use_your_model": _lesson8}


def judge(assignment: str, payloads: list[tuple[str, dict]]) -> list[dict]:
    """Verdicts of the real outside judge on these payloads, as JudgeOutsideKernel asks for them."""
    checks = checks_of(assignment)
    jobs = [{"cell": cell, "code": checks[cell], "data": data, "problem": None} for cell, data in payloads]
    return run_judge(jobs, STUDENT, str(SOURCE / assignment), timeout=120)


# ---------------------------------------------------------------- the judge-level tests
def test_every_test_cell_has_a_forged_context_case():
    """A new test cell (or a renamed one) needs its forgery here before it ships."""
    assert sorted(p.parent.name for p in SOURCE.glob("*/*.ipynb")) == ASSIGNMENTS
    for assignment, build in BUILDERS.items():
        assert sorted(build()) == sorted(checks_of(assignment)), assignment


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_wrong_answer_with_forged_context_gets_no_marks(assignment):
    cases = BUILDERS[assignment]()
    payloads = [(cell, honest) for cell, (honest, _) in cases.items()] + \
               [(cell, forged) for cell, (_, forged) in cases.items()]
    verdicts = judge(assignment, payloads)
    honest, forged = verdicts[:len(cases)], verdicts[len(cases):]
    refused = [f"{v['cell']}: {v['message']}" for v in honest if not v["ok"]]
    assert not refused, "the honest values must pass (else the forged case proves nothing):\n" + "\n".join(refused)
    fooled = [v["cell"] for v in forged if v["ok"]]
    assert not fooled, f"a wrong answer with forged context got the marks: {fooled}"


# The ex2_argmax check before issue 21: the expected labels from the logits the kernel sent.
CONTEXT_TRUSTING_ARGMAX = '''
expected = [max(range(2), key=lambda j: row[j]) for row in data["logits"]]
assert data["kind"] == "numpy.ndarray" and len(data["preds"]) == 8, "preds must be a NumPy array"
assert all(type(p) is int for p in data["preds"]) and data["preds"] == expected, "take the argmax"
'''


def test_the_argmax_forgery_fools_a_check_that_trusts_the_kernels_logits():
    """The forged payload is a real attack: the old check gives it the point, the current one does not."""
    _, forged = _lesson3()["ex2_argmax"]
    old = run_judge([{"cell": "ex2_argmax", "code": CONTEXT_TRUSTING_ARGMAX, "data": forged, "problem": None}],
                    STUDENT, str(SOURCE / "03_evaluation"), timeout=120)
    assert old[0]["ok"], "the forgery must beat a check that recomputes the answer from the kernel's logits"
    assert not judge("03_evaluation", [("ex2_argmax", forged)])[0]["ok"]
    assert "logits" not in split_test(next(
        c.source for c in nbformat.read(SOURCE / "03_evaluation" / "03_evaluation.ipynb", as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "ex2_argmax"))[0].split("### BEGIN HIDDEN TESTS")[1], \
        "the kernel sends only the values judged (preds), not the logits"


# ---------------------------------------------------------------- the real round trip
A3 = "03_evaluation"
# The attacker's answer: flip the labels, and flip the kernel's `logits` to match (the hidden export once sent them).
FORGER = "logits = -logits\npreds = np.argmax(-predictions.predictions, axis=-1)"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A private course with lesson 3 only, released, two submissions graded by the real CLI."""
    if not sys.platform.startswith("linux") or not shutil.which("bwrap"):
        pytest.fail("the grading sandbox needs Linux and bubblewrap (apt-get install bubblewrap)")
    from course_utils.grading import course as grading_course

    root = grading_course.instructor_init(tmp_path_factory.mktemp("forged") / "course")
    for folder in (root / "source").iterdir():  # one assignment: release and grading stay short
        if folder.name != A3:
            shutil.rmtree(folder)
    grading_course.release(root)
    key = {c.metadata["nbgrader"]["grade_id"]: "\n".join(
        line for line in c.source.splitlines() if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)
        for c in nbformat.read(root / "source" / A3 / f"{A3}.ipynb", as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("solution")}
    for student, answers in {"honest": key, "forger": {**key, "ex2_answer": FORGER}}.items():
        nb = nbformat.read(root / "release" / A3 / f"{A3}.ipynb", as_version=4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = answers[cell.metadata["nbgrader"]["grade_id"]]
        (root / "submitted" / student / A3).mkdir(parents=True)
        nbformat.write(nb, root / "submitted" / student / A3 / f"{A3}.ipynb")
    env = {**os.environ, "COURSE_GRADING_CELL_TIMEOUT": "120"}  # under the parallel test load, set-up takes a while
    result = subprocess.run([sys.executable, "-m", "course_utils.grading", "--course", str(root), "autograde",
                             "--jobs", "1"], capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(root / "gradebook.db")) as gb:
        return {s.student.id: (s.score, s.max_score) for s in gb.find_assignment(A3).submissions}


def test_forged_logits_earn_nothing_through_the_round_trip(graded):
    assert graded["honest"] == (5.0, 5.0), "the key earns every point (the fixed labels are the sandbox's argmax)"
    assert graded["forger"] == (4.0, 5.0), "wrong predictions with matching forged logits lose the argmax point"
