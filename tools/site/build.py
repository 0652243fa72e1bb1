"""`make site`: the course website from the lessons already executed, into build/site/.

    python tools/site/build.py [--lessons build/lessons] [--full build/lessons-full] [--out build/site]

For each language (en, ko) and each lesson notebooks/<lang>/NN_slug.ipynb it takes an
executed copy whose code cells are the lesson's own (runinfo.code_digest): the full-mode
one in build/lessons-full/<lang>/ (`make site-full`, `make run`, the publish workflow's
weekly run) where it holds the lesson's current code and ran to the end, else the one in
build/lessons/<lang>/ (`make test` through nbval, or `COURSE_SMOKE=1 make run`); it
refuses a lesson with neither. A page from a smoke run on a site built with a full-mode
folder says in a banner that its numbers come from a smoke run and why (the lesson's
code changed since its last full run, that run failed, or there was none yet).
Each page has every output and figure, a bar with the language switch to the twin,
"Open in Colab" and "Download notebook", a line saying smoke or full mode with the
machine, date, run time and versions, and the lesson's quiz as static HTML
(tools/site/quiz_html.py) in place of the quiz widget. Sphinx + MyST-NB (sphinx-book-theme)
renders each language as its own site (own search index and UI language), with a home page made
from the lessons (tools/site/home.py); build/site/index.html lets the reader pick one.
Maths ($...$, $$...$$) is drawn by MathJax copied into each language's _static from
build/node-site (`make site-deps`): no page asks another site for anything.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tools import repository_url  # noqa: E402
from tools.site import home, quiz_html, runinfo  # noqa: E402

LANGS = ("en", "ko")
# npm packages of the site (mk/site.mk: `make site-deps`, pinned there): MathJax renders the lessons' maths.
SITE_NODE = ROOT / "build" / "node-site" / "node_modules"
MATHJAX = SITE_NODE / "mathjax" / "es5"
# What the pages load of MathJax: TeX input + HTML output with its fonts; the extensions TeX loads on
# demand (\require, autoload); the menu and accessibility parts it loads when a reader turns them on, with
# the speech rules of its explorer (English and Nemeth braille: it has no Korean ones).
MATHJAX_PARTS = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "a11y", "ui",
                 "sre/mathmaps/base.json", "sre/mathmaps/en.json", "sre/mathmaps/nemeth.json")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
DEFAULT_FULL = ROOT / "build" / "lessons-full"  # tools/run_lessons.py writes full-mode runs there
COLAB_BADGE = re.compile(r"^\s*\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)\s*\n?", re.MULTILINE)
# A file's folder on the machine that ran the lesson (transformers' load report names the model's): on the page
# from a folder a reader knows, so no output line runs off the page for a path and no machine's layout shows.
SITE_PACKAGES = re.compile(r"(?<![\w.-])/[^\s'\"]*/site-packages/")

TEXT = {
    "en": {
        "other": "한국어", "colab": "Open in Colab", "download": "Download notebook",
        "lesson": "Lesson",
        "smoke": "smoke mode (COURSE_SMOKE=1: small data, few steps; the numbers only show that the code runs)",
        "full": "full mode (all the data)",
        "run": "Outputs on this page: {mode}, executed by {runner} on {machine}, {date}.",
        "failed": " The run stopped with an error in code cell {cell}; later cells have no output.",
        "took": " It took {time}.", "seconds": "{n:.0f} s", "minutes": "{n:.1f} min", "versions": " Versions: {list}.",
        "machine": "{system}, {cpus} CPU cores, {gpu}{ci}", "no_gpu": "no GPU", "gpu": "GPU {name}",
        "fallback_label": "Numbers from a smoke run, not a full one.",
        "fallback": {
            "changed": "This lesson's code changed after its last full-mode run ({date}), so this page shows a "
                       "smoke run of the current code instead.",
            "failed": "The last full-mode run of this lesson's code ({date}) stopped with an error, so this page "
                      "shows a smoke run instead.",
            "none": "This lesson has not been run in full mode yet, so this page shows a smoke run.",
        },
        "fallback_end": " Its scores, losses and plots only show that the code runs, not what the lesson reaches "
                        "on all the data; the next full run replaces them.",
    },
    "ko": {
        "other": "English", "colab": "Colab에서 열기", "download": "노트북 내려받기",
        "lesson": "강의",
        "smoke": "스모크 모드(COURSE_SMOKE=1: 데이터와 스텝을 줄였으므로 숫자는 코드가 돌아간다는 것만 보여 줍니다)",
        "full": "전체 모드(데이터 전체 사용)",
        "run": "이 페이지의 출력: {mode}, {runner}로 {machine}에서 {date}에 실행했습니다.",
        "failed": " 실행이 코드 셀 {cell}에서 오류로 멈췄으므로 그 뒤 셀에는 출력이 없습니다.",
        "took": " 실행 시간: {time}.", "seconds": "{n:.0f}초", "minutes": "{n:.1f}분", "versions": " 버전: {list}.",
        "machine": "{system}, CPU 코어 {cpus}개, {gpu}{ci}", "no_gpu": "GPU 없음", "gpu": "GPU {name}",
        "fallback_label": "전체 실행이 아닌 스모크 실행의 숫자입니다.",
        "fallback": {
            "changed": "마지막 전체 모드 실행({date}) 뒤에 이 강의의 코드가 바뀌었으므로, 이 페이지는 바뀐 코드를 스모크 "
                       "모드로 실행한 결과를 보여 줍니다.",
            "failed": "이 강의 코드의 마지막 전체 모드 실행({date})이 오류로 멈췄으므로, 이 페이지는 스모크 모드로 "
                      "실행한 결과를 보여 줍니다.",
            "none": "이 강의는 아직 전체 모드로 실행한 적이 없으므로, 이 페이지는 스모크 모드로 실행한 결과를 보여 줍니다.",
        },
        "fallback_end": " 점수, 손실, 그래프는 코드가 돌아간다는 것만 보여 줄 뿐, 전체 데이터로 얻는 결과가 아닙니다. "
                        "다음 전체 실행이 이 출력을 바꿉니다.",
    },
}


class SiteError(Exception):
    """Something a maintainer can fix in one step (the message says how)."""


def repository() -> repository_url.Repository:
    """(owner, name) from [project.urls] Repository in pyproject.toml, with the URLs made from it."""
    try:
        return repository_url.read(ROOT)
    except repository_url.RepositoryUrlError as exc:
        raise SiteError(str(exc)) from None


def pages_url() -> str:
    return repository().pages


def lessons(lang: str) -> list[Path]:
    return sorted((ROOT / "notebooks" / lang).glob("[0-9][0-9]_*.ipynb"))


def lesson_title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+)$", cell.source, re.MULTILINE)
            if match:
                return match.group(1).strip()
    return "Lesson"


def executed_copy(source: Path, lessons_dir: Path):
    """The executed notebook for ``source``, checked to hold the lesson's current code."""
    path = lessons_dir / source.parent.name / source.name
    hint = "run `COURSE_SMOKE=1 make run` (a few minutes) or `make test`, then `make site`"
    if not path.is_file():
        raise SiteError(f"No executed copy of {source.relative_to(ROOT)} in {lessons_dir}: {hint}.")
    nb = nbformat.read(path, as_version=4)
    if runinfo.code_digest(nb) != runinfo.code_digest(nbformat.read(source, as_version=4)):
        raise SiteError(f"{path} was executed from older code than {source.relative_to(ROOT)}: {hint}.")
    if runinfo.KEY not in nb.metadata:
        raise SiteError(f"{path} does not say how it was run (no '{runinfo.KEY}' metadata): {hint}.")
    return nb


