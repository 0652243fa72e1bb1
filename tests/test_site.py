"""The course website (`make site`): built from the lessons this test session executed, then read in Chromium.

`make test` runs this file last (tools/site/nbval_capture.py orders it), after nbval has
executed every lesson and saved each executed notebook into build/lessons/; the site is
built from those, never from a second run. Run alone, it needs build/lessons/ from an
earlier `make test` or `COURSE_SMOKE=1 make run`, and says so.

Static checks: one page per lesson and language, every output and figure of the executed
copy, the run line (mode, machine, date), each lesson's single/several-answer questions
on its page, practice bank only, a visible note for a question kind the site cannot show.
Home pages: the lesson table comes from the lessons (title, one line, the time each states,
its first figure), three ways to start, the language switch.
Browser checks (Debian Chromium + Playwright, the site served on 127.0.0.1, every request
elsewhere blocked): no console errors, no broken internal links, anchors or images,
Korean drawn with a CJK font and 🤗 with a colour emoji font, maths rendered by the site's
own MathJax, axe-core (WCAG 2.1 A/AA) on every page with no serious or critical violation,
quizzes answer a click (mouse and keyboard) in English and Korean, one question answered
from the keyboard alone with its verdict in an aria-live region, the language switch lands
on the twin. Screenshots: build/site-shots/.
Full-mode pages (`make site-full`): the site is built as the publish workflow builds it, from
full-mode runs where their code is current and smoke runs elsewhere. Lesson 07, which trains
nothing, is run in full mode for real by `make site-full`'s executor (build/site-test/lessons-full/);
its page shows the full-mode run line, every other page the smoke-fallback banner, in both
languages (axe-core checks those pages with all the others); a full run of older code is never used.
"""
from __future__ import annotations

import functools
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import types
import urllib.parse
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.site import build as site_build  # noqa: E402
from tools.site import home, nbval_capture, quiz_html, runinfo  # noqa: E402

from browser_helpers import CHROMIUM, launch_chromium  # noqa: E402  (tests/ is on sys.path under pytest)
from test_lessons_static import MAX_CODE_LINE, display_width  # noqa: E402  (one limit for lessons and pages)

SHOTS = ROOT / "build" / "site-shots"
LANGS = ("en", "ko")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason=f"{CHROMIUM} is absent: apt-get install chromium fonts-noto-cjk")

pytestmark = pytest.mark.timeout(900)

AXE = site_build.SITE_NODE / "axe-core" / "axe.min.js"  # `make site-deps` (npm, mk/site.mk)
# WCAG 2.0 and 2.1, levels A and AA; "experimental" adds the rules axe has not yet turned on by default
# (label-content-name-mismatch, WCAG 2.5.3, among them); only violations tagged with a WCAG level count.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
EMOJI = "\U0001F917"  # 🤗, in the titles of lesson 5 and in the home pages

# What a person reads after Submit, written out here (not imported from the quiz code).
READS = {
    "en": {"submit": "Submit", "correct": "✓ Correct.", "wrong": "Not quite", "score": "Score: 1 of 4 correct"},
    "ko": {"submit": "제출", "correct": "✓ 정답입니다.", "wrong": "다시 해 보세요", "score": "점수: 4문제 중 1문제 정답"},
}
SINGLE = ("02_trainer_api", "trainer.processing_class")  # radio buttons; b is right
SEVERAL = ("01_preprocessing", "preprocessing.unused_columns")  # check boxes; a and b are right


def _text(page_html: str) -> str:
    """A page's visible text, roughly: tags out, entities decoded, whitespace collapsed."""
    no_scripts = re.sub(r"<script\b.*?</script>", " ", page_html, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", no_scripts)).split())


def _plain(text: str) -> str:
    return " ".join(text.replace("`", "").split())


def _md_text(markdown: str) -> str:
    """What a reader sees of a line of markdown, roughly: links by their text, no bold markers."""
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", markdown).replace("**", "")


def _squash(text: str) -> str:
    """Text without backticks or any white space: markup may add spaces around inline code (and Sphinx curls quotes)."""
    text = text.translate(str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}))
    return "".join(text.replace("`", "").split())


# --- the site, built once from this session's executions ------------------------------------------------
LESSONS = ROOT / "build" / "lessons"  # the smoke runs `make test` just made
FULL_RUNS = ROOT / "build" / "site-test" / "lessons-full"  # lesson 07's full-mode runs, made by the site fixture
FULL_LESSON = "07_chapter_quiz"  # the chapter quiz trains nothing: its full mode costs seconds
FULL_LANG = "en"  # one full run is enough to check the choice; the Korean pages all show the fallback banner


