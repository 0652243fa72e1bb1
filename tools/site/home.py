"""The site's home pages: one per language (what the course teaches and for whom, the lessons, three ways to
start, the language switch) and the language chooser at the site's root.

One source of truth: each lesson row comes from the lesson itself, never from a copy kept here.
- title: the lesson's first heading, without its "Lesson N —" / "N강 —" prefix;
- one line: ``metadata.course.summary`` of the lesson notebook where it is set, else the first sentence of the
  first paragraph under the title;
- time: the lesson's "**How long it takes:**" / "**걸리는 시간:**" line, its full-mode time on a 2-core CPU
  and the seconds it measured (none where the lesson calls its time an estimate);
- figure: the first figure the executed lesson drew (none where it draws none).
"""
from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tools.site import runinfo

if TYPE_CHECKING:
    from tools.repository_url import Repository

TIME_LINE = {"en": re.compile(r"\*\*How long it takes:\*\*\s*(?P<phrase>[^(]+?)\s+in full mode[^(]*"
                              r"\((?P<paren>[^)]*)\)"),
             "ko": re.compile(r"\*\*걸리는 시간:\*\*[^(]*?전체 모드로\s+(?P<phrase>[^(]+?)\s*\((?P<paren>[^)]*)\)")}
SECONDS = {"en": re.compile(r"\b(\d[\d,]*) s\b"), "ko": re.compile(r"(\d[\d,]*)초")}
# Not a lesson's prose: a heading, quote, list item, table row, image, badge or a bold label alone.
NOT_PROSE = re.compile(r"#|>|[-*+] |\d+\. |\||!\[|\[!\[|\*\*[^*]+\*\*$")
KO_GLOSS = re.compile(r"\((?=[A-Za-z])[A-Za-z ,'-]+\)")
TITLE_PREFIX = re.compile(r"^(?:Lesson\s+\d+|\d+\s*강)\s*[—–-]\s*")

