"""Issue 11: choices shuffled per learner, number questions, per-student exam variants graded outside the kernel,
distractor shares. No browser, no model: the quiz code alone (claims are checked in test_quiz_claims.py)."""
from __future__ import annotations

import json
import subprocess
import sys

import ipywidgets as w
import pytest

from course_utils import CourseError, quiz
from course_utils.quiz import analysis, exam, order
from course_utils.quiz.bank import default_bank_dir

EXAM_BANK = "grading/source/07_chapter_quiz/exam_bank.yaml"
EXAM_FILE = "grading/source/07_chapter_quiz/chapter_exam.yaml"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("COURSE_LANG", "JPY_SESSION_NAME", "COURSE_LEARNER", "JUPYTERHUB_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(quiz._session, "mode", "practice")
    monkeypatch.setitem(quiz._session, "questions", None)
    return tmp_path


def _printed(capsys, monkeypatch, learner, target="chapter"):
    monkeypatch.setenv("COURSE_LEARNER", learner)
    quiz.print_questions(target, lang="en")
    return capsys.readouterr().out


# ---- order: per learner, stable, answers by identity ---------------------------------------------

def test_two_learners_see_different_orders_one_learner_the_same(capsys, monkeypatch):
    alice, bob = _printed(capsys, monkeypatch, "alice"), _printed(capsys, monkeypatch, "bob")
    assert alice != bob and _printed(capsys, monkeypatch, "alice") == alice
    assert sorted(alice.split("\n\n")) != alice.split("\n\n")  # a whole chapter's questions are reordered too
    lesson_a = _printed(capsys, monkeypatch, "alice", "02_trainer_api")
    assert lesson_a.index("[trainer.processing_class]") < lesson_a.index("[trainer.eval_dataset]")  # a lesson keeps its order


def test_without_a_learner_name_an_id_file_keeps_the_order(in_tmp, capsys, monkeypatch):
    quiz.print_questions("chapter", lang="en")
    first = capsys.readouterr().out
    key = (in_tmp / order.ID_FILE).read_text().strip()
    assert len(key) == 32
    quiz.print_questions("chapter", lang="en")  # a new kernel reads the same file
    assert capsys.readouterr().out == first
    monkeypatch.setenv("JUPYTERHUB_USER", "student7")
    assert order.learner_key() == "student7"
    monkeypatch.setenv("COURSE_LEARNER", "alice")
    assert order.learner_key() == "alice"


def test_answer_letters_are_the_displayed_ones_and_scoring_uses_identity(in_tmp, monkeypatch, capsys):
    bank = quiz.load_bank()
    q = bank.questions["trainer.eval_dataset"]
    (key_id,) = q.correct_ids
    for learner in ("alice", "bob", "carol"):
        monkeypatch.setenv("COURSE_LEARNER", learner)
        shown = order.shown(q, learner)
        quiz.print_questions("trainer.eval_dataset", lang="en")
        printed = capsys.readouterr().out
        letter = shown.letter_of(key_id)
        assert f"  {letter}) You will not get evaluation metrics" in printed
        quiz.answer("trainer.eval_dataset", letter)
        assert "Correct" in capsys.readouterr().out
        assert quiz.load_responses()["trainer.eval_dataset"] == [key_id]
        assert quiz.score() == {"trainer.eval_dataset": True}
    letters_seen = {order.shown(q, k).letter_of(key_id) for k in ("alice", "bob", "carol", "dave", "erin")}
    assert len(letters_seen) > 1


def test_pinned_question_keeps_the_bank_order(tmp_path):
    bank_file = tmp_path / "01_demo.yaml"
    bank_file.write_text(
        "questions:\n  - id: demo.pinned\n    shuffle: false\n    prompt: {en: Pick., ko: 고르세요.}\n    choices:\n"
        + "".join(f"      - {{text: {{en: '{t}', ko: '{t}'}}, explain: {{en: No., ko: 아닙니다.}}}}\n" for t in ("A", "B"))
        + "      - {text: {en: Both a and b, ko: a와 b 모두}, correct: true, explain: {en: Right., ko: 맞습니다.}}\n",
        encoding="utf-8")
    q = quiz.load_bank(bank_file).questions["demo.pinned"]
    assert all([c.letter for c in order.shown(q, k).choices] == ["a", "b", "c"] for k in ("alice", "bob", "carol"))


# ---- number questions -------------------------------------------------------------------------

def test_bank_has_number_questions_with_computed_keys():
    bank = quiz.load_bank()
    numbers = [q for q in bank.questions.values() if q.numeric]
    assert len(numbers) >= 6 and len({q.lesson for q in numbers}) >= 5
    for q in numbers:
        assert any("computes" in c for c in q.claims), f"{q.id}: its key must be checked by a computes claim"
        assert q.explain["en"] and q.explain["ko"]
    steps = bank.questions["trainer.optimizer_steps"]
    assert steps.key_value() == 1377 and steps.key_value({"batch": 32, "epochs": 2}) == 230
    assert steps.accepts(1377) and not steps.accepts(1376)


def test_number_answer_in_code_practice_and_errors(in_tmp, monkeypatch, capsys):
    quiz.answer("trainer.optimizer_steps", "1,200")
    assert "Not quite" in capsys.readouterr().out
    quiz.answer("trainer.optimizer_steps", "1,377")
    out = capsys.readouterr().out
    assert "Correct: 1,377" in out and "ceil(3,668 / 8)" in out
    assert quiz.load_responses()["trainer.optimizer_steps"] == 1377.0
    with pytest.raises(CourseError, match=r"'about 1300' is not a number"):
        quiz.answer("trainer.optimizer_steps", "about 1300")
    monkeypatch.setenv("COURSE_LANG", "ko")
    with pytest.raises(CourseError, match="숫자로 답하는 문제입니다"):
        quiz.answer("trainer.optimizer_steps", "b")
    with pytest.raises(CourseError, match="선택지가 아닙니다"):
        quiz.answer("trainer.eval_strategy", "z")
    with pytest.raises(CourseError, match="문제가 없습니다"):
        quiz.answer("trainer.nope", "a")
    with pytest.raises(CourseError, match="퀴즈나 문제가 없습니다"):
        quiz.build("02_trainer")
    (in_tmp / "quiz_responses.json").write_text("{broken", encoding="utf-8")
    quiz.answer("trainer.optimizer_steps", 1377)
    assert "파일이 손상되었습니다" in capsys.readouterr().err


def test_number_widget_text_box_submit_and_restore(in_tmp):
    view = quiz.build("advanced.total_batch")
    v = view.views[0]
    assert isinstance(v.number, w.Text) and v.submit.description == "Submit" and v.number.description
    v.number.value = "thirty-two"
    v.submit.click()
    assert 'data-result="error"' in v.feedback.value and not (in_tmp / "quiz_responses.json").exists()
    v.number.value = "32"
    v.submit.click()
    assert 'data-result="correct"' in v.feedback.value and "8 × 4" in v.feedback.value
    again = quiz.build("advanced.total_batch").views[0]  # a new kernel, the same file
    assert again.number.value == "32" and 'data-result="correct"' in again.feedback.value


# ---- exam variants: exported keyless, decided by the student id, graded in a clean process -------

def test_export_exam_with_variants_is_keyless_and_variant_per_student(in_tmp, root):
    bank = quiz.load_bank(root / EXAM_BANK)
    path = quiz.export_exam("chapter", in_tmp / "exam.yaml", bank=bank, variants=3, per_variant=6, seed="t")
    text = path.read_text(encoding="utf-8")
    for secret in ("correct", "explain", "formula", "facts", "claims", "tolerance"):
        assert secret not in text, secret
    assert "2 * n_pos" not in text and "Right." not in text
    released = quiz.load_bank(path)
    assert released.keyless and len(released.variants) == 3
    specs = [exam.variant_spec(path, f"student{i}") for i in range(40)]
    assert {s["variant"] for s in specs} == {0, 1, 2}
    assert all(len(s["questions"]) == 6 for s in specs)
    assert exam.variant_spec(path, "student3") == exam.variant_spec(path, "student3")
    orders = {tuple(i["id"] for i in v["questions"]) for v in released.variants}
    assert len(orders) == 3
    padding = [i["params"] for v in released.variants for i in v["questions"] if i["id"] == "exam.padding_added"]
    assert padding and all(set(p) == {"first", "second", "third"} for p in padding)


def test_student_sees_their_variant_and_the_grader_scores_it(in_tmp, root, monkeypatch, capsys):
    bank = quiz.load_bank(root / EXAM_BANK)
    path = quiz.export_exam("chapter", in_tmp / "exam.yaml", bank=bank, variants=4, per_variant=8, seed="t")
    monkeypatch.setenv("JUPYTERHUB_USER", "kim")
    spec = exam.variant_spec(path, "kim")  # what the grader will use
    view = quiz.build("chapter", mode="exam", questions=path)
    assert [v.question.id for v in view.views] == [i["id"] for i in spec["questions"]]
    assert "kim" in view.header.value
    quiz.print_questions("chapter", lang="en", questions=path)  # the same variant, as text
    printed = capsys.readouterr().out
    assert [line.split("]")[0][1:] for line in printed.splitlines() if line.startswith("[")] == \
        [i["id"] for i in spec["questions"]]
    missing = next(qid for qid in bank.questions if qid not in {i["id"] for i in spec["questions"]})
    with pytest.raises(CourseError, match="not a question of your exam"):
        quiz.answer(missing, "a", mode="exam", questions=path)
    # Answer everything right through the widgets' own letters / number box.
    for v in view.views:
        q = bank.questions[v.question.id]
        if q.numeric:
            v.number.value = str(q.key_value(v.shown.params))
        elif q.multiple:
            for c, box in zip(v.shown.choices, v.checks):
                box.value = c.id in q.correct_ids
        else:
            v.selector.value = q.correct_ids[0]
        v.submit.click()
        assert 'data-result="saved"' in v.feedback.value and "✓" not in v.feedback.value
    answers = json.loads(quiz.export_answers(in_tmp / "answers.json").read_text(encoding="utf-8"))
    assert exam.grade(root / EXAM_BANK, path, "kim", answers) == {i["id"]: (True, "right") for i in spec["questions"]}
    # The grader decides the variant: graded as another student, the answers do not fit.
    other = next(f"s{i}" for i in range(50) if exam.variant_spec(path, f"s{i}")["variant"] != spec["variant"])
    assert not all(ok for ok, _ in exam.grade(root / EXAM_BANK, path, other, answers).values())


def test_score_answer_runs_in_a_clean_process_without_heavy_imports(in_tmp, root):
    code = (
        "import sys, json\n"
        "from course_utils.quiz.exam import score_answer, variant_spec\n"
        f"spec = variant_spec({str(root / EXAM_FILE)!r}, 'alice')\n"
        f"bank = {str(root / EXAM_BANK)!r}\n"
        "out = [score_answer(bank, spec, 'exam.always_one_f1', 0.81), score_answer(bank, spec, 'exam.always_one_f1', 0.68),\n"
        "       score_answer(bank, None, 'exam.zero_grad', ['d']), score_answer(bank, None, 'exam.zero_grad', ['a']),\n"
        "       score_answer(bank, None, 'exam.zero_grad', 'd'), score_answer(bank, None, 'exam.zero_grad', None),\n"
        "       score_answer(bank, {'questions': [{'id': 'exam.zero_grad'}]}, 'exam.bf16_range', ['c'])]\n"
        "print(json.dumps([list(o) for o in out]))\n"
        "print(sorted(m for m in ('torch', 'transformers', 'ipywidgets', 'IPython', 'datasets') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd=in_tmp, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    results, heavy = done.stdout.strip().splitlines()
    in_variant = "exam.always_one_f1" in {i["id"] for i in exam.variant_spec(root / EXAM_FILE, "alice")["questions"]}
    expected = ([[True, "right"], [False, "not the right number"]] if in_variant else
                [[False, "exam.always_one_f1 is not in this student's exam variant"]] * 2)
    assert json.loads(results) == expected + [
        [True, "right"], [False, "not the right choice"], [False, "the saved answer is damaged (not a list of choices)"],
        [False, "no answer saved"], [False, "exam.bf16_range is not in this student's exam variant"]]
    assert heavy == "[]"


def test_released_exam_matches_the_instructor_bank_and_keys_are_not_installed(root):
    bank = quiz.load_bank(root / EXAM_BANK)
    practice = quiz.load_bank()
    assert len(bank.questions) >= 10 and sum(q.numeric for q in bank.questions.values()) >= 2
    assert not set(bank.questions) & set(practice.questions), "exam questions must not be in the practice bank"
    assert exam.mismatches(root / EXAM_BANK, root / EXAM_FILE) == []
    released = quiz.load_bank(root / EXAM_FILE)
    assert released.keyless and released.variants
    installed = "\n".join(p.read_text(encoding="utf-8") for p in default_bank_dir().glob("*.yaml"))
    assert not [qid for qid in bank.questions if qid in installed]


# ---- distractor analysis ----------------------------------------------------------------------

def test_choice_shares_count_identities_not_letters():
    bank = quiz.load_bank()
    records = [{"trainer.eval_dataset": ["c"], "loop.accelerate": ["a", "b"], "trainer.optimizer_steps": 1377.0},
               {"trainer.eval_dataset": ["c"], "loop.accelerate": ["b"], "trainer.optimizer_steps": 459.0},
               {"trainer.eval_dataset": ["a"], "trainer.optimizer_steps": 1377},
               {"trainer.eval_dataset": ["zz"]}]
    shares = analysis.choice_shares(records, bank)
    assert shares["trainer.eval_dataset"] == {"a": 0.25, "b": 0.0, "c": 0.5, "d": 0.0, analysis.NO_ANSWER: 0.0}
    assert shares["loop.accelerate"]["b"] == 0.5 and shares["loop.accelerate"]["a"] == 0.25
    assert shares["loop.accelerate"][analysis.NO_ANSWER] == 0.5
    assert shares["trainer.optimizer_steps"] == {"1,377": 0.5, "459": 0.25, analysis.NO_ANSWER: 0.25}
    assert shares["trainer.fp16"][analysis.NO_ANSWER] == 1.0
    rows = analysis.share_rows({"trainer.eval_dataset": shares["trainer.eval_dataset"]}, bank)
    key = bank.questions["trainer.eval_dataset"].correct_ids[0]
    assert [r["correct"] for r in rows if r["choice"] == key] == [True]
    assert analysis.choice_shares([], bank)["trainer.fp16"][analysis.NO_ANSWER] == 0.0


def test_old_response_files_still_read(in_tmp):
    (in_tmp / "quiz_responses.json").write_text(json.dumps(
        {"format": "course-quiz-responses/1", "answers": {"trainer.fp16": {"letters": ["b"], "mode": "exam"}}}))
    assert quiz.load_responses() == {"trainer.fp16": ["b"]}