def _run_full_lesson() -> None:
    """Lesson 07 in English in full mode (COURSE_SMOKE unset) by `make site-full`'s executor."""
    shutil.rmtree(FULL_RUNS, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "COURSE_SMOKE"}
    lessons = [f"notebooks/{FULL_LANG}/{FULL_LESSON}.ipynb"]
    done = subprocess.run([sys.executable, "tools/run_lessons.py", "--runner", "make site-full", "--out", str(FULL_RUNS),
                           *lessons], cwd=ROOT, env=dict(env, TQDM_DISABLE="1"), capture_output=True, text=True,
                          timeout=600)
    if done.returncode:
        pytest.fail(f"tools/run_lessons.py failed on lesson 07 in full mode:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


@pytest.fixture(scope="module")
def site() -> Path:
    try:
        import myst_nb  # noqa: F401
        import sphinx_book_theme  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"The site builder is not installed ({exc.name}): run `make site-deps`.")
    try:
        for _, source in _lessons():
            site_build.executed_copy(source, LESSONS)  # a missing or stale smoke run: say so before running 07
        _run_full_lesson()
        return site_build.build(LESSONS, ROOT / "build" / "site", full_dir=FULL_RUNS)
    except site_build.SiteError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def bank():
    from course_utils.quiz import load_bank

    return load_bank()


def _lessons():
    return [(lang, source) for lang in LANGS for source in site_build.lessons(lang)]


def _executed(source: Path):
    """The executed copy the site fixture's build used for ``source`` (full-mode 07, smoke elsewhere)."""
    return site_build.pick(source, LESSONS, FULL_RUNS).nb


def _page(site: Path, source: Path) -> str:
    return (site / source.parent.name / f"{source.stem}.html").read_text(encoding="utf-8")


def test_lessons_executed_in_this_session_are_the_ones_on_the_site(site):
    """Under `make test` nbval executed every lesson just before; each must have been saved (not an old copy).

    In the same pytest process the capture plugin's own records say so; `make test` runs this file as a second
    pytest command after the lessons ran on xdist workers, so then the ledger they left is read instead."""
    capture = sys.modules.get("tools.site.nbval_capture")
    if capture is not None and capture.EXECUTED:
        executed, saved, started = capture.EXECUTED, capture.SAVED, capture._started
    elif nbval_capture.LEDGER.is_file():
        ledger = json.loads(nbval_capture.LEDGER.read_text(encoding="utf-8"))
        executed = {Path(p) for p in ledger["executed"]}
        saved = {Path(p): status for p, status in ledger["saved"].items()}
        started = ledger["started"]
    else:
        pytest.skip("nbval did not run lessons in this session (run alone: the site uses build/lessons as it is)")
    ran = [source for _, source in _lessons() if source.resolve() in executed]
    assert ran, "the ledger names no lesson of this project"
    for source in ran:
        assert source.resolve() in saved, f"nbval ran {source} but its executed copy was not saved"
        copy = ROOT / "build" / "lessons" / source.parent.name / source.name
        if saved[source.resolve()] == "written":
            assert copy.stat().st_mtime >= started, f"{copy} is older than the test session that ran {source}"


def test_a_page_per_lesson_and_language(site):
    assert (site / "index.html").is_file() and (site / ".nojekyll").is_file()
    for lang in LANGS:
        assert (site / lang / "index.html").is_file()
        assert (site / lang / "search.html").is_file() and (site / lang / "searchindex.js").is_file()
    lessons = _lessons()
    assert len(lessons) >= 14 and {s.name for _, s in lessons if _ == "en"} == {s.name for _, s in lessons if _ == "ko"}
    for lang, source in lessons:
        page = site / lang / f"{source.stem}.html"
        assert page.is_file(), f"no page for {source}"
        download = site / lang / "notebooks" / source.name
        assert download.read_bytes() == source.read_bytes(), f"'Download notebook' of {page} is not the lesson"


def test_every_output_and_figure_is_on_the_page(site):
    for lang, source in _lessons():
        nb, page = _executed(source), _page(site, source)
        text = _text(page)
        with_output = [c for c in nb.cells if c.cell_type == "code"
                       and any(WIDGET_MIME not in o.get("data", {}) for o in c.outputs)]
        figures = sum(1 for c in with_output for o in c.outputs if any(k.startswith("image/") for k in o.get("data", {})))
        assert page.count('class="cell_output') == len(with_output), f"{source}: outputs missing on the page"
        assert len(re.findall(r'<img [^>]*src="_images/', page)) >= figures, f"{source}: figures missing"
        for cell in with_output:
            for out in cell.outputs:
                lines = [line for line in (out.get("text") or "").splitlines() if len(line.strip()) > 3]
                if out.get("output_type") == "stream" and lines:
                    first = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", site_build.short_paths(lines[0])).split())
                    assert first in text, f"{source}: stream output {first!r} is not on the page"


def test_no_output_shows_a_path_of_the_machine_that_ran_it(site):
    """Issue 23: outputs name files from folders a reader knows (site-packages/…, the course, the data folder)."""
    machine = [str(ROOT), "/site-packages/", "/tmp/", os.environ.get("COURSE_DATA_DIR") or str(ROOT)]
    for lang, source in _lessons():
        text = _text(_page(site, source))
        found = [path for path in machine if path in text]
        assert not found, f"{source}: the page shows the machine's folder(s) {found}"