@dataclasses.dataclass
class Executed:
    """The executed copy a page is made from; ``fallback`` says why a smoke run stands in for a full one."""

    nb: nbformat.NotebookNode
    fallback: dict | None = None  # {"why": "changed" | "failed" | "none", "date": of the unused full run}


def pick(source: Path, lessons_dir: Path, full_dir: Path | None = None) -> Executed:
    """The last full-mode run of the lesson's current code in ``full_dir`` that ran to the end; else the
    executed copy in ``lessons_dir`` (smoke mode, from `make test`), with the reason. Without ``full_dir``
    the copy in ``lessons_dir`` as it is (the site `make test` checks)."""
    if full_dir is None:
        return Executed(executed_copy(source, lessons_dir))
    fallback = {"why": "none", "date": None}
    path = full_dir / source.parent.name / source.name
    if path.is_file():
        nb = nbformat.read(path, as_version=4)
        run = nb.metadata.get(runinfo.KEY, {})
        if run.get("mode") == "full":
            if runinfo.code_digest(nb) != runinfo.code_digest(nbformat.read(source, as_version=4)):
                fallback = {"why": "changed", "date": run.get("date")}
            elif not run.get("ok", True):
                fallback = {"why": "failed", "date": run.get("date")}
            else:
                return Executed(nb)
    nb = executed_copy(source, lessons_dir)
    run = nb.metadata[runinfo.KEY]
    if run.get("mode") == "full" and run.get("ok", True):
        return Executed(nb)  # a full run of this code kept in lessons_dir (`make test` keeps those)
    return Executed(nb, fallback)