HOME = {
    "en": {
        "title": "Fine-tuning a pretrained model with the Trainer API",
        "lead": "A hands-on course in eight Jupyter lessons: you fine-tune a pretrained transformer with the "
                "Hugging Face `Trainer`, measure what it learned, and use the model you trained.",
        "for_whom": "**For whom.** You know a little Python and PyTorch and want to fine-tune a pretrained model on "
                    "your own data. Every lesson runs top to bottom on a laptop CPU in minutes, offline if need be "
                    "(a small real checkpoint, all-MiniLM-L6-v2), and on a GPU with the canonical "
                    "`bert-base-uncased`, on GLUE MRPC (is one sentence a paraphrase of the other?).",
        "teaches": "**What you learn.** Tokenize sentence pairs and pad batches dynamically; fine-tune with "
                   "`TrainingArguments` and `Trainer`; evaluate with accuracy and F1 and a `compute_metrics` "
                   "function; train faster or with less memory (mixed precision, gradient accumulation, "
                   "learning-rate schedules); write the same training loop in plain PyTorch and with 🤗 Accelerate; "
                   "read learning curves and stop early; save, reload and share your model. Each lesson ends "
                   "with exercises that check themselves and a quiz.",
        "start": "Three ways to start",
        "colab_label": "Open lesson 1 in Colab",
        "colab": "**In Colab**, in your browser, with a GPU if you ask for one; the lesson's first cell installs "
                 "the course, and every page of this site has an \"Open in Colab\" button too. {button}",
        "local": "**On your computer**, with Python 3.11 or newer and `make`: `make lab` sets up the course in "
                 "`.venv` on first use, then opens the lessons in JupyterLab (`notebooks/en/`).",
        "language": "Language",
        "read": "**Here**, without running anything: every page shows its lesson as it ran, with its outputs and "
                "figures, and its quiz, which you can answer on the page. Start with {first}.",
        "lessons": "Lessons",
        "cols": ("Lesson", "What it is about", "Time on a 2-core CPU (full mode)", "Figure"),
        "measured": "{phrase} ({seconds} measured)",
        "figure_alt": "The first figure of lesson {n}, {title}",
        "smoke_figure": "smoke run: a few steps on a few examples, to show the code runs, not real results",
        "repo": "The notebooks, their quizzes and the instructor's grading set are in the repository {repo}.",
        "switch": "한국어",
    },
    "ko": {
        "title": "Trainer API로 사전 학습된 모델 미세 조정하기",
        "lead": "주피터 노트북 8개로 이루어진 실습 강좌입니다. Hugging Face `Trainer`로 사전 학습된 트랜스포머 모델을 "
                "미세 조정하고, 모델이 무엇을 배웠는지 측정하고, 직접 훈련한 모델을 사용해 봅니다.",
        "for_whom": "**누구를 위한 강좌인가요?** Python과 PyTorch를 조금 알고, 사전 학습된 모델을 내 데이터에 맞게 "
                    "미세 조정하고 싶은 분을 위한 강좌입니다. 모든 강의는 노트북 컴퓨터의 CPU에서 몇 분 만에 처음부터 끝까지 실행되고, "
                    "필요하면 오프라인에서도 돌아갑니다(작지만 실제로 쓰이는 체크포인트 all-MiniLM-L6-v2). GPU에서는 "
                    "표준 체크포인트인 `bert-base-uncased`로 실행합니다. 데이터셋은 GLUE MRPC(두 문장이 같은 뜻인지 "
                    "가리는 작업)입니다.",
        "teaches": "**배우는 내용.** 문장 쌍을 토큰화하고 동적 패딩으로 배치를 만듭니다. `TrainingArguments`와 "
                   "`Trainer`로 미세 조정합니다. 정확도와 F1, `compute_metrics` 함수로 평가합니다. 혼합 정밀도 훈련, "
                   "그레이디언트 누적, 학습률 스케줄링으로 훈련을 더 빠르고 가볍게 만듭니다. 같은 훈련 루프를 순수 "
                   "PyTorch와 🤗 Accelerate로 직접 작성합니다. 학습 곡선을 읽고 조기 종료합니다. 모델을 저장하고, "
                   "다시 불러오고, 공유합니다. 강의마다 스스로 채점되는 연습 문제와 퀴즈가 있습니다.",
        "start": "시작하는 세 가지 방법",
        "colab_label": "Colab에서 1강 열기",
        "colab": "**Colab에서**는 브라우저만 있으면 되고, 원하면 GPU도 쓸 수 있습니다. 강의의 첫 셀이 강좌 패키지를 "
                 "설치하며, 이 사이트의 모든 페이지에도 \"Colab에서 열기\" 버튼이 있습니다. {button}",
        "local": "**내 컴퓨터에서**는 Python 3.11 이상과 `make`가 필요합니다. `make lab`을 실행하면 처음 한 번 "
                 "`.venv`에 강좌 환경을 설치한 뒤 JupyterLab에서 강의를 엽니다(한국어 강의는 `notebooks/ko/`에 "
                 "있습니다).",
        "language": "언어",
        "read": "**이 사이트에서**는 아무것도 실행하지 않고 읽을 수 있습니다. 페이지마다 강의를 실행한 그대로의 출력과 "
                "그림이 있고, 퀴즈도 페이지에서 바로 풀 수 있습니다. {first}부터 시작하세요.",
        "lessons": "강의 목록",
        "cols": ("강의", "다루는 내용", "2코어 CPU에서 걸리는 시간(전체 모드)", "그림"),
        "measured": "{phrase}({seconds} 측정)",
        "figure_alt": "{n}강 {title}의 첫 번째 그림",
        "smoke_figure": "스모크 실행: 코드가 돌아가는지만 보려고 적은 예제로 몇 스텝만 훈련한 그림이며, 실제 결과가 아닙니다",
        "repo": "노트북과 퀴즈, 강사용 채점 자료는 저장소 {repo}에 있습니다.",
        "switch": "English",
    },
}