def _code_cell_lines(page_html: str) -> list[list[str]]:
    """The lines of each code cell's input on a built page, as a reader sees them (tags out, entities decoded)."""
    blocks = re.findall(r'<div class="cell_input[^"]*">\s*<div class="highlight-[^"]*">\s*<div class="highlight">'
                        r"\s*<pre>(.*?)</pre>", page_html, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", block)).splitlines() for block in blocks]


def test_code_cells_fit_the_page_width(site):
    """Issue 23: no code line wider than MAX_CODE_LINE columns, so no sideways scrolling at the theme's width."""
    for lang, source in _lessons():
        cells = _code_cell_lines(_page(site, source))
        code_cells = [c for c in _executed(source).cells if c.cell_type == "code"]
        assert len(cells) == len(code_cells), f"{source}: {len(cells)} code cells on its page, {len(code_cells)} in it"
        long = [f"code cell {n}: {line!r} ({display_width(line)} columns)" for n, lines in enumerate(cells)
                for line in lines if display_width(line) > MAX_CODE_LINE]
        assert not long, f"{source}: code lines wider than {MAX_CODE_LINE} columns on its page:\n" + "\n".join(long)


def test_each_page_says_how_its_outputs_were_made(site):
    for lang, source in _lessons():
        run = _executed(source).metadata[runinfo.KEY]
        info = re.search(r'<p class="course-run-info[^"]*">(.*?)</p>', _page(site, source), re.S)
        assert info, f"{source}: no run line"
        line = html.unescape(info.group(1))
        word = {("en", "smoke"): "smoke mode", ("en", "full"): "full mode",
                ("ko", "smoke"): "스모크 모드", ("ko", "full"): "전체 모드"}[(lang, run["mode"])]
        assert word in line and run["date"] in line, line


def test_each_lessons_questions_are_on_its_page(site, bank):
    shown_somewhere = set()
    for lang, source in _lessons():
        page = _page(site, source)
        targets = [t for c in nbformat.read(source, as_version=4).cells if c.cell_type == "code"
                   for t in quiz_html.quiz_targets(c.source)]
        if source.stem in bank.lessons:
            assert source.stem in targets or "chapter" in targets, f"{source} does not show its own quiz"
        for question in (q for t in targets for q in bank.select(t)):
            block = re.search(rf'<div class="course-quiz-question[^"]*" id="{quiz_html.html_id(question.id)}".*?</div>\s*'
                              rf'(?=<div class="course-quiz-question|<p class="course-quiz-score)', page, re.S)
            assert block, f"{source}: question {question.id} is not on the page"
            block = block.group(0)
            if not quiz_html.supported(question):
                assert "course-quiz-note" in block
                continue
            kind = "checkbox" if question.multiple else "radio"
            assert len(re.findall(rf'<input type="{kind}"', block)) == len(question.choices), question.id
            assert _squash(question.prompt[lang]) in _squash(_text(block)), f"{source}: prompt of {question.id}"
            key = json.loads(re.search(r'class="course-quiz-key">(.*?)</script>', block, re.S).group(1).replace("<\\/", "</"))
            assert key["correct"] == question.correct_letters
            shown_somewhere.add(question.id)
    choice_questions = {q.id for q in bank.questions.values() if quiz_html.supported(q)}
    assert choice_questions <= shown_somewhere, f"never on the site: {sorted(choice_questions - shown_somewhere)}"


def test_only_the_practice_bank_reaches_the_site(site, bank):
    ids = set()
    for page in site.rglob("*.html"):
        ids.update(re.findall(r'class="course-quiz-question[^"]*" id="[^"]+" data-qid="([^"]+)"', page.read_text("utf-8")))
    assert ids and ids <= set(bank.questions), sorted(ids - set(bank.questions))
    from course_utils.quiz import export_exam, load_bank

    exam_file = export_exam("02_trainer_api", ROOT / "build" / "site-test" / "exam.yaml")
    with pytest.raises(ValueError, match="exam file"):
        quiz_html.render("02_trainer_api", "en", load_bank(exam_file))


@pytest.mark.parametrize("lang", LANGS)
def test_a_kind_the_site_does_not_know_gets_a_visible_note(bank, lang):
    known = bank.questions[SINGLE[1]]
    numeric = types.SimpleNamespace(id="evaluation.numeric_demo", kind="numeric", prompt=known.prompt, choices=(),
                                    multiple=False, code=None)
    stub = types.SimpleNamespace(keyless=False, select=lambda target: [known, numeric], title=bank.title)
    markup = quiz_html.render("02_trainer_api", lang, stub)
    note = re.search(r'<p class="course-quiz-note" role="note">(.*?)</p>', markup).group(1)
    assert "numeric" in note and 'quiz.show("evaluation.numeric_demo")' in html.unescape(note)
    assert markup.count('class="course-quiz-submit"') == 1  # the known question stays answerable


def test_readme_lesson_table_links_to_the_site(site):
    """Each lesson row of README's table links to its two pages at the Pages URL of [project.urls] Repository."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    base = site_build.pages_url()
    rows = [line for line in readme.splitlines() if re.match(r"\| \d+ \| \[", line)]
    assert rows, "README.md has no lesson table"
    for row in rows:
        stem = re.search(r"notebooks/en/(\d\d_\w+)\.ipynb", row).group(1)
        for lang in LANGS:
            assert f"({base}{lang}/{stem}.html)" in row, f"README row of {stem} lacks its {lang} site link"
    for url in re.findall(re.escape(base) + r"[^)\s*]*", readme):
        page = url[len(base):] or "index.html"
        assert (site / page).is_file(), f"README links to {url}, which `make site` does not build"


@pytest.mark.parametrize("lang", LANGS)
def test_the_home_page_lists_the_lessons_from_the_lessons_themselves(site, lang):
    """Title, one line, time and first figure of each lesson, read back from the lesson, not from a copy."""
    page = (site / lang / "index.html").read_text(encoding="utf-8")
    table = re.search(r'<table[^>]*course-home-lessons.*?</table>', page, re.S)
    assert table, f"{lang}/index.html has no lesson table"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(0), re.S)[1:]
    sources = site_build.lessons(lang)
    assert len(rows) == len(sources)
    for row, source in zip(rows, sources):
        executed, text = _executed(source), _squash(_text(row))
        title = home.short_title(site_build.lesson_title(executed))
        assert title and _squash(title) in text, f"{source}: title {title!r} not in its row"
        assert f'href="{source.stem}.html"' in row, f"{source}: its row does not link to its page"
        summary = home.summary(executed, lang)
        assert summary and _squash(_md_text(summary)) in text, f"{source}: one line {summary!r} not in its row"
        time_line = next((line for c in executed.cells if c.cell_type == "markdown" for line in c.source.splitlines()
                          if line.startswith(("**How long it takes:**", "**걸리는 시간:**"))), None)
        assert time_line, f"{source} has no \"How long it takes\" line for the home page"
        time = home.lesson_time(executed, lang)
        assert time and _squash(time) in text, f"{source}: time {time!r} not in its row"
        assert all(n in time_line for n in re.findall(r"\d+", time)), f"{source}: {time!r} is not its own line's"
        figure = home.first_figure(executed)
        img = re.search(r"<img [^>]*>", row)
        if figure is None:
            assert img is None, f"{source} draws no figure, yet its row shows one"
        else:
            assert img, f"{source}: its first figure is not in its row"
            assert re.search(r'\balt="[^"]+"', img.group(0)), f"{source}: its figure has no alt text"
            labelled = _squash(home.HOME[lang]["smoke_figure"]) in text
            smoke = executed.metadata[runinfo.KEY]["mode"] == "smoke"
            assert labelled == smoke, f"{source}: a {'smoke' if smoke else 'full'}-mode figure, labelled {labelled}"
            src = re.search(r'\bsrc="(_images/[^"]+)"', img.group(0)).group(1)
            assert (site / lang / src).read_bytes() == figure, f"{source}: the row's figure is not its first one"


@pytest.mark.parametrize("lang", LANGS)
def test_the_home_page_says_how_to_start(site, lang):
    owner, name = site_build.repository()
    page = (site / lang / "index.html").read_text(encoding="utf-8")
    first = site_build.lessons(lang)[0]
    other = "ko" if lang == "en" else "en"
    colab = f"https://colab.research.google.com/github/{owner}/{name}/blob/main/notebooks/{lang}/{first.name}"
    assert f'href="{colab}"' in page, "no Colab link to lesson 1"
    assert "make lab" in _text(page) and f"git clone https://github.com/{owner}/{name}" in _text(page)
    assert f'href="{first.stem}.html"' in page, "no link to read lesson 1 here"
    assert re.search(rf'<a [^>]*course-lang-switch[^>]*href="\.\./{other}/index\.html"', page), "no language switch"
    root = (site / "index.html").read_text(encoding="utf-8")
    for code in LANGS:
        assert re.search(rf'<a [^>]*href="{code}/index\.html"', root), f"the chooser does not link to {code}/"
        assert f'<section lang="{code}"' in root
        assert home.HOME[code]["title"] in html.unescape(root)


# --- in a real browser -------------------------------------------------------------------------------------
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(site):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    yield from launch_chromium(60)


class Visit:
    """A browser tab that records console errors, page errors, failed and off-site requests."""

    def __init__(self, browser, base: str, lang: str = "en"):
        self.base, self.problems = base, []
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000},
                                           locale="ko-KR" if lang == "ko" else "en-US")
        self.context.set_default_timeout(60_000)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))

    def _route(self, route):
        if route.request.url.startswith(self.base):
            route.continue_()
        else:  # the site must work offline: nothing may be fetched from elsewhere
            self.problems.append(f"off-site request: {route.request.url}")
            route.abort()

    def open(self, path: str):
        self.page.goto(self.base + path, wait_until="load")
        self.page.wait_for_load_state("networkidle")
        return self.page

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, served):
    opened = []

    def _visit(lang="en") -> Visit:
        opened.append(Visit(browser, served, lang))
        return opened[-1]

    yield _visit
    for v in opened:
        v.close()


def _anchors_of(path: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', path.read_text(encoding="utf-8")))


def _start_axe(page) -> None:
    """Start axe-core on the page as it is now; `_axe_result` waits for it. Started apart, so that a second tab
    loads its page while this one's renderer checks (the site test runs alone on the machine: 2 cores)."""
    page.add_script_tag(path=str(AXE))  # inline: no request
    page.evaluate("""tags => {
        const rules = axe.getRules(tags.concat(['experimental'])).filter(r => r.tags.some(t => tags.includes(t)));
        window.courseAxe = axe.run(document, {resultTypes: ['violations'],
                                              runOnly: {type: 'rule', values: rules.map(r => r.ruleId)}});
    }""", AXE_TAGS)


def _axe_result(page) -> list[dict]:
    """Serious and critical WCAG 2.0/2.1 A/AA violations of the run `_start_axe` started on the page."""
    result = page.evaluate("window.courseAxe")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


@needs_chromium
def test_every_page_loads_clean_accessible_with_working_links_and_images(site, served, visit):
    """Every page of both languages and the chooser: no console error, off-site request or broken image, and
    no serious or critical WCAG 2.1 A/AA violation axe-core finds (light mode, as a first visit shows it)."""
    assert AXE.is_file(), f"{AXE} is missing: run `make site-deps` (npm)"
    tabs = [visit(), visit()]  # two tabs in turn: one loads its page while the other's axe-core runs
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html") if "_static" not in p.parts)
    links: dict[str, str] = {}
    violations = []
    checking: list[tuple[str, object]] = []

    def collect(path, page):
        for v in _axe_result(page):
            targets = ", ".join(" ".join(n["target"]) for n in v["nodes"][:3])
            violations.append(f"{path}: {v['id']} ({v['impact']}, {len(v['nodes'])} elements: {targets}): {v['help']}")

    for n, path in enumerate(pages):
        tab = tabs[n % 2]
        if len(checking) == 2:  # this tab's previous page: its check must end before the tab moves on
            collect(*checking.pop(0))
        page = tab.open(path)
        broken = page.evaluate("Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
                               ".map(i => i.src)")
        assert not broken, f"{path}: broken images {broken}"
        for href in page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"):
            if href.startswith(served):
                links.setdefault(href, path)
        _start_axe(page)
        checking.append((path, page))
    while checking:
        collect(*checking.pop(0))
    assert not violations, "axe-core:\n" + "\n".join(violations)
    problems = [p for tab in tabs for p in tab.problems]
    assert not problems, "\n".join(problems)
    checked = 0
    for href, where in links.items():
        url, _, fragment = href.partition("#")
        rel = urllib.parse.unquote(url[len(served):]) or "index.html"
        target = site / rel
        if target.is_dir():
            target = target / "index.html"
        assert target.is_file(), f"{where}: broken link {href}"
        if fragment and target.suffix == ".html":
            assert urllib.parse.unquote(fragment) in _anchors_of(target), f"{where}: no #{fragment} in {rel}"
        checked += 1
    assert checked > 3 * len(pages)


@needs_chromium
def test_korean_is_drawn_with_a_cjk_font(site, visit):
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        pytest.skip("fc-list is absent (fontconfig): cannot name the Korean fonts of this machine")
    korean_fonts = set(subprocess.run([fc_list, ":lang=ko", "family"], capture_output=True, text=True).stdout.replace(",", "\n")
                       .split("\n")) - {""}
    assert korean_fonts, "no font with Korean glyphs is installed: apt-get install fonts-noto-cjk"
    tab = visit("ko")
    page = tab.open("ko/01_preprocessing.html")
    assert page.evaluate("document.documentElement.lang") == "ko"
    cdp = tab.context.new_cdp_session(page)
    root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    cdp.send("CSS.enable")
    for selector in ("article h1", "article p", ".course-quiz-static legend"):
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        assert node, selector
        used = {f["familyName"] for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]}
        assert used & korean_fonts, f"{selector} is drawn with {used}, none of which has Korean glyphs"


