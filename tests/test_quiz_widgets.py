"""Quiz widgets without a browser: build, choose, press Submit via Button.click(), read feedback and the saved file."""
from __future__ import annotations

import json

import ipywidgets as w
import pytest

from course_utils import CourseError, quiz
from course_utils.quiz import responses


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Each test in its own 'notebook folder', English unless it asks otherwise."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COURSE_LANG", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setenv("COURSE_LEARNER", "test-learner")
    monkeypatch.setitem(quiz._session, "mode", "practice")
    monkeypatch.setitem(quiz._session, "questions", None)
    return tmp_path


def _saved(tmp_path):
    return json.loads((tmp_path / "quiz_responses.json").read_text(encoding="utf-8"))["answers"]


def _states(widget):
    """Every synced trait of a widget tree (what a front end receives)."""
    found = [widget.get_state()]
    for child in getattr(widget, "children", ()):
        found += _states(child)
    return found


def _ids(q):
    """(the key's choice id, the id of the 'model architecture' distractor) of trainer.processing_class."""
    return q.correct_ids[0], next(c.id for c in q.choices if "architecture" in c.text["en"])


def test_practice_single_answer_feedback_score_and_file(in_tmp):
    view = quiz.build("02_trainer_api")
    n = len(quiz.load_bank().lessons["02_trainer_api"])
    assert isinstance(view.box, w.VBox) and len(view.views) == n
    first = view.views[0]
    assert first.question.id == "trainer.processing_class"
    assert isinstance(first.selector, w.RadioButtons) and first.selector.value is None  # no default answer
    assert first.submit.description == "Submit"
    assert "course-quiz-feedback" in first.feedback._dom_classes
    key, wrong = _ids(first.question)
    labels = dict(zip(first.selector._options_values, first.selector._options_labels))
    assert labels[wrong].startswith(first.shown.letter_of(wrong) + ") It specifies")  # letters as displayed

    first.selector.value = wrong
    first.submit.click()
    assert 'data-result="wrong"' in first.feedback.value
    assert "architecture comes from the model" in first.feedback.value  # the chosen choice's explanation
    assert "1 answered" in view.status.value and f"0 of {n} correct" in view.status.value
    assert _saved(in_tmp)["trainer.processing_class"]["choices"] == [wrong]

    first.selector.value = key  # retry
    first.submit.click()
    assert 'data-result="correct"' in first.feedback.value and "<code>tokenizer=</code>" in first.feedback.value
    assert f"1 of {n} correct" in view.status.value
    entry = _saved(in_tmp)["trainer.processing_class"]
    assert entry["choices"] == [key] and entry["attempts"] == 2 and entry["mode"] == "practice"


def test_nothing_chosen_saves_nothing(in_tmp):
    view = quiz.build("trainer.fp16")
    view.views[0].submit.click()
    assert 'data-result="empty"' in view.views[0].feedback.value
    assert not (in_tmp / "quiz_responses.json").exists()


def test_several_answers_use_checkboxes(in_tmp):
    view = quiz.build("loop.accelerate")
    q = view.views[0]
    assert q.checks and all(isinstance(c, w.Checkbox) and c.value is False for c in q.checks)
    boxes = {c.id: box for c, box in zip(q.shown.choices, q.checks)}
    first, second = q.question.correct_ids
    boxes[first].value = True
    q.submit.click()
    assert 'data-result="missing"' in q.feedback.value
    boxes[second].value = True
    q.submit.click()
    assert 'data-result="correct"' in q.feedback.value
    assert _saved(in_tmp)["loop.accelerate"]["choices"] == [first, second]


def test_controls_are_labelled_for_screen_readers_and_korean(in_tmp):
    view = quiz.build("05_training_loop", lang="ko")
    for q in view.views:
        assert q.submit.description == "제출" and q.submit.tooltip
        if q.checks:
            assert [c.description.split(")")[0] for c in q.checks] == q.shown.letters
        elif q.number is not None:
            assert q.number.description == "답(숫자):" and q.number.tooltip
        else:
            assert q.selector.description and q.selector.tooltip
            assert [label.split(")")[0] for label in q.selector._options_labels] == q.shown.letters
    assert "퀴즈" in view.header.value
    first = view.views[0]
    first.selector.value = next(c.id for c in first.question.choices if not c.correct)
    first.submit.click()
    assert "다시 해 보세요" in first.feedback.value


def test_language_comes_from_course_lang_and_the_lesson_folder(in_tmp, monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "ko")
    assert quiz.build("trainer.fp16").views[0].submit.description == "제출"
    monkeypatch.delenv("COURSE_LANG")
    ko = in_tmp / "ko"
    ko.mkdir()
    monkeypatch.chdir(ko)  # nbval / nbclient run a lesson in notebooks/ko/
    assert quiz.build("trainer.fp16").views[0].submit.description == "제출"
    assert quiz.build("trainer.fp16", lang="en").views[0].submit.description == "Submit"
    with pytest.raises(CourseError, match="알 수 없는 퀴즈 언어 .fr."):  # in notebooks/ko: Korean
        quiz.build("trainer.fp16", lang="fr")


