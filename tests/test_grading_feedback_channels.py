"""Feedback carries only the student's own text and the verdicts (issue 21, part 2).

Three channels a student's kernel or notebook could use to bring something into the feedback page, each
attacked through the real round trip (a private course copy, `python -m course_utils.grading release`,
`autograde --jobs 1`, `feedback`, the pages opened in Debian's Chromium):

* the execution count: a kernel sets its own to an integer that spells a hidden-test line (``In [N]``);
* the verdict's message: values the kernel sent, repeated by a check (a list of two-character "choices"
  slips under the judge's three-character scrubber and, in order, spells any text);
* the student's markdown and raw cells: ``<script>`` and ``<img onerror>`` would run when the page opens.

Then the leak check's new forms (numbers, one- and two-character strings) and the judge's net, on their own.
"""
from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from browser_helpers import CHROMIUM, launch_chromium, wait_until
from course_utils.grading import course as grading_course
from course_utils.grading import feedback as grading_feedback
from course_utils.grading.judge import judge_one, scrub
from test_grading_roundtrip import QUIZ, answered, key_answers, released, submit

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the grading sandbox needs Linux")

# A line of the quiz's hidden export code: the student's kernel runs it, so it can read it and encode it.
EXPORTED = "send(answers=quiz.load_responses())"
# The integer the kernel picks as its execution count: the line's UTF-8 bytes, big-endian.
COUNT = int.from_bytes(EXPORTED.encode("utf-8"), "big")
# Two-character "choice ids": one character of order (they are sorted before a check quotes them), one of text.
SPELLED = [chr(0x30 + i) + c for i, c in enumerate(EXPORTED)]
SCRIPT_MARKDOWN = """## My notes

**bold stays bold** and `a < b` stays code.

<script>window.__pwned = (window.__pwned || []).concat("markdown script")</script>

<img src="nowhere.png" onerror="window.__pwned = (window.__pwned || []).concat('markdown img')">
"""
SCRIPT_RAW = '<script>window.__pwned = (window.__pwned || []).concat("raw script")</script>' \
             '<img src="nowhere.png" onerror="window.__pwned = (window.__pwned || []).concat(\'raw img\')">'