def _question(page, qid: str):
    return page.locator(f"#{quiz_html.html_id(qid)}")


def _open_question(visit, bank, lang: str, lesson_and_qid: tuple[str, str]):
    """(tab, page, the question, the page's words, its box) for one question on its lesson page."""
    tab = visit(lang)
    lesson, qid = lesson_and_qid
    page = tab.open(f"{lang}/{lesson}.html")
    return tab, page, bank.questions[qid], READS[lang], _question(page, qid)


@needs_chromium
@pytest.mark.parametrize("lang", LANGS)
def test_a_quiz_gives_feedback_on_a_click(site, bank, visit, lang):
    from playwright.sync_api import expect

    tab, page, question, reads, box = _open_question(visit, bank, lang, SINGLE)
    feedback = box.locator(".course-quiz-feedback")
    expect(box.get_by_role("radio")).to_have_count(len(question.choices))
    expect(feedback).to_have_text("")

    right = next(i for i, c in enumerate(question.choices) if c.correct)  # keys sit anywhere (balanced bank)
    wrong = next(i for i, c in enumerate(question.choices) if not c.correct)
    box.get_by_role("radio").nth(wrong).click()
    box.get_by_role("button", name=reads["submit"]).click()
    expect(feedback).to_contain_text(reads["wrong"])
    expect(feedback).to_contain_text(_plain(question.choices[wrong].explain[lang]))

    box.locator("label", has_text=_plain(question.choices[right].text[lang])).click()  # the right one, by its label
    box.get_by_role("button", name=reads["submit"]).click()
    expect(feedback).to_contain_text(reads["correct"])
    expect(feedback).to_contain_text(_plain(question.choices[right].explain[lang]))
    expect(feedback).not_to_contain_text(READS["ko" if lang == "en" else "en"]["correct"])
    expect(page.locator(".course-quiz-score")).to_contain_text(reads["score"])
    box.scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    box.screenshot(path=str(SHOTS / f"quiz_{lang}.png"))
    assert not tab.problems, "\n".join(tab.problems)