def run_missing(lessons_dir: Path, full_dir: Path | None = None) -> None:
    """Execute, in smoke mode, every lesson without a current executed copy (a fresh clone: all of them)."""
    todo = []
    for lang in LANGS:
        for source in lessons(lang):
            try:
                pick(source, lessons_dir, full_dir)
            except SiteError:
                todo.append(str(source))
    if not todo:
        return
    if lessons_dir != ROOT / "build" / "lessons":
        raise SiteError(f"--run-missing writes to build/lessons only, not {lessons_dir}.")
    print(f"Executing {len(todo)} lesson(s) in smoke mode first (tools/run_lessons.py)", flush=True)
    env = dict(os.environ, COURSE_SMOKE="1", TQDM_DISABLE="1")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "run_lessons.py"), *todo], env=env)
    if done.returncode:
        raise SiteError("a lesson failed to execute (see above); fix it, then run `make site` again.")


def machine_text(machine, lang: str) -> str:
    if isinstance(machine, str):
        return machine
    t = TEXT[lang]
    gpu = t["gpu"].format(name=machine["gpu"]) if machine.get("gpu") else t["no_gpu"]
    ci = f" ({machine['ci']})" if machine.get("ci") else ""
    return t["machine"].format(system=machine["system"], cpus=machine["cpus"], gpu=gpu, ci=ci)


def run_line(run: dict, lang: str) -> str:
    t = TEXT[lang]
    line = t["run"].format(mode=t[run["mode"]], runner=run["runner"], machine=machine_text(run["machine"], lang),
                           date=run["date"])
    if run.get("seconds") is not None:
        seconds = run["seconds"]
        line += t["took"].format(time=t["seconds"].format(n=seconds) if seconds < 90 else
                                 t["minutes"].format(n=seconds / 60))
    versions = run.get("versions") or {}
    shown = [f"{name.capitalize() if name == 'python' else name} {versions[name]}"
             for name in ("python", "torch", "transformers", "datasets") if versions.get(name)]
    if shown:
        line += t["versions"].format(list=", ".join(shown))
    if not run.get("ok", True):
        line += t["failed"].format(cell=(run.get("failed_cell") or 0) + 1)
    return line


def fallback_note(fallback: dict, lang: str) -> str:
    """The banner of a page whose numbers come from a smoke run where a full one was wanted."""
    t = TEXT[lang]
    text = t["fallback"][fallback["why"]].format(date=fallback.get("date") or "?") + t["fallback_end"]
    return (f'<p class="course-run-fallback" role="note"><strong>{html.escape(t["fallback_label"])}</strong> '
            f'{html.escape(text)}</p>')


def raw_html(markup: str):
    return nbformat.v4.new_markdown_cell(f"```{{raw}} html\n{markup}\n```")


def page_bar(source: Path, lang: str, run: dict, fallback: dict | None = None) -> str:
    other = "ko" if lang == "en" else "en"
    colab = html.escape(repository().colab(f"notebooks/{lang}/{source.name}"))
    t = TEXT[lang]
    failed = "" if run.get("ok", True) else " course-run-failed"
    return (f'<nav class="course-page-bar" aria-label="{html.escape(t["lesson"])}">'
            f'<a class="course-button course-lang-switch" hreflang="{other}" lang="{other}" '
            f'href="../{other}/{source.stem}.html">{t["other"]}</a>'
            f'<a class="course-button course-colab" href="{colab}">{html.escape(t["colab"])}</a>'
            f'<a class="course-button course-download" href="notebooks/{source.name}" download>'
            f'{html.escape(t["download"])}</a></nav>'
            f'<p class="course-run-info{failed}">{html.escape(run_line(run, lang))}</p>'
            + (fallback_note(fallback, lang) if fallback else ""))


def short_paths(text: str) -> str:
    """``text`` with the machine's folders as a reader knows them: ``site-packages/…``, the course's own files
    relative to the course, the data folder by its name (``COURSE_DATA_DIR``)."""
    text = SITE_PACKAGES.sub("site-packages/", text)
    data = os.environ.get("COURSE_DATA_DIR", "").rstrip("/")
    if data:
        text = text.replace(data + "/", Path(data).name + "/").replace(data, Path(data).name)
    return text.replace(str(ROOT) + "/", "")


def _shortened(output):
    if isinstance(output.get("text"), str):
        output["text"] = short_paths(output["text"])
    for mime in ("text/plain", "text/html"):
        if isinstance(output.get("data", {}).get(mime), str):
            output["data"][mime] = short_paths(output["data"][mime])
    return output


