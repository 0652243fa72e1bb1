"""Quiz widgets built from ipywidgets core widgets only (every lesson's last cell).

RadioButtons (one answer), a column of Checkboxes (several) or a Text box (a
number), a Submit button, and an HTML feedback area with the CSS class
``course-quiz-feedback``. Choices appear in the learner's own order
(order.py); letters are positions in that order, answers are saved by choice id.
Core widgets render in JupyterLab 4, Notebook 7, VS Code and Colab; every
control is a native input with a label, so screen readers name it and Tab /
Space reach and pick every choice (arrow keys do not move between radio
choices in JupyterLab 4: ipywidgets#3912; tests/test_browser.py checks it).
Answers go to quiz_responses.json on every Submit (responses.py).
"""
from __future__ import annotations

import html
import re

import ipywidgets as w

from ..errors import CourseError
from . import responses
from .numeric import parse_number, render, show_number

UI = {
    "en": {
        "submit": "Submit", "answer": "Answer:", "several": "Select all that apply.",
        "submit_tip": "Submit your answer to question {n}",
        "correct": "✓ Correct.", "wrong": "✗ Not quite; try again.", "missing": "✗ Some correct choices are missing; try again.",
        "empty": "Choose an answer first.",
        "saved": "Answer saved ({letters}). You can change it until you hand in the notebook.",
        "restored": "Your saved answer ({letters}) is selected.",
        "score": "Score: {right} of {total} correct ({answered} answered).",
        "progress": "Answered: {answered} of {total}. Answers are saved in {file}.",
        "practice": "Practice: you see right away whether an answer is right, with an explanation; retry as often as you like.",
        "exam": "Exam: your answers are saved; they are graded later.",
        "fallback": "No widget? Answer in code: quiz.answer(\"{qid}\", \"a\")",
        "number": "Your number:", "number_placeholder": "e.g. 1377 or 0.25",
        "number_right": "✓ Correct: {key}.", "number_wrong": "✗ Not quite; try again.",
        "saved_number": "Answer saved ({value}). You can change it until you hand in the notebook.",
        "restored_number": "Your saved answer ({value}) is filled in.",
    },
    "ko": {
        "submit": "제출", "answer": "답:", "several": "해당하는 것을 모두 고르세요.",
        "submit_tip": "{n}번 문제의 답 제출",
        "correct": "✓ 정답입니다.", "wrong": "✗ 아직입니다. 다시 해 보세요.", "missing": "✗ 빠진 정답이 있습니다. 다시 해 보세요.",
        "empty": "먼저 답을 고르세요.",
        "saved": "답을 저장했습니다({letters}). 노트북을 내기 전까지 바꿀 수 있습니다.",
        "restored": "저장된 답({letters})이 선택되어 있습니다.",
        "score": "점수: {total}문제 중 {right}문제 정답({answered}문제 답함).",
        "progress": "답한 문제: {total}문제 중 {answered}문제. 답은 {file}에 저장됩니다.",
        "practice": "연습: 답을 내면 바로 정답 여부와 설명을 볼 수 있고, 몇 번이든 다시 풀 수 있습니다.",
        "exam": "시험: 답은 저장되고 나중에 채점됩니다.",
        "fallback": "위젯이 보이지 않나요? 코드로 답하세요: quiz.answer(\"{qid}\", \"a\")",
        "number": "답(숫자):", "number_placeholder": "예: 1377 또는 0.25",
        "number_right": "✓ 정답입니다: {key}.", "number_wrong": "✗ 아직입니다. 다시 해 보세요.",
        "saved_number": "답을 저장했습니다({value}). 노트북을 내기 전까지 바꿀 수 있습니다.",
        "restored_number": "저장된 답({value})이 입력되어 있습니다.",
    },
}


# Core widgets cut long labels to one line ("white-space: nowrap; text-overflow: ellipsis");
# a choice must be read in full, so the quiz lets its labels wrap (old and new class names).
CSS = """<style>
.course-quiz .widget-label-basic, .course-quiz .jupyter-widget-label-basic,
.course-quiz .widget-radio-box label, .course-quiz .jupyter-widget-radio-box label {
  white-space: normal; overflow: visible; height: auto; line-height: 1.4; margin: 2px 0; }
.course-quiz .widget-checkbox, .course-quiz .jupyter-widget-checkbox { height: auto; }
.course-quiz .widget-checkbox input, .course-quiz .jupyter-widget-checkbox input { flex-grow: 0; }
.course-quiz pre { margin: 4px 0; }
</style>"""