@needs_chromium
@pytest.mark.parametrize("lang", LANGS)
def test_a_quiz_works_from_the_keyboard(site, bank, visit, lang):
    """Several answers: Tab walks the check boxes, Space ticks; one answer: arrow keys move in the radio group."""
    from playwright.sync_api import expect

    tab, page, question, reads, box = _open_question(visit, bank, lang, SEVERAL)
    boxes = box.get_by_role("checkbox")
    boxes.first.focus()
    for i, choice in enumerate(question.choices):
        expect(boxes.nth(i)).to_be_focused()
        if choice.correct:
            page.keyboard.press("Space")
        page.keyboard.press("Tab")
    expect(box.get_by_role("button", name=reads["submit"])).to_be_focused()
    page.keyboard.press("Enter")
    expect(box.locator(".course-quiz-feedback")).to_contain_text(reads["correct"])

    radios = _question(page, "preprocessing.batched_map").get_by_role("radio")
    radios.first.focus()
    page.keyboard.press("ArrowDown")
    expect(radios.nth(1)).to_be_checked()
    expect(radios.nth(1)).to_be_focused()
    SHOTS.mkdir(parents=True, exist_ok=True)
    box.screenshot(path=str(SHOTS / f"quiz_keyboard_{lang}.png"))
    assert not tab.problems, "\n".join(tab.problems)