def _cli(root: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """One step of the instructor's round trip, as `make` runs it."""
    env = {**os.environ, "COURSE_GRADING_CELL_TIMEOUT": "120", "COURSE_GRADING_SUBMISSION_TIMEOUT": "400"}
    return subprocess.run([sys.executable, "-m", "course_utils.grading", *args, "--course", str(root)],
                          capture_output=True, text=True, env=env, timeout=timeout)


def _exam(root: Path, student: str):
    """(this student's variant of the released exam, the instructor's key bank)."""
    from course_utils.quiz import exam, load_bank

    return (exam.variant_spec(root / "release" / QUIZ / "chapter_exam.yaml", student),
            load_bank(root / "source" / QUIZ / "exam_bank.yaml"))


def _speller_answers(root: Path) -> dict:
    """Questions 1-4: the spelled line as choices; the others: a real but wrong choice (or the line again for a
    number question)."""
    spec, bank = _exam(root, "speller")
    answers = {}
    for n, item in enumerate(spec["questions"]):
        question = bank.questions[item["id"]]
        wrong = [c for c in question.choice_ids if c not in question.correct_ids]
        answers[item["id"]] = SPELLED if n < 4 or question.numeric or not wrong else [wrong[0]]
    return answers


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = grading_course.instructor_init(tmp_path_factory.mktemp("channels"))
    done = _cli(root, "release")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    key = key_answers(root, QUIZ)["answers"]
    # 1. the execution count: the kernel names its next cell's number (the quiz's first test cell)
    submit(root, "counter", QUIZ, answered(root, QUIZ, answers=key + f"\nget_ipython().execution_count = {COUNT - 1}\n"))
    # 2. the verdict's message: the kernel sends the spelled line as the answers to four questions (its send
    # replaced: a responses file would only hold choice ids of [a-z0-9_]); the file holds real, wrong answers
    answers = _speller_answers(root)
    saved = {qid: {"choices": choices, "mode": "exam"} for qid, choices in answers.items() if choices != SPELLED}
    submit(root, "speller", QUIZ, answered(root, QUIZ, answers=(
        "from course_utils.grading import export\n"
        f"_answers, _send = {answers!r}, export.send\n"
        "export.send = lambda **values: _send(answers=_answers)\n")),
        files={"quiz_responses.json": json.dumps({"format": "course-quiz-responses/2", "answers": saved})})
    # 3. markdown and raw cells that would run in the page
    nb = released(root, QUIZ)
    raw = nbformat.v4.new_raw_cell(SCRIPT_RAW)
    raw.metadata["raw_mimetype"] = "text/html"
    nb.cells += [nbformat.v4.new_markdown_cell(SCRIPT_MARKDOWN), raw]
    submit(root, "scripter", QUIZ, nb)
    graded = _cli(root, "autograde", "--jobs", "1")
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    made = _cli(root, "feedback")
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    return {"root": root, "feedback_output": made.stdout, "answers": answers}


def _page(root: Path, student: str) -> str:
    path = root / "feedback" / student / QUIZ / f"{QUIZ}.html"
    assert path.is_file(), f"no feedback page for {student} (withheld?): {sorted(p.name for p in path.parent.glob('*'))}"
    return path.read_text(encoding="utf-8")


def _graded(root: Path, student: str):
    return nbformat.read(root / "autograded" / student / QUIZ / f"{QUIZ}.ipynb", as_version=4)


def test_every_page_is_made_and_none_withheld(course):
    assert "(0 problem(s))" in course["feedback_output"], course["feedback_output"][-2000:]
    secrets = grading_feedback.hidden_lines(course["root"])
    assert EXPORTED in secrets
    for student in ("counter", "speller", "scripter"):
        page = _page(course["root"], student)
        assert grading_feedback.leaks(page, secrets) == [], student
        assert grading_feedback.CSP_META in page.split("</head>", 1)[0], f"{student}'s page has no CSP in its <head>"


def test_the_kernel_chosen_execution_count_never_reaches_the_page(course):
    root = course["root"]
    counts = [c.execution_count for c in _graded(root, "counter").cells if c.cell_type == "code"]
    assert COUNT in counts, f"the kernel did not get its count into the graded notebook: the case tests nothing {counts}"
    page = _page(root, "counter")
    assert str(COUNT) not in page
    prompts = [int(n) for n in re.findall(r"In\s\[(\d+)\]", html.unescape(page))]  # "In&nbsp;[1]"
    assert prompts == list(range(1, len(counts) + 1)), prompts
    # The second wall: had the count reached the page, the leak check would have withheld it.
    assert grading_feedback.leaks(f"In&nbsp;[{COUNT}]:", grading_feedback.hidden_lines(root)) == [EXPORTED]


def test_verdicts_repeat_nothing_the_kernel_sent_and_name_the_question(course):
    root = course["root"]
    graded = _graded(root, "speller")
    sent = next(c.metadata["course_grading"]["values"] for c in graded.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == "q01")
    assert sorted(SPELLED) in [sorted(v) for v in sent["answers"].values()], "the spelled answers never reached the judge"
    # The verdicts (the student's own code, shown above them, holds the list: that is their own text).
    verdicts = re.findall(r"TestFailed: ([^\n<]*)", html.unescape(_page(root, "speller")))
    spec, bank = _exam(root, "speller")
    assert len(verdicts) == len(spec["questions"]), verdicts
    for n, (item, verdict) in enumerate(zip(spec["questions"], verdicts), start=1):
        answer = course["answers"][item["id"]]
        why = ("the saved answer is not a number" if bank.questions[item["id"]].numeric else
               "not one of the question's choices" if answer == SPELLED else "not the right choice")
        # The question id comes from the instructor's exam file: readable, though the kernel sent it too.
        assert verdict.startswith(f"question {n} ({item['id']}): ") and why in verdict, verdict
        assert not any(f"'{choice}'" in verdict or f'"{choice}"' in verdict for choice in SPELLED), verdict
        assert not any(choice in verdict for choice in SPELLED if choice[0].isdigit() and choice[1].isalpha()), verdict
        assert "…" not in verdict, f"a message still needed the scrubber (it quoted something the kernel sent): {verdict}"


def test_a_quoted_list_of_two_character_strings_would_be_caught_by_the_leak_check():
    # The message the quiz check wrote before this fix, as the page showed it: the second wall catches it.
    old = "TestFailed: question 1 (exam.zero_grad): the saved answer names unknown choices " + \
          html.escape(str(sorted(SPELLED)))
    assert grading_feedback.leaks(old, grading_feedback.hidden_lines(REPO / "grading")) == [EXPORTED]


# ---------------------------------------------------------------- markdown and raw cells in a real browser
@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install chromium")
    yield from launch_chromium(30)


def _open(chromium, path: Path) -> dict:
    """Open a page offline (every request but file:// fails at once); what its scripts did, once every image
    has loaded or failed (an onerror has run by then)."""
    page = chromium.new_page()
    try:
        page.route(re.compile(r"^(?!file:)"), lambda route: route.abort())
        page.goto(path.as_uri(), wait_until="domcontentloaded")
        wait_until(lambda: page.evaluate("document.readyState === 'complete' && "
                                         "Array.from(document.images).every(i => i.complete)"), 30, "the page to load")
        return page.evaluate("""() => ({
            pwned: window.__pwned || [],
            fontSize: getComputedStyle(document.body).fontSize,
            handlers: Array.from(document.querySelectorAll('*')).filter(
                e => Array.from(e.attributes).some(a => a.name.startsWith('on'))).length,
            bold: Array.from(document.querySelectorAll('strong')).map(e => e.textContent),
            code: Array.from(document.querySelectorAll('code')).map(e => e.textContent),
            text: document.body.innerText})""")
    finally:
        page.close()


def test_student_markdown_and_raw_cells_do_not_run_in_the_page(course, chromium, tmp_path):
    root = course["root"]
    graded = _graded(root, "scripter")
    # (the graded copy holds it cleaned too: the formgrader shows that copy; SafeForInstructor)
    assert any("window.__pwned" in c.source for c in graded.cells if c.cell_type == "markdown"), \
        "the markdown cell never reached the graded notebook: the case tests nothing"
    path = root / "feedback" / "scripter" / QUIZ / f"{QUIZ}.html"
    seen = _open(chromium, path)
    assert seen["pwned"] == [] and seen["handlers"] == 0, seen["pwned"]
    assert seen["fontSize"] == "14px", "the page's own CSS no longer applies"
    assert "bold stays bold" in seen["bold"] and "a < b" in seen["code"], "honest markdown no longer renders"
    assert '<script>window.__pwned = (window.__pwned || []).concat("markdown script")</script>' in seen["text"], \
        "the student's text should be shown as text"

    # Each wall alone. The cleaned page without its CSP runs nothing either:
    page = path.read_text(encoding="utf-8")
    bare = tmp_path / "no-csp.html"
    bare.write_text(page.replace(grading_feedback.CSP_META, ""), encoding="utf-8")
    assert grading_feedback.CSP_META not in bare.read_text(encoding="utf-8")
    assert _open(chromium, bare)["pwned"] == []
    # the payload itself, uncleaned, runs in this browser (so the checks above can fail) ...
    payload = "<!DOCTYPE html><html><head>{}</head><body>" + SCRIPT_RAW + "</body></html>"
    naked = tmp_path / "naked.html"
    naked.write_text(payload.format(""), encoding="utf-8")
    assert sorted(_open(chromium, naked)["pwned"]) == ["raw img", "raw script"]
    # ... and under the page's CSP it does not.
    shielded = tmp_path / "shielded.html"
    shielded.write_text(grading_feedback.protect(payload.format("")), encoding="utf-8")
    assert _open(chromium, shielded)["pwned"] == []


# ---------------------------------------------------------------- the leak check's new forms, on their own
HONEST = [
    "TestFailed: question 3 (exam.zero_grad): not the right choice",
    "choices ['a', 'c', 'd'] and [101, 1996, 4937, 2938, 2006, 1996, 13523, 1012, 102, 1037, 4937, 2001, 3564]",
    "a long honest number 31415926535897932384626433832795028841971693993751",
    "In&nbsp;[12]: tokenizer(s1, s2, truncation=True)",
    # a check's line that is only its message, in quotes: the verdict shows the message, as it should
    "TestFailed: start from the pretrained weights (from_pretrained), not from a random model",
]


@pytest.mark.parametrize("form", [
    str(int.from_bytes(EXPORTED.encode(), "big")),
    str(int.from_bytes(EXPORTED.encode(), "little")),
    f"{int.from_bytes(EXPORTED.encode(), 'big'):,}",
    str(int.from_bytes(b"  x" + EXPORTED.encode() + b"!", "big")),  # inside a longer number
    hex(int.from_bytes(EXPORTED.encode(), "big")),
    hex(int.from_bytes(EXPORTED.encode(), "little")).upper(),
    html.escape(str([EXPORTED[i:i + 2] for i in range(0, len(EXPORTED), 2)])),
    str(list(EXPORTED)),
    ", ".join(EXPORTED[i:i + 2] for i in range(0, len(EXPORTED), 2)),
    str(sorted(SPELLED)),
], ids=["decimal-big", "decimal-little", "decimal-grouped", "decimal-inside", "hex-big", "hex-little",
        "pairs-escaped", "single-characters", "pairs-unquoted", "sorted-with-order-characters"])
def test_the_leak_check_finds_a_hidden_line_as_a_number_or_spelled_out(form):
    assert grading_feedback.leaks(f"<pre>TestFailed: {form}</pre>", {EXPORTED}) == [EXPORTED]


def test_the_leak_check_leaves_honest_text_alone_and_stays_fast():
    import time

    secrets = grading_feedback.hidden_lines(REPO / "grading")
    assert EXPORTED in secrets
    for text in HONEST:
        assert grading_feedback.leaks(text, secrets) == [], text
    page = "<p>" + "honest words and numbers 123456 " * 10_000 + "</p>"  # ~330 kB, a large feedback page
    start = time.monotonic()
    assert grading_feedback.leaks(page, secrets) == []
    assert time.monotonic() - start < 10
    # A number too long to read is not waved through.
    assert grading_feedback.leaks("7" * grading_feedback.MAX_DIGITS, secrets) == [grading_feedback.TOO_LONG]


# ---------------------------------------------------------------- the judge's net and the quiz's messages
def test_the_judge_scrubs_short_strings_and_numbers_the_kernel_sent_but_not_what_the_check_trusts(tmp_path):
    check = "qid = 'exam.zero_grad'\nassert False, f'question 1 ({trusted(qid)}): {data[\"x\"]} {data[\"n\"]}'"
    data = {"x": sorted(SPELLED), "n": COUNT, "exam.zero_grad": ["a"]}
    verdict = judge_one({"cell": "q01", "code": check, "data": data}, "alice", tmp_path)
    assert verdict["message"].startswith("question 1 (exam.zero_grad): "), verdict
    assert str(COUNT) not in verdict["message"] and "'0s'" not in verdict["message"], verdict
    # A check's own words stay, and so do small numbers and a list the check wrote out itself.
    assert scrub("use ['a', 'b'] with 32 steps", {"v": ["a", "b"], "n": 32}, "x = ['a', 'b']") == \
        "use ['a', 'b'] with 32 steps"
    assert scrub("got ['a', 'b']", {"v": ["a", "b"]}, "assert x") == "got […]"


def test_the_exam_check_names_no_choice_the_student_sent():
    from course_utils.quiz import exam, load_bank

    root = REPO / "grading" / "source" / QUIZ
    spec, bank = exam.variant_spec(root / "chapter_exam.yaml", "alice"), load_bank(root / "exam_bank.yaml")
    qid = next(i["id"] for i in spec["questions"] if not bank.questions[i["id"]].numeric)
    ok, why = exam.score_answer(bank, spec, qid, ["zz", "qq"])
    assert not ok and "zz" not in why and "qq" not in why and "not one of the question's choices" in why, why


def test_text_too_rich_to_clean_in_reasonable_time_is_shown_escaped():
    """html5lib's time grows with the square of the formatting elements left open (71 kB of `<b title=i>x<p>` in
    one raw cell: 100 s on the grading host; attack of 2026-12-06). Such a cell, or every cell after the
    notebook's budget of tags is used, is shown escaped, whole; ordinary cells are still cleaned."""
    from course_utils.grading import preprocessors

    nb = nbformat.v4.new_notebook()
    flood = "<table>" + "<b title=i>x<p>" * 5000
    nb.cells = [nbformat.v4.new_raw_cell(flood), nbformat.v4.new_markdown_cell("<img src=x onerror=alert(1)> *hi*")]
    nb.cells += [nbformat.v4.new_raw_cell("<b title=i>x<p>" * 900) for _ in range(30)]  # each under the cell limit
    nb.cells.append(nbformat.v4.new_raw_cell("<script>alert(2)</script>"))
    safe, _ = preprocessors.SafeForInstructor().preprocess(nb, {})
    first, markdown, *many, last = (cell.source for cell in safe.cells)
    assert first.startswith("<pre>&lt;table&gt;&lt;b title=i&gt;x&lt;p&gt;") and "<b" not in first
    assert "onerror" not in markdown and "<em>hi</em>" in markdown  # cleaned, as before
    cleaned = [cell for cell in many if not cell.startswith("<pre>")]
    assert 0 < len(cleaned) <= preprocessors.NOTEBOOK_TAGS // 1800 < len(many)  # the rest escaped, not parsed
    assert "<script>" not in last


def test_markdown_too_long_to_render_in_reasonable_time_is_shown_escaped():
    """mistune renders a markdown cell before any tag is counted: `&#` repeated costs about 33 s of CPU per MB,
    once when grading and once for the feedback page (attack of 2026-12-06). A cell over MAX_CLEANED_CHARS, and
    every cell once the notebook's cells have used NOTEBOOK_CHARS, is shown escaped without rendering."""
    from course_utils.grading import preprocessors

    nb = nbformat.v4.new_notebook()
    long_cell = "&#" * (preprocessors.MAX_CLEANED_CHARS // 2 + 1)
    under = "word " * (preprocessors.MAX_CLEANED_CHARS // 5 - 1)  # just under the cell's limit
    nb.cells = [nbformat.v4.new_markdown_cell(long_cell), nbformat.v4.new_markdown_cell("*hi* <img src=x onerror=1>")]
    nb.cells += [nbformat.v4.new_markdown_cell(under) for _ in range(12)]
    safe, _ = preprocessors.SafeForInstructor().preprocess(nb, {})
    first, small, *many = (cell.source for cell in safe.cells)
    assert first.startswith('<div class="course-feedback-text"><pre>&amp;#&amp;#'), first[:80]
    assert "<em>hi</em>" in small and "onerror" not in small  # rendered and cleaned, as before
    rendered = [cell for cell in many if "<p>word word" in cell]
    assert 0 < len(rendered) <= preprocessors.NOTEBOOK_CHARS // len(under) < len(many), len(rendered)
    assert all(cell.startswith('<div class="course-feedback-text"><pre>word ') for cell in many if cell not in rendered)
