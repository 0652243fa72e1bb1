"""A lesson's practice quiz as static HTML for the website; static/quiz.js makes it answerable.

Questions come from the course's one bank, through ``course_utils.quiz.load_bank()``
(the installed practice bank with its answer key); an exam file (keyless) is refused,
so exam questions never reach the site. Texts and feedback messages are the widget's
own (course_utils.quiz.widgets), in the page's language. One answer -> radio buttons
sharing a name (Tab reaches the group, arrow keys move in it, Space picks); several
answers -> check boxes. A question kind this renderer does not know gets a visible
note pointing to the notebook instead of failing the build.
"""
from __future__ import annotations

import html
import json
import re

from course_utils.quiz import load_bank
from course_utils.quiz.widgets import UI, inline

# Kinds this page knows how to render; the bank's questions have no ``kind`` today (None = choices).
CHOICE_KINDS = {None, "choice", "single", "multiple", "several"}

NOTE = {
    "en": "This question ({kind}) cannot be answered on the website yet: open the notebook and run "
          "<code>quiz.show(\"{qid}\")</code>.",
    "ko": "이 문제({kind})는 아직 웹사이트에서 풀 수 없습니다. 노트북을 열고 "
          "<code>quiz.show(\"{qid}\")</code>를 실행하세요.",
}
PAGE_UI = {
    "en": {"title": "Quiz (practice)", "choose_first": UI["en"]["empty"]},
    "ko": {"title": "퀴즈(연습)", "choose_first": UI["ko"]["empty"]},
}
SHOW_CALL = re.compile(r"""quiz\.show\(\s*(["'])(?P<target>[^"']+)\1(?P<rest>[^)]*)\)""")


def quiz_targets(source: str) -> list[str]:
    """Targets of the practice-mode ``quiz.show("...")`` calls in a code cell (exam calls are left out)."""
    return [m.group("target") for m in SHOW_CALL.finditer(source) if "exam" not in m.group("rest")]


def html_id(qid: str) -> str:
    return "quiz-" + re.sub(r"[^a-z0-9_-]", "-", qid.lower())


def supported(question) -> bool:
    return getattr(question, "kind", None) in CHOICE_KINDS and bool(getattr(question, "choices", ()))


def render(target: str, lang: str, bank=None) -> str:
    """HTML for ``quiz.show(target)`` on a page in ``lang``."""
    bank = bank or load_bank()
    if bank.keyless:
        raise ValueError(f"{bank.source} is an exam file without answer key: the site shows practice quizzes only.")
    questions = bank.select(target)
    ui = UI[lang]
    parts = [f'<section class="course-quiz-static" lang="{lang}" data-lang="{lang}" '
             f'aria-label="{html.escape(bank.title(target, lang))}">',
             f'<p class="course-quiz-title"><strong>{html.escape(bank.title(target, lang))}</strong></p>',
             f'<p class="course-quiz-mode">{html.escape(ui["practice"])}</p>']
    for n, q in enumerate(questions, 1):
        parts.append(_question(q, n, lang) if supported(q) else _note(q, n, lang))
    strings = {k: ui[k] for k in ("correct", "wrong", "missing", "empty", "score")}
    parts.append('<p class="course-quiz-score" role="status" aria-live="polite"></p>')
    parts.append(f'<script type="application/json" class="course-quiz-ui">{_json(strings)}</script>')
    parts.append("</section>")
    return "\n".join(parts)


def _json(value) -> str:
    # Safe inside <script>: no "</" can close the element early.
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def _question(q, n: int, lang: str) -> str:
    ui, qid = UI[lang], html_id(q.id)
    kind = "checkbox" if q.multiple else "radio"
    out = [f'<div class="course-quiz-question" id="{qid}" data-qid="{html.escape(q.id)}">',
           f'<fieldset><legend><span class="course-quiz-number">{n}.</span> {inline(q.prompt[lang])}</legend>']
    if q.code:
        out.append(f'<pre class="course-quiz-code"><code>{html.escape(q.code.rstrip())}</code></pre>')
    if q.multiple:
        out.append(f'<p class="course-quiz-hint">{html.escape(ui["several"])}</p>')
    for c in q.choices:
        cid = f"{qid}-{c.letter}"
        out.append(f'<div class="course-quiz-choice"><input type="{kind}" name="{qid}" id="{cid}" value="{c.letter}">'
                   f'<label for="{cid}">{c.letter}) {inline(c.text[lang])}</label></div>')
    out.append("</fieldset>")
    out.append(f'<button type="button" class="course-quiz-submit" '
               f'aria-label="{html.escape(ui["submit_tip"].format(n=n))}">{html.escape(ui["submit"])}</button>')
    out.append('<div class="course-quiz-feedback" role="status" aria-live="polite"></div>')
    key = {"multiple": q.multiple, "correct": q.correct_letters,
           "explain": {c.letter: inline(c.explain[lang]) for c in q.choices}}
    out.append(f'<script type="application/json" class="course-quiz-key">{_json(key)}</script>')
    out.append("</div>")
    return "\n".join(out)


def _note(q, n: int, lang: str) -> str:
    kind = html.escape(str(getattr(q, "kind", None) or "?"))
    return (f'<div class="course-quiz-question course-quiz-unsupported" id="{html_id(q.id)}" data-qid="{html.escape(q.id)}">'
            f'<p><span class="course-quiz-number">{n}.</span> {inline(q.prompt[lang])}</p>'
            f'<p class="course-quiz-note" role="note">{NOTE[lang].format(kind=kind, qid=html.escape(q.id))}</p></div>')