def inline(text: str) -> str:
    """Escape text for HTML and show `backticks` as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


def plain(text: str) -> str:
    return text.replace("`", "")


def judge(question, choice_ids) -> str:
    """'correct', 'missing' (a strict subset of the right choices) or 'wrong' (choices by id)."""
    chosen, right = set(choice_ids), set(question.correct_ids)
    if chosen == right:
        return "correct"
    return "missing" if question.multiple and chosen < right else "wrong"


def judge_number(shown, value) -> str:
    return "correct" if shown.question.accepts(value, shown.params) else "wrong"


def _box(question, result: str, body: str) -> str:
    return (f'<div class="course-quiz-result course-quiz-{result}" data-qid="{html.escape(question.id)}" '
            f'data-result="{result}" role="status" aria-live="polite">{body}</div>')


def feedback_html(shown, answer, mode: str, lang: str) -> tuple[str, str]:
    """(result, HTML) shown after Submit; in exam mode only that the answer was saved.

    ``answer``: a list of choice ids, or a number for a number question (None/[]: nothing given).
    """
    ui, question = UI[lang], shown.question
    if answer is None or answer == []:
        return "empty", _box(question, "empty", html.escape(ui["empty"]))
    if question.numeric:
        if mode == "exam" or question.keyless:
            return "saved", _box(question, "saved", html.escape(ui["saved_number"].format(value=show_number(answer))))
        result = judge_number(shown, answer)
        head = ui["number_right"].format(key=show_number(question.key_value(shown.params))) if result == "correct" \
            else ui["number_wrong"]
        explain = f"<p>{inline(render(question.explain[lang], shown.values()))}</p>" if result == "correct" else ""
        return result, _box(question, result, f"<b>{html.escape(head)}</b>{explain}")
    letters = sorted(shown.letter_of(i) for i in answer)
    if mode == "exam" or question.keyless:
        return "saved", _box(question, "saved", html.escape(ui["saved"].format(letters=", ".join(letters))))
    result = judge(question, answer)
    items = "".join(
        f"<li><b>{letter})</b> {inline(c.explain[lang])}</li>"
        for letter, c in zip(shown.letters, shown.choices) if c.id in answer
    )
    return result, _box(question, result, f"<b>{html.escape(ui[result])}</b><ul>{items}</ul>")


def prompt_text(shown, lang: str) -> str:
    return render(shown.question.prompt[lang], shown.values()) if shown.question.numeric else shown.question.prompt[lang]


class QuestionView:
    """One question: prompt, choices or a number box, Submit, feedback."""

    def __init__(self, shown, number: int, mode: str, lang: str, path, on_submit=None, saved=None):
        question = shown.question
        self.shown, self.question, self.mode, self.lang, self.path = shown, question, mode, lang, path
        self.on_submit, self.result = on_submit, None
        ui = UI[lang]
        code = f"<pre><code>{html.escape(question.code.rstrip())}</code></pre>" if question.code else ""
        hint = f"<br><i>{html.escape(ui['several'])}</i>" if question.multiple else ""
        self.prompt = w.HTML(f"<b>{number}.</b> {inline(prompt_text(shown, lang))}{hint}{code}")
        self.checks = self.number = None
        if question.numeric:
            # The value reaches the kernel when the box loses focus (Tab to Submit) or on Enter: no echo of
            # half-typed values overwriting what the learner is typing.
            self.number = w.Text(value="", placeholder=ui["number_placeholder"], description=ui["number"],
                                 tooltip=plain(prompt_text(shown, lang)), continuous_update=False,
                                 style={"description_width": "initial"})
            self.selector = self.number
        elif question.multiple:
            self.checks = [
                w.Checkbox(value=False, description=f"{letter}) {plain(c.text[lang])}", indent=False,
                           layout=w.Layout(width="auto"), tooltip=f"{letter}) {plain(c.text[lang])}")
                for letter, c in zip(shown.letters, shown.choices)
            ]
            self.selector = w.VBox(self.checks)
        else:
            self.selector = w.RadioButtons(
                options=[(f"{letter}) {plain(c.text[lang])}", c.id) for letter, c in zip(shown.letters, shown.choices)],
                value=None, description=ui["answer"],
                tooltip=plain(question.prompt[lang]), layout=w.Layout(width="auto"),
                style={"description_width": "initial"},
            )
        self.submit = w.Button(description=ui["submit"], tooltip=ui["submit_tip"].format(n=number), button_style="primary")
        self.submit.on_click(self._clicked)
        self.feedback = w.HTML("")
        self.feedback.add_class("course-quiz-feedback")
        self.box = w.VBox([self.prompt, self.selector, self.submit, self.feedback])
        self.box.add_class("course-quiz-question")
        self.box.add_class("course-quiz-id-" + re.sub(r"[^a-z0-9_-]", "-", question.id))
        if saved is not None:
            self.restore(saved)

    def selected(self):
        """The answer in the widget: [choice ids], or the typed number (None if not a number)."""
        if self.number is not None:
            return parse_number(self.number.value)
        if self.checks is not None:
            return [c.id for c, box in zip(self.shown.choices, self.checks) if box.value]
        return [self.selector.value] if self.selector.value else []

    def select(self, answer) -> None:
        if self.number is not None:
            self.number.value = show_number(answer).replace(",", "") if answer is not None else ""
        elif self.checks is not None:
            for c, box in zip(self.shown.choices, self.checks):
                box.value = c.id in answer
        else:
            self.selector.value = answer[0] if answer else None

    def restore(self, answer) -> None:
        """Preselect an answer saved earlier (after a kernel restart) and show its feedback."""
        if self.question.numeric:
            if not isinstance(answer, (int, float)):
                return
        else:
            if not isinstance(answer, list):
                return
            answer = [x for x in answer if x in self.question.choice_ids]
            if not answer or (not self.question.multiple and len(answer) > 1):
                return
        self.select(answer)
        self.result, body = feedback_html(self.shown, answer, self.mode, self.lang)
        if self.result == "saved":
            ui = UI[self.lang]
            if self.question.numeric:
                old, new = ui["saved_number"], ui["restored_number"]
                fields = {"value": show_number(answer)}
            else:
                old, new = ui["saved"], ui["restored"]
                fields = {"letters": ", ".join(sorted(self.shown.letter_of(i) for i in answer))}
            body = body.replace(html.escape(old.format(**fields)), html.escape(new.format(**fields)))
        self.feedback.value = body

    def _clicked(self, _button=None) -> None:
        answer = self.selected()
        if self.number is not None and answer is None and self.number.value.strip():
            from .. import messages

            text = messages.text("quiz_not_a_number", self.lang, given=self.number.value.strip(), qid=self.question.id)
            self.feedback.value = f'<div class="course-quiz-result" data-result="error" role="alert">{html.escape(text)}</div>'
            return
        if answer is not None and answer != []:
            try:
                responses.save(self.question.id, answer, self.mode, self.path)
            except CourseError as exc:  # a click handler's exception would only reach the kernel log
                self.feedback.value = f'<div class="course-quiz-result" data-result="error" role="alert">{html.escape(str(exc))}</div>'
                return
        result, self.feedback.value = feedback_html(self.shown, answer, self.mode, self.lang)
        if answer is not None and answer != []:
            self.result = result
        if self.on_submit:
            self.on_submit()


class QuizBox(w.VBox):
    """A core VBox whose plain-text form tells front ends without widgets how to answer in code."""

    fallback = ""

    def __repr__(self) -> str:
        return self.fallback


class QuizView:
    """A whole quiz: title, mode note, questions, running score (practice) or progress (exam)."""

    def __init__(self, shown_questions, title: str, mode: str, lang: str, path, note: str = ""):
        self.mode, self.lang, self.path = mode, lang, path
        saved = responses.read(path, repair=True)
        self.views = [
            QuestionView(s, n, mode, lang, path, on_submit=self.update,
                         saved=responses.plain_answer(saved[s.question.id]) if s.question.id in saved else None)
            for n, s in enumerate(shown_questions, 1)
        ]
        extra = f"<p><i>{html.escape(note)}</i></p>" if note else ""
        self.header = w.HTML(f"{CSS}<h3>{html.escape(title)}</h3><p>{html.escape(UI[lang][mode])}</p>{extra}")
        self.status = w.HTML("")
        self.status.add_class("course-quiz-score")
        self.box = QuizBox([self.header, *[v.box for v in self.views], self.status])
        self.box.add_class("course-quiz")
        first = shown_questions[0].question
        self.box.fallback = UI[lang]["fallback"].format(qid=first.id).replace('"a"', "1377" if first.numeric else '"a"')
        self.update()

    def update(self) -> None:
        answered = sum(v.result is not None for v in self.views)
        total = len(self.views)
        if self.mode == "practice":
            right = sum(v.result == "correct" for v in self.views)
            text = UI[self.lang]["score"].format(right=right, total=total, answered=answered)
        else:
            text = UI[self.lang]["progress"].format(answered=answered, total=total, file=responses.FILENAME)
        self.status.value = f'<div role="status" aria-live="polite"><b>{html.escape(text)}</b></div>'