@needs_chromium
def test_the_language_switch_lands_on_the_twin(site, visit):
    """Every lesson page's switch links to its twin in the other language (read from the built HTML); in the
    browser, one click each way and on the home page lands there (a click per page costs ~2 s and shows no more)."""
    for lang, source in _lessons():
        other = "ko" if lang == "en" else "en"
        switches = re.findall(r'<a class="[^"]*\bcourse-lang-switch\b[^"]*"[^>]*\bhref="([^"]+)"', _page(site, source))
        assert switches, f"{lang}/{source.stem}.html has no language switch"
        for href in switches:
            target = (site / lang / urllib.parse.unquote(href.partition("#")[0])).resolve()
            assert target == (site / other / f"{source.stem}.html").resolve(), (lang, source.stem, href)
    tab = visit()
    for path, twin in (("en/02_trainer_api.html", "ko/02_trainer_api.html"),
                       ("ko/05_training_loop.html", "en/05_training_loop.html"), ("en/index.html", "ko/index.html")):
        page = tab.open(path)
        with page.expect_navigation():
            page.locator(".course-lang-switch").first.click()
        assert page.url.endswith("/" + twin), page.url
        assert page.evaluate("document.documentElement.lang") == twin.split("/")[0]
        if "index" not in twin:
            assert page.locator("article h1").count() == 1
    assert not tab.problems, "\n".join(tab.problems)


@needs_chromium
@pytest.mark.parametrize("lang", LANGS)
def test_screenshots_of_a_lesson_page(site, visit, lang):
    """build/site-shots/lesson_<lang>.png (top of lesson 3) and figure_<lang>.png (its first figure)."""
    tab = visit(lang)
    page = tab.open(f"{lang}/03_evaluation.html")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"lesson_{lang}.png"))
    figure = page.locator("article .cell_output img").first
    figure.scroll_into_view_if_needed()
    assert figure.evaluate("i => i.naturalWidth") > 0
    page.screenshot(path=str(SHOTS / f"figure_{lang}.png"))
    assert not tab.problems, "\n".join(tab.problems)


