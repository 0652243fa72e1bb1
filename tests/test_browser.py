"""The quiz widget in a real browser: JupyterLab 4 and Notebook 7, Debian's Chromium, Playwright.

A person opens a notebook holding a lesson's quiz cell, runs it, picks answers
with the mouse and with the keyboard, presses Submit, and reads the feedback;
the answer lands in quiz_responses.json beside the notebook. English and
Korean use identical cells: the language comes from the folder (notebooks/ko),
as in the lessons. Screenshots go to build/browser/. The keyboard test reaches
the widgets from the notebook itself (Escape, arrows between cells, Tab) and
answers with Space and Enter; the news check: no "get notified about official
Jupyter news?" toast over any page (the environment's settings overrides that
tools/install.py writes, here applied to the environment running the tests).

What ipywidgets 8.1 itself does not allow by keyboard (seen in 8.1.9 with
JupyterLab 4.6 and Notebook 7.6): RadioButtons renders one <input type=radio>
per choice with no shared `name` and no role="radiogroup" around them, so the
choices are no radio group: each is its own Tab stop and the arrow keys do not
move the answer (the browser's own group behaviour needs the shared name). On
top of that, in the notebook's command mode JupyterLab and Notebook 7 take the
arrow keys from a focused output widget: ArrowDown selects the next cell, even
for radios given a shared name. ToggleButtons (not used by the quiz) are plain
buttons: Tab, Space and Enter work, arrows do not, and the chosen one is only
a CSS class (no aria-pressed). Checkbox, Text and Button are native elements:
Space, typing, Space and Enter work.

Skipped only when /usr/bin/chromium is absent (.ci/run installs it).
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

from browser_helpers import (CHROMIUM, FEEDBACK_S, UI_S, JupyterServer, NotebookPage, launch_chromium, wait_until,
                             write_notebook)

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: apt-get install chromium chromium-driver"),
    pytest.mark.timeout(300),
]

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "build" / "browser"

SINGLE = "trainer.processing_class"  # RadioButtons
MULTIPLE = "preprocessing.unused_columns"  # Checkboxes; two correct answers
NUMBER = "advanced.total_batch"  # a Text box: 8 × 4 = 32 with the practice parameters
# The lesson's quiz cell with one question each (identical in en and ko).
CELLS = [f'from course_utils import quiz\n\nquiz.show("{SINGLE}")', f'quiz.show("{MULTIPLE}")', f'quiz.show("{NUMBER}")']

# What a person reads, written out here (not imported from the widget code).
READS = {
    "en": {"submit": "Submit", "correct": "✓ Correct.", "wrong": "Not quite", "score": "Score: 1 of 1 correct"},
    "ko": {"submit": "제출", "correct": "✓ 정답입니다.", "wrong": "다시 해 보세요", "score": "점수: 1문제 중 1문제 정답"},
}


def _plain(text: str) -> str:
    return text.replace("`", "")


@pytest.fixture(scope="module")
def bank():
    from course_utils import quiz

    return quiz.load_bank()


@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium(UI_S)  # assertions wait on the page, generously (2 shared cores)


def _learner_lab_settings() -> Path:
    """The JupyterLab settings overrides `make lab` gives a learner, written by tools/install.py's own step into the
    environment running this test (as a fresh `make test` install does; an older .venv gets them here)."""
    spec = importlib.util.spec_from_file_location("course_install", ROOT / "tools" / "install.py")
    install = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(install)
    path = install.write_lab_settings(sys.prefix)
    from jupyterlab.commands import get_app_dir

    assert path == Path(get_app_dir()) / "settings" / "overrides.json", "not where this JupyterLab reads its overrides"
    return path


@pytest.fixture(scope="module", params=["lab", "notebook"])
def server(request, tmp_path_factory):
    _learner_lab_settings()
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_LANG", "JPY_SESSION_NAME")}
    env.update(HF_HUB_OFFLINE="1", TQDM_DISABLE="1", TOKENIZERS_PARALLELISM="false")
    root = tmp_path_factory.mktemp(f"{request.param}-root")
    server = JupyterServer(request.param, root, env=env)
    server.start()
    try:
        yield server
    finally:
        server.stop()
    assert server.process.poll() is not None, "the Jupyter server is still running"
    assert not server.stray_kernels(), f"kernels left running: {server.stray_kernels()}"


@pytest.fixture
def open_quiz(server, browser, request):
    """open_quiz(lang) -> NotebookPage with both quiz cells run; the kernel is shut down afterwards."""
    opened = []

    def _open(lang: str) -> NotebookPage:
        path = f"{request.node.name.split('[')[0]}/{lang}/quiz_check.ipynb"
        write_notebook(server.root / path, CELLS)
        context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="ko-KR" if lang == "ko" else "en-US")
        context.set_default_timeout(UI_S * 1000)
        notebook = NotebookPage(context.new_page(), server, path)
        opened.append((context, notebook))
        notebook.open()
        notebook.run_all_cells_with_keyboard(len(CELLS))
        for qid in (SINGLE, MULTIPLE, NUMBER):
            _question(notebook.page, qid).locator("button").wait_for(state="visible")
        notebook.expect_no_news_question()  # nothing over the lesson
        return notebook

    yield _open
    for context, notebook in opened:
        try:
            context.close()
        finally:
            server.shutdown_kernel(notebook.path)


def _question(page, qid):
    return page.locator(".course-quiz-id-" + qid.replace(".", "-"))


def _responses(notebook: NotebookPage) -> Path:
    return (notebook.server.root / notebook.path).parent / "quiz_responses.json"


def _wait_saved(notebook: NotebookPage, qid: str, letters: list[str]) -> dict:
    """The response file beside the notebook holds ``letters`` for ``qid``."""
    path = _responses(notebook)

    def saved():
        entry = json.loads(path.read_text(encoding="utf-8"))["answers"].get(qid)
        return entry if entry and entry.get("choices") == sorted(letters) else None

    return wait_until(saved, FEEDBACK_S, f"{path} to record {letters} for {qid}")


def _shown(notebook: NotebookPage, question):
    """The question as this page's learner sees it: the kernel keeps the learner's id beside the notebook."""
    from course_utils.quiz import order

    key = (_responses(notebook).parent / order.ID_FILE).read_text(encoding="utf-8").strip()
    return order.shown(question, key)


def _label(shown, choice_id: str, lang: str) -> str:
    choice = next(c for c in shown.choices if c.id == choice_id)
    return f"{shown.letter_of(choice_id)}) {_plain(choice.text[lang])}"


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_mouse_wrong_then_right_answer(open_quiz, server, bank, lang):
    from playwright.sync_api import expect

    notebook = open_quiz(lang)
    page, reads, question = notebook.page, READS[lang], bank.questions[SINGLE]
    shown = _shown(notebook, question)
    key = question.correct_ids[0]
    wrong = next(c for c in question.choices if not c.correct)
    box = _question(page, SINGLE)
    feedback = box.locator(".course-quiz-feedback")
    expect(box).to_contain_text(_plain(question.prompt[lang]).split("\n")[0])
    expect(box.get_by_role("radio")).to_have_count(len(question.choices))
    expect(feedback).to_have_text("")

    # A wrong answer first: feedback says so, with that choice's explanation.
    box.get_by_role("radio", name=_label(shown, wrong.id, lang)).click()
    box.get_by_role("button", name=reads["submit"]).click()
    expect(feedback).to_contain_text(reads["wrong"], timeout=FEEDBACK_S * 1000)
    expect(feedback).to_contain_text(_plain(wrong.explain[lang]))
    assert _wait_saved(notebook, SINGLE, [wrong.id])["attempts"] == 1

    # Then the right one.
    box.get_by_role("radio", name=_label(shown, key, lang)).click()
    box.get_by_role("button", name=reads["submit"]).click()
    expect(feedback).to_contain_text(reads["correct"], timeout=FEEDBACK_S * 1000)
    expect(feedback).to_contain_text(_plain(next(c for c in question.choices if c.correct).explain[lang]))
    expect(feedback).not_to_contain_text(READS["ko" if lang == "en" else "en"]["correct"])
    expect(box.get_by_role("radio", name=_label(shown, key, lang))).to_be_checked()
    expect(page.locator(".course-quiz-score").first).to_contain_text(reads["score"])
    entry = _wait_saved(notebook, SINGLE, [key])
    assert entry["attempts"] == 2 and entry["mode"] == "practice"

    notebook.screenshot(SHOTS / f"quiz_{server.ui}_{lang}.png", box)


FOCUSED = "() => { const e = document.activeElement; return `${e.tagName}.${e.className} ${(e.closest('label') || e).textContent.slice(0, 40)}`; }"


def _tab_to(page, target, most: int = 6) -> None:
    """Press Tab until ``target`` has the focus, at most ``most`` times; fail naming where the focus went."""
    went = []
    for _ in range(most):
        page.keyboard.press("Tab")
        if target.evaluate("e => e === document.activeElement"):
            return
        went.append(page.evaluate(FOCUSED))
    raise AssertionError(f"{most} Tabs did not reach {target}; the focus went to {went}")


def test_keyboard_alone(open_quiz, server, bank):
    """From the notebook to every answer with the keyboard alone: Escape, ArrowUp to the quiz's cell, Tab visits
    every choice (Space picks one) and then Submit (Enter, or Space); a number is typed into a field reached by Tab.
    Known race, not the test's: ipywidgets holds a model's state update back while an earlier message of that model
    waits for the kernel, but sends a Button's click at once; on a loaded machine the kernel then grades the value
    the box held before (seen once here: 32 typed, 30 graded, Enter on Submit at once after the Tab).
    RadioButtons: Tab, not the arrows (module docstring; test_keyboard_arrow_keys_change_radio_choice)."""
    from playwright.sync_api import expect

    notebook = open_quiz("en")
    page, reads = notebook.page, READS["en"]
    # The cells were run with Shift+Enter: the cursor is in the new empty cell below them, in edit mode.
    page.keyboard.press("Escape")  # command mode: the arrows move between cells
    for _ in CELLS:
        page.keyboard.press("ArrowUp")
    expect(page.locator(".jp-Notebook .jp-Cell").filter(has=_question(page, SINGLE))).to_be_focused()

    # One answer (RadioButtons: each choice is its own tab stop), then several (Checkboxes) in the next cell.
    for qid, role, press in ((SINGLE, "radio", "Enter"), (MULTIPLE, "checkbox", "Space")):
        question, box = bank.questions[qid], _question(page, qid)
        shown = _shown(notebook, question)
        _tab_to(page, box.get_by_role(role).first)
        for choice in shown.choices:  # in the order this learner sees them
            expect(box.get_by_role(role, name=_label(shown, choice.id, "en"))).to_be_focused()
            if choice.correct:
                page.keyboard.press("Space")
                expect(box.get_by_role(role, name=_label(shown, choice.id, "en"))).to_be_checked()
            page.keyboard.press("Tab")
        expect(box.get_by_role("button", name=reads["submit"])).to_be_focused()
        page.keyboard.press(press)
        expect(box.locator(".course-quiz-feedback")).to_contain_text(reads["correct"], timeout=FEEDBACK_S * 1000)
        _wait_saved(notebook, qid, question.correct_ids)
        for choice in shown.choices:
            checked = box.get_by_role(role, name=_label(shown, choice.id, "en"))
            (expect(checked).to_be_checked if choice.correct else expect(checked).not_to_be_checked)()
        expect(box.get_by_role("button", name=reads["submit"])).to_be_focused()  # Tab goes on from here

    # A number question in the next cell: a labelled text box; type, Tab to Submit, Space; wrong first, then right.
    box = _question(page, NUMBER)
    field = box.get_by_role("textbox", name="Your number:")
    feedback = box.locator(".course-quiz-feedback")
    _tab_to(page, field)
    page.keyboard.type("30")
    page.keyboard.press("Tab")
    expect(box.get_by_role("button", name=reads["submit"])).to_be_focused()
    page.keyboard.press("Space")
    expect(feedback).to_contain_text(reads["wrong"], timeout=FEEDBACK_S * 1000)
    path = _responses(notebook)
    # The first attempt is saved before the second is typed: under load its round trip through the kernel could
    # otherwise still be in flight while the field is edited.
    wait_until(lambda: json.loads(path.read_text(encoding="utf-8"))["answers"].get(NUMBER, {}).get("attempts") == 1,
               FEEDBACK_S, "the first attempt saved")
    page.keyboard.press("Shift+Tab")
    expect(field).to_be_focused()
    page.keyboard.press("End")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.type("32")
    expect(field).to_have_value("32")
    page.keyboard.press("Tab")
    expect(box.get_by_role("button", name=reads["submit"])).to_be_focused()
    page.keyboard.press("Space")
    expect(feedback).to_contain_text("✓ Correct: 32.", timeout=FEEDBACK_S * 1000)
    entry = wait_until(lambda: json.loads(path.read_text(encoding="utf-8"))["answers"].get(NUMBER, {}).get("value") == 32
                       and json.loads(path.read_text(encoding="utf-8"))["answers"][NUMBER], FEEDBACK_S, "the number 32")
    assert entry["attempts"] == 2 and entry["mode"] == "practice"

    notebook.screenshot(SHOTS / f"quiz_{server.ui}_keyboard.png", _question(page, MULTIPLE))


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "Arrow keys do not move between RadioButtons choices: ipywidgets 8.1 renders each radio without a shared "
    "name (no radio group), and JupyterLab 4 / Notebook 7 command-mode shortcuts take ArrowUp/Down/Left/Right "
    "from a focused radio (they move the cell cursor, also for radios given a shared name; "
    "jupyter-widgets/ipywidgets#3912). Tab + Space works (test_keyboard_alone). strict: this fails once arrows "
    "work; then drop the mark."))
def test_keyboard_arrow_keys_change_radio_choice(open_quiz, bank):
    from playwright.sync_api import expect

    notebook = open_quiz("en")
    page, question = notebook.page, bank.questions[SINGLE]
    shown = _shown(notebook, question)
    box = _question(page, SINGLE)
    box.get_by_role("radio").first.focus()
    page.keyboard.press("Space")
    expect(box.get_by_role("radio", name=_label(shown, shown.choices[0].id, "en"))).to_be_checked()
    page.keyboard.press("ArrowDown")  # the browser's own radio-group behaviour: select the next choice
    expect(box.get_by_role("radio", name=_label(shown, shown.choices[1].id, "en"))).to_be_checked(timeout=3000)