def test_saved_answer_is_preselected_in_a_new_widget(in_tmp):
    bank = quiz.load_bank()
    strategy, accelerate = bank.questions["trainer.eval_strategy"], bank.questions["loop.accelerate"]
    shown = quiz.shown(strategy, "test-learner")
    quiz.answer("trainer.eval_strategy", shown.letter_of(strategy.correct_ids[0]))
    both = quiz.shown(accelerate, "test-learner")
    quiz.answer("loop.accelerate", [both.letter_of(i) for i in accelerate.correct_ids])
    view = quiz.build("chapter")
    by_id = {v.question.id: v for v in view.views}
    assert by_id["trainer.eval_strategy"].selector.value == strategy.correct_ids[0]
    assert 'data-result="correct"' in by_id["trainer.eval_strategy"].feedback.value
    acc = by_id["loop.accelerate"]
    assert [box.value for box in acc.checks] == [c.correct for c in acc.shown.choices]
    assert by_id["trainer.fp16"].selector.value is None
    assert f"2 of {len(view.views)} correct (2 answered)" in view.status.value


def test_show_displays_the_widget_and_returns_nothing(in_tmp, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    assert quiz.show("03_evaluation") is None
    assert len(shown) == 1 and isinstance(shown[0], w.VBox)
    bundle = shown[0]._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert 'quiz.answer("trainer.eval_strategy", "a")' in bundle["text/plain"]  # front ends without widgets


def test_exam_export_and_widget_carry_no_key(in_tmp):
    bank = quiz.load_bank()
    path = quiz.export_exam("02_trainer_api", in_tmp / "release" / "02_trainer_api_exam.yaml")
    text = path.read_text(encoding="utf-8")
    assert "correct" not in text and "explain" not in text and "claims" not in text
    explanations = [c.explain[lang] for q in bank.select("02_trainer_api") for c in q.choices for lang in ("en", "ko")]
    assert not [e for e in explanations if e in text]
    exam = quiz.load_bank(path)
    assert exam.keyless and list(exam.questions) == bank.lessons["02_trainer_api"]

    view = quiz.build("02_trainer_api", mode="exam", questions=path)
    q = view.views[0]
    wrong = _ids(bank.questions["trainer.processing_class"])[1]
    q.selector.value = wrong  # a wrong answer: the widget must not say so
    q.submit.click()
    assert 'data-result="saved"' in q.feedback.value
    assert _saved(in_tmp)["trainer.processing_class"] == {**_saved(in_tmp)["trainer.processing_class"], "choices": [wrong], "mode": "exam"}
    state = json.dumps([s for s in _states(view.box)], default=str, ensure_ascii=False)
    assert "correct" not in state.lower().replace("course-quiz-", "")
    assert not [e for e in explanations if e in state]
    assert "Not quite" not in state and "✓" not in state and "✗" not in state

    with pytest.raises(CourseError, match="no answer key"):
        quiz.build("02_trainer_api", mode="practice", questions=path)
    with pytest.raises(CourseError, match="no answer key"):
        quiz.score({"trainer.processing_class": ["b"]}, bank=path)


def test_plain_answer_after_an_exam_show_prints_no_correctness(in_tmp, monkeypatch, capsys):
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: None)
    path = quiz.export_exam(["trainer.fp16", "trainer.eval_strategy"], in_tmp / "exam.yaml")
    quiz.show("chapter", mode="exam", questions=path)
    fp16 = quiz.load_bank().questions["trainer.fp16"]
    wrong = next(c.id for c in fp16.choices if "integer" in c.text["en"])
    quiz.answer("trainer.fp16", quiz.shown(fp16, "test-learner").letter_of(wrong))
    out = capsys.readouterr().out
    assert "saved" in out.lower() and "Not quite" not in out and "integer" not in out
    assert quiz.load_responses()["trainer.fp16"] == [wrong]
    assert quiz.score(quiz.load_responses()) == {"trainer.fp16": False}  # graded later, with the full bank


def test_exam_from_an_instructor_bank_file(in_tmp):
    secret = in_tmp / "instructor_only.yaml"
    secret.write_text(
        "title: {en: Secret, ko: 비밀}\nquestions:\n"
        "  - id: secret.one\n    prompt: {en: Pick B., ko: B를 고르세요.}\n    choices:\n"
        "      - {text: {en: A, ko: 가}, explain: {en: No., ko: 아닙니다.}}\n"
        "      - {text: {en: B, ko: 나}, correct: true, explain: {en: Right., ko: 맞습니다.}}\n",
        encoding="utf-8",
    )
    student = quiz.export_exam("secret.one", in_tmp / "student.yaml", bank=quiz.load_bank(secret))
    assert "correct" not in student.read_text(encoding="utf-8")
    shown = quiz.shown(quiz.load_bank(student).questions["secret.one"], "test-learner")
    quiz.answer("secret.one", shown.letter_of("b"), mode="exam", questions=student)
    assert quiz.score(quiz.load_responses(), bank=secret) == {"secret.one": True}


def test_a_save_that_fails_is_shown_in_the_widget(in_tmp):
    view = quiz.build("trainer.fp16")
    (in_tmp / "quiz_responses.json").mkdir()  # cannot be replaced by a file
    q = view.views[0]
    q.selector.value = q.question.correct_ids[0]
    q.submit.click()
    assert 'data-result="error"' in q.feedback.value and "Could not save your answer" in q.feedback.value