@needs_chromium
@pytest.mark.parametrize("lang, word, lesson", [("en", "DataCollatorWithPadding", "01_preprocessing"),
                                                ("ko", "토크나이저", "01_preprocessing")])
def test_search_finds_a_lesson(site, visit, lang, word, lesson):
    from playwright.sync_api import expect

    tab = visit(lang)
    page = tab.open(f"{lang}/search.html?q={urllib.parse.quote(word)}")
    expect(page.locator(f"#search-results a[href*='{lesson}']").first).to_be_visible()
    assert not tab.problems, "\n".join(tab.problems)


# --- maths, fonts, accessibility ------------------------------------------------------------------------------
@needs_chromium
def test_maths_is_rendered_by_the_sites_own_mathjax(site, visit):
    """Lesson 3's F1 formula ($$...$$ in its markdown) as MathJax output; MathJax and its fonts from _static."""
    from playwright.sync_api import expect

    for lang in LANGS:
        page = (site / lang / "03_evaluation.html").read_text(encoding="utf-8")
        scripts = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', page, re.I)
        assert scripts and all(src.startswith("_static/mathjax/") for src in scripts), scripts
    tab = visit()
    page = tab.open("en/03_evaluation.html")
    # MathJax's assistive MathML (read by screen readers) holds the formula as text: F_1 = 2 / (1/precision + ...)
    f1 = page.locator("div.math mjx-container[display='true']", has_text=re.compile(r"^F1=21/precision")).first
    expect(f1).to_be_visible()
    assert f1.evaluate("e => e.getBoundingClientRect().width") > 100  # drawn, not an empty box
    assert "\\frac" not in page.locator("article").inner_text(), "TeX source left on the page"
    page.wait_for_function("document.fonts.status === 'loaded'")
    mathjax_fonts = page.evaluate("[...document.fonts].filter(f => f.family.includes('MJX') && f.status === 'loaded')"
                                  ".map(f => f.family)")
    assert mathjax_fonts, "MathJax drew with no font of its own (its woff files did not load)"
    f1.scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    f1.screenshot(path=str(SHOTS / "maths_en.png"))
    assert not tab.problems, "\n".join(tab.problems)  # an off-site request (a CDN) or a missing file fails here


@needs_chromium
def test_the_emoji_in_headings_is_drawn_with_a_colour_emoji_font(site, visit):
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        pytest.skip("fc-list is absent (fontconfig): cannot name the emoji fonts of this machine")
    with_glyph = set(subprocess.run([fc_list, f":charset={ord(EMOJI):x}", "family"], capture_output=True, text=True)
                     .stdout.replace(",", "\n").split("\n")) - {""}
    assert with_glyph, f"no font has {EMOJI}: apt-get install fonts-noto-color-emoji (make system-packages)"
    tab = visit()
    page = tab.open("en/05_training_loop.html")
    assert EMOJI in page.locator("article h1").inner_text()
    cdp = tab.context.new_cdp_session(page)
    root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    cdp.send("CSS.enable")
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "article h1"})["nodeId"]
    used = {f["familyName"] for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]}
    assert used & with_glyph, f"the heading is drawn with {used}, none of which has {EMOJI}: it shows as a box"


@needs_chromium
def test_a_quiz_question_answered_with_the_keyboard_alone(site, bank, visit):
    """A link to a question, then Tab, the arrow keys (or Space), Tab, Enter: the verdict is announced."""
    from playwright.sync_api import expect

    lesson, qid = SINGLE
    question, reads = bank.questions[qid], READS["en"]
    tab = visit()
    page = tab.open(f"en/{lesson}.html#{quiz_html.html_id(qid)}")  # the fragment is where Tab starts from
    box = _question(page, qid)
    live = box.locator(".course-quiz-feedback")
    expect(live).to_have_attribute("aria-live", "polite")  # there, and empty, before anything is said in it
    expect(live).to_have_text("")
    radios = box.get_by_role("radio")
    page.keyboard.press("Tab")
    expect(radios.first).to_be_focused()
    right = next(i for i, c in enumerate(question.choices) if c.correct)
    if right == 0:
        page.keyboard.press("Space")
    for _ in range(right):
        page.keyboard.press("ArrowDown")  # moves to the next choice and picks it
    expect(radios.nth(right)).to_be_checked()
    page.keyboard.press("Tab")
    expect(box.get_by_role("button", name=reads["submit"])).to_be_focused()
    page.keyboard.press("Enter")
    expect(live).to_contain_text(reads["correct"])
    expect(page.locator(".course-quiz-score")).to_have_attribute("aria-live", "polite")
    expect(page.locator(".course-quiz-score")).to_contain_text(reads["score"])
    assert not tab.problems, "\n".join(tab.problems)