@dataclass
class Lesson:
    source: Path
    number: int
    title: str
    summary: str
    time: str
    figure: bytes | None
    smoke: bool = False  # the figure comes from a smoke run (said under it: its numbers are not results)


def short_title(title: str) -> str:
    return TITLE_PREFIX.sub("", title, count=1).strip()


def _first_cell_text(nb) -> str:
    return next((c.source for c in nb.cells if c.cell_type == "markdown" and re.search(r"^#\s", c.source, re.M)), "")


def summary(nb, lang: str) -> str:
    """``metadata.course.summary``, else the first sentence of the first paragraph under the title."""
    given = nb.metadata.get("course", {}).get("summary")
    if given:
        return " ".join(str(given).split())
    text = _first_cell_text(nb)
    after_title = re.split(r"^#\s.*$", text, maxsplit=1, flags=re.M)[-1]
    for paragraph in re.split(r"\n\s*\n", after_title):
        paragraph = " ".join(paragraph.split())
        if paragraph and not NOT_PROSE.match(paragraph):
            sentence = re.match(r"(.+?[.!?])(?:\s|$)", paragraph)
            sentence = (sentence.group(1) if sentence else paragraph).strip()
            if lang == "ko":  # the English glosses of the lesson's first use: the table is no place for them
                sentence = KO_GLOSS.sub("", sentence)
            return sentence
    return ""


def lesson_time(nb, lang: str) -> str:
    """'about 7½ min (442 s measured)' from the lesson's own "How long it takes" line; '' where it has none."""
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    match = TIME_LINE[lang].search(text)
    if not match:
        return ""
    phrase = match.group("phrase").strip().rstrip(".")
    if lang == "ko":
        phrase = re.sub(r"이 안 됩니다$", " 미만", phrase)
        phrase = re.sub(r"(입니다|걸립니다)$", "", phrase).strip()
    first_clause = re.split(r"[,;:]", match.group("paren"))[0]
    unit = " s" if lang == "en" else "초"
    seconds = [f"{n}{unit}" for n in SECONDS[lang].findall(first_clause)]
    if not seconds:  # the lesson gives an estimate, not a measurement
        return phrase
    return HOME[lang]["measured"].format(phrase=phrase, seconds=", ".join(seconds))


def first_figure(executed) -> bytes | None:
    for cell in executed.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            png = out.get("data", {}).get("image/png")
            if png:
                return base64.b64decode(png if isinstance(png, str) else "".join(png))
    return None


def lesson(source: Path, executed, title: str, lang: str) -> Lesson:
    return Lesson(source=source, number=int(source.stem[:2]), title=short_title(title), summary=summary(executed, lang),
                  time=lesson_time(executed, lang), figure=first_figure(executed),
                  smoke=executed.metadata.get(runinfo.KEY, {}).get("mode") == "smoke")


def _cell(text: str) -> str:
    """Markdown text safe in one table cell."""
    return " ".join(text.replace("|", "\\|").split())