def site_notebook(source: Path, executed, lang: str, bank, fallback: dict | None = None):
    """The executed lesson as the site shows it."""
    nb = copy.deepcopy(executed)
    run = nb.metadata[runinfo.KEY]
    cells = [raw_html(page_bar(source, lang, run, fallback))]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = COLAB_BADGE.sub("", cell.source, count=1)  # an external image; the bar has the button
        if cell.cell_type == "code":
            cell.outputs = [_shortened(out) for out in cell.outputs if WIDGET_MIME not in out.get("data", {})]
        cells.append(cell)
        if cell.cell_type == "code":
            for target in quiz_html.quiz_targets(cell.source):
                cells.append(raw_html(quiz_html.render(target, lang, bank)))
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    return nb


def stage_mathjax(dest: Path) -> Path:
    """A folder holding mathjax/ (the parts the pages load) for Sphinx's html_static_path."""
    if not (MATHJAX / "tex-chtml.js").is_file():
        raise SiteError(f"MathJax is not installed in {SITE_NODE.parent}: run `make site-deps` (npm).")
    for part in MATHJAX_PARTS:
        source, target = MATHJAX / part, dest / "mathjax" / part
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target)
    return dest


def build(lessons_dir: Path, out: Path, quiet: bool = True, full_dir: Path | None = None) -> Path:
    """The site from the executed lessons: full-mode copies from ``full_dir`` where current, else smoke ones."""
    from course_utils.quiz import load_bank

    bank = load_bank()
    src_root = out.parent / (out.name + "-src")
    shutil.rmtree(src_root, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    repo = repository()
    mathjax = stage_mathjax(src_root / "_mathjax")
    for lang in LANGS:
        src = src_root / lang
        src.mkdir(parents=True)
        rows = []
        for source in lessons(lang):
            chosen = pick(source, lessons_dir, full_dir)
            nb = site_notebook(source, chosen.nb, lang, bank, chosen.fallback)
            nbformat.write(nb, src / source.name)
            rows.append(home.lesson(source, chosen.nb, lesson_title(nb), lang))
        if not rows:
            raise SiteError(f"No lessons in notebooks/{lang}/.")
        (src / "index.md").write_text(home.page(lang, rows, src, repo), encoding="utf-8")
        env = dict(os.environ, COURSE_SITE_TITLE=home.HOME[lang]["title"],
                   COURSE_SITE_REPOSITORY=repo.url, COURSE_SITE_MATHJAX=str(mathjax))
        cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(Path(__file__).parent), "-D", f"language={lang}",
               "-W", "--keep-going", str(src), str(out / lang)] + (["-q"] if quiet else [])
        done = subprocess.run(cmd, env=env)
        if done.returncode:
            raise SiteError(f"sphinx-build failed for {lang} (messages above); the sources are in {src}.")
        for macros in (out / lang / "_static").glob("*webpack-macros.html"):
            macros.unlink()  # the theme's Jinja macro sources, copied with its static files: not pages
        for page in (out / lang).glob("*.html"):  # row headers (conf.py, _row_headers) say what they head
            text = page.read_text(encoding="utf-8")
            if '<th class="stub">' in text:
                page.write_text(text.replace('<th class="stub">', '<th class="stub" scope="row">'), encoding="utf-8")
        downloads = out / lang / "notebooks"
        downloads.mkdir(parents=True, exist_ok=True)
        for row in rows:
            shutil.copy2(row.source, downloads / row.source.name)  # the lesson as committed (no outputs)
    shutil.rmtree(out / "jupyter_execute", ignore_errors=True)  # MyST-NB's working copies, not part of the site
    (out / "index.html").write_text(home.chooser(), encoding="utf-8")
    (out / ".nojekyll").write_text("")  # GitHub Pages: serve _static/ and _images/ as they are
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", type=Path, default=ROOT / "build" / "lessons")
    parser.add_argument("--full", type=Path, default=None,
                        help="full-mode executed lessons, preferred where current (default: build/lessons-full "
                             "if it is there)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    parser.add_argument("--run-missing", action="store_true",
                        help="execute (smoke mode) lessons that have no current executed copy first")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    try:
        full = args.full or DEFAULT_FULL
        if not full.is_dir():
            if args.full is not None:
                raise SiteError(f"--full {args.full} is not a folder: run `make site-full` (or give another folder).")
            full = None
        else:
            full = full.resolve()
        if args.run_missing:
            run_missing(args.lessons.resolve(), full)
        out = build(args.lessons.resolve(), args.out.resolve(), quiet=not args.verbose, full_dir=full)
    except SiteError as exc:
        print(f"make site: {exc}", file=sys.stderr)
        return 1
    print(f"Website: {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