# --- full-mode pages (`make site-full`) ---------------------------------------------------------------------------
# What the pages say, written out here (not imported from the builder).
FULL_READS = {
    "en": {"full": "full mode", "smoke": "smoke mode", "took": "It took", "versions": "Versions: Python",
           "banner": "Numbers from a smoke run, not a full one.",
           "none": "has not been run in full mode yet", "changed": "code changed after its last full-mode run"},
    "ko": {"full": "전체 모드", "smoke": "스모크 모드", "took": "실행 시간:", "versions": "버전: Python",
           "banner": "전체 실행이 아닌 스모크 실행의 숫자입니다.",
           "none": "아직 전체 모드로 실행한 적이 없으므로", "changed": "뒤에 이 강의의 코드가 바뀌었으므로"},
}


def _run_info(page_html: str) -> tuple[str, str | None]:
    """(the run line, the smoke-fallback banner or None) of a page, as text."""
    line = re.search(r'<p class="course-run-info[^"]*">(.*?)</p>', page_html, re.S)
    banner = re.search(r'<p class="course-run-fallback" role="note">(.*?)</p>', page_html, re.S)
    assert line, "no run line"
    return _text(line.group(1)), (_text(banner.group(1)) if banner else None)


def test_full_mode_pages_and_smoke_fallbacks(site):
    """English lesson 07 from its full-mode run (run line: full mode, the executor, date, run time, versions); every
    other page from its smoke run, with the banner that says so, in both languages."""
    for lang, source in _lessons():
        reads = FULL_READS[lang]
        line, banner = _run_info(_page(site, source))
        if source.stem == FULL_LESSON and lang == FULL_LANG:
            run = nbformat.read(FULL_RUNS / lang / source.name, as_version=4).metadata[runinfo.KEY]
            assert run["mode"] == "full" and run["ok"] and run["seconds"] > 0 and run["versions"]["transformers"]
            assert reads["full"] in line and run["date"] in line and "make site-full" in line, line
            assert reads["took"] in line and reads["versions"] in line, line
            assert f"transformers {run['versions']['transformers']}" in line, line
            assert banner is None, f"{lang}/{source.stem}: a full-mode page with a smoke banner: {banner}"
        else:
            assert reads["smoke"] in line, f"{lang}/{source.stem}: {line}"
            assert banner and banner.startswith(reads["banner"]) and reads["none"] in banner, \
                f"{lang}/{source.stem}: no smoke-fallback banner ({banner})"


def test_a_full_run_of_older_code_is_not_used(site, tmp_path):
    """A full-mode copy whose code cells no longer match the lesson gives way to the smoke run, which says why."""
    for lang in (FULL_LANG,):
        source = ROOT / "notebooks" / lang / f"{FULL_LESSON}.ipynb"
        assert site_build.pick(source, LESSONS, FULL_RUNS).nb.metadata[runinfo.KEY]["mode"] == "full"
        older = nbformat.read(FULL_RUNS / lang / source.name, as_version=4)
        cell = [c for c in older.cells if c.cell_type == "code"][-1]
        cell.source += "\n# the lesson said more here before"
        (tmp_path / lang).mkdir()
        nbformat.write(older, tmp_path / lang / source.name)
        chosen = site_build.pick(source, LESSONS, tmp_path)
        assert chosen.nb.metadata[runinfo.KEY]["mode"] == "smoke", f"{lang}: the full run of older code was used"
        date = older.metadata[runinfo.KEY]["date"]
        assert chosen.fallback == {"why": "changed", "date": date}
        _, banner = _run_info(site_build.page_bar(source, lang, chosen.nb.metadata[runinfo.KEY], chosen.fallback))
        assert FULL_READS[lang]["changed"] in banner and date in banner, banner
    for lang in LANGS:  # the banner's words for that case in each language (one full run is made, in English)
        source = ROOT / "notebooks" / lang / f"{FULL_LESSON}.ipynb"
        smoke = site_build.pick(source, LESSONS).nb.metadata[runinfo.KEY]
        _, banner = _run_info(site_build.page_bar(source, lang, smoke, {"why": "changed", "date": "2026-11-30"}))
        assert FULL_READS[lang]["changed"] in banner and "2026-11-30" in banner, banner


@needs_chromium
@pytest.mark.parametrize("lang", LANGS)
def test_the_smoke_fallback_banner_is_seen(site, visit, lang):
    """A boxed note at the top of the page, not the muted run line (axe-core checks it with every page)."""
    tab = visit(lang)
    page = tab.open(f"{lang}/02_trainer_api.html")
    banner = page.locator(".course-run-fallback")
    assert banner.is_visible() and banner.bounding_box()["height"] > 20
    assert banner.evaluate("e => getComputedStyle(e).borderLeftWidth") == "6px"
    SHOTS.mkdir(parents=True, exist_ok=True)
    banner.screenshot(path=str(SHOTS / f"smoke_fallback_{lang}.png"))
    assert tab.open(f"{lang}/{FULL_LESSON}.html").locator(".course-run-fallback").count() == (lang != FULL_LANG)
    assert not tab.problems, "\n".join(tab.problems)