def page(lang: str, rows: list[Lesson], src: Path, repo: Repository) -> str:
    """index.md of one language; writes the figures it shows into ``src``/_home/."""
    h, other = HOME[lang], "ko" if lang == "en" else "en"
    first = rows[0].source
    colab = repo.colab(f"notebooks/{lang}/{first.name}")
    button = (f'<a class="course-button course-colab" href="{html.escape(colab)}">'
              f'{html.escape(h["colab_label"])}</a>')
    figures = src / "_home"
    figures.mkdir(exist_ok=True)
    lines = []
    for row in rows:
        figure = ""
        if row.figure:
            (figures / f"{row.source.stem}.png").write_bytes(row.figure)
            alt = h["figure_alt"].format(n=row.number, title=row.title).replace("[", "(").replace("]", ")")
            figure = f"![{_cell(alt)}](_home/{row.source.stem}.png)"
            if row.smoke:
                figure += f" *{_cell(h['smoke_figure'])}*"
        lines.append(f"| {row.number}. [{_cell(row.title)}]({row.source.stem}.ipynb) | {_cell(row.summary)} | "
                     f"{_cell(row.time)} | {figure} |")
    cols = h["cols"]
    table = (f"| {' | '.join(cols)} |\n| --- | --- | --- | --- |\n" + "\n".join(lines))
    toc = "\n".join(row.source.stem for row in rows)
    first_link = f"[{_cell(rows[0].title)}]({first.stem}.ipynb)"
    return (f"# {h['title']}\n\n"
            f"```{{raw}} html\n<nav class=\"course-page-bar\" aria-label=\"{html.escape(h['language'])}\">"
            f"<a class=\"course-button course-lang-switch\" hreflang=\"{other}\" lang=\"{other}\" "
            f"href=\"../{other}/index.html\">{h['switch']}</a></nav>\n```\n\n"
            f"{h['lead']}\n\n{h['for_whom']}\n\n{h['teaches']}\n\n"
            f"## {h['start']}\n\n"
            f"1. {h['colab'].format(button=button)}\n"
            f"2. {h['local']}\n\n"
            f"   ```bash\n   git clone {repo.url}\n   cd {repo.name}\n   make lab\n   ```\n\n"
            f"3. {h['read'].format(first=first_link)}\n\n"
            f"## {h['lessons']}\n\n"
            f"```{{table}}\n:class: course-home-lessons\n\n{table}\n```\n\n"
            f"{h['repo'].format(repo=f'[{repo.slug}]({repo.url})')}\n\n"
            f"```{{toctree}}\n:hidden:\n:maxdepth: 1\n\n{toc}\n```\n")


CHOOSER = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{en_title} / {ko_title}</title><link rel="icon" href="en/_static/favicon.svg" type="image/svg+xml">
<style>
body {{ font-family: system-ui, "Noto Sans CJK KR", sans-serif; max-width: 46rem; margin: 3rem auto; padding: 0 1rem;
  line-height: 1.55; color: #1f2328; background: #fff; }}
main {{ display: grid; gap: 1.5rem; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); }}
section {{ border: 1px solid #d0d7de; border-radius: 8px; padding: 1rem 1.2rem; }}
h1 {{ font-size: 1.6rem; margin: 0 0 0.6rem; }}
section h2 {{ font-size: 1.2rem; margin: 0 0 0.5rem; }}
a.choose {{ display: inline-block; margin-top: 0.6rem; padding: 0.45rem 1rem; border-radius: 6px; background: #0b5cad;
  color: #fff; text-decoration: none; font-weight: 600; }}
a.choose:hover, a.choose:focus-visible {{ background: #084a8c; outline: 3px solid #1a73e8; outline-offset: 2px; }}
:lang(ko) {{ word-break: keep-all; }}
</style></head>
<body>
<header><h1>{en_title} <span lang="ko">· {ko_title}</span></h1></header>
<main>
<section lang="en" aria-labelledby="choose-en"><h2 id="choose-en">English</h2><p>{en_lead}</p>
<a class="choose" href="en/index.html" hreflang="en">Read the course in English</a></section>
<section lang="ko" aria-labelledby="choose-ko"><h2 id="choose-ko">한국어</h2><p>{ko_lead}</p>
<a class="choose" href="ko/index.html" hreflang="ko">한국어로 강좌 읽기</a></section>
</main>
</body></html>
"""


def _plain(markdown: str) -> str:
    return html.escape(re.sub(r"`([^`]*)`", r"\1", markdown))


def chooser() -> str:
    return CHOOSER.format(en_title=html.escape(HOME["en"]["title"]), ko_title=html.escape(HOME["ko"]["title"]),
                          en_lead=_plain(HOME["en"]["lead"]), ko_lead=_plain(HOME["ko"]["lead"]))
