"""Quiz widgets built from ipywidgets core widgets only (every lesson's last cell).

RadioButtons (one answer) or a column of Checkboxes (several), a Submit
button, and an HTML feedback area with the CSS class ``course-quiz-feedback``.
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
    },
    "ko": {
        "submit": "제출", "answer": "답:", "several": "해당하는 것을 모두 고르세요.",
        "submit_tip": "{n}번 문제의 답 제출",
        "correct": "✓ 정답입니다.", "wrong": "✗ 아쉽네요. 다시 해 보세요.", "missing": "✗ 빠진 정답이 있습니다. 다시 해 보세요.",
        "empty": "먼저 답을 고르세요.",
        "saved": "답을 저장했습니다({letters}). 노트북을 제출하기 전까지 바꿀 수 있습니다.",
        "restored": "저장된 답({letters})이 선택되어 있습니다.",
        "score": "점수: {total}문제 중 {right}문제 정답({answered}문제 답함).",
        "progress": "답한 문제: {total}문제 중 {answered}문제. 답은 {file}에 저장됩니다.",
        "practice": "연습: 답을 내면 바로 정답 여부와 설명을 볼 수 있고, 몇 번이든 다시 풀 수 있습니다.",
        "exam": "시험: 답은 저장되고 나중에 채점됩니다.",
        "fallback": "위젯이 보이지 않나요? 코드로 답하세요: quiz.answer(\"{qid}\", \"a\")",
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


def judge(question, letters) -> str:
    """'correct', 'missing' (a strict subset of the right choices) or 'wrong'."""
    chosen, right = set(letters), set(question.correct_letters)
    if chosen == right:
        return "correct"
    return "missing" if question.multiple and chosen < right else "wrong"


def feedback_html(question, letters, mode: str, lang: str) -> tuple[str, str]:
    """(result, HTML) shown after Submit; in exam mode only that the answer was saved."""
    ui = UI[lang]
    if not letters:
        result, body = "empty", html.escape(ui["empty"])
    elif mode == "exam" or question.keyless:
        result, body = "saved", html.escape(ui["saved"].format(letters=", ".join(letters)))
    else:
        result = judge(question, letters)
        items = "".join(
            f"<li><b>{c.letter})</b> {inline(c.explain[lang])}</li>" for c in question.choices if c.letter in letters
        )
        body = f"<b>{html.escape(ui[result])}</b><ul>{items}</ul>"
    return result, (
        f'<div class="course-quiz-result course-quiz-{result}" data-qid="{html.escape(question.id)}" '
        f'data-result="{result}" role="status" aria-live="polite">{body}</div>'
    )


class QuestionView:
    """One question: prompt, choices, Submit, feedback."""

    def __init__(self, question, number: int, mode: str, lang: str, path, on_submit=None, saved=None):
        self.question, self.mode, self.lang, self.path = question, mode, lang, path
        self.on_submit, self.result = on_submit, None
        ui = UI[lang]
        code = f"<pre><code>{html.escape(question.code.rstrip())}</code></pre>" if question.code else ""
        hint = f"<br><i>{html.escape(ui['several'])}</i>" if question.multiple else ""
        self.prompt = w.HTML(f"<b>{number}.</b> {inline(question.prompt[lang])}{hint}{code}")
        labels = [f"{c.letter}) {plain(c.text[lang])}" for c in question.choices]
        if question.multiple:
            self.checks = [
                w.Checkbox(value=False, description=label, indent=False, layout=w.Layout(width="auto"),
                           tooltip=label)
                for label in labels
            ]
            self.selector = w.VBox(self.checks)
        else:
            self.checks = None
            self.selector = w.RadioButtons(
                options=list(zip(labels, question.letters)), value=None, description=ui["answer"],
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
        if saved:
            self.restore(saved)

    def selected(self) -> list[str]:
        if self.checks is not None:
            return [c.letter for c, box in zip(self.question.choices, self.checks) if box.value]
        return [self.selector.value] if self.selector.value else []

    def select(self, letters) -> None:
        if self.checks is not None:
            for c, box in zip(self.question.choices, self.checks):
                box.value = c.letter in letters
        else:
            self.selector.value = letters[0] if letters else None

    def restore(self, letters) -> None:
        """Preselect an answer saved earlier (after a kernel restart) and show its feedback."""
        letters = [x for x in letters if x in self.question.letters]
        if not letters or (not self.question.multiple and len(letters) > 1):
            return
        self.select(letters)
        self.result, body = feedback_html(self.question, letters, self.mode, self.lang)
        if self.result == "saved":
            body = body.replace(html.escape(UI[self.lang]["saved"].format(letters=", ".join(letters))),
                                html.escape(UI[self.lang]["restored"].format(letters=", ".join(letters))))
        self.feedback.value = body

    def _clicked(self, _button=None) -> None:
        letters = self.selected()
        if letters:
            try:
                responses.save(self.question.id, letters, self.mode, self.path)
            except CourseError as exc:  # a click handler's exception would only reach the kernel log
                self.feedback.value = f'<div class="course-quiz-result" data-result="error" role="alert">{html.escape(str(exc))}</div>'
                return
        result, self.feedback.value = feedback_html(self.question, letters, self.mode, self.lang)
        if letters:
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

    def __init__(self, questions, title: str, mode: str, lang: str, path):
        self.mode, self.lang, self.path = mode, lang, path
        saved = responses.read(path, repair=True)
        self.views = [
            QuestionView(q, n, mode, lang, path, on_submit=self.update, saved=saved.get(q.id, {}).get("letters"))
            for n, q in enumerate(questions, 1)
        ]
        self.header = w.HTML(f"{CSS}<h3>{html.escape(title)}</h3><p>{html.escape(UI[lang][mode])}</p>")
        self.status = w.HTML("")
        self.status.add_class("course-quiz-score")
        self.box = QuizBox([self.header, *[v.box for v in self.views], self.status])
        self.box.add_class("course-quiz")
        self.box.fallback = UI[lang]["fallback"].format(qid=questions[0].id)
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
