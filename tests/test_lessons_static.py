"""What every lesson must be, checked without running it (nbval runs them)."""
from __future__ import annotations

import ast
import importlib.util
import json
import re
import unicodedata
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
EN = sorted((ROOT / "notebooks" / "en").glob("*.ipynb"))
ALL = EN + sorted((ROOT / "notebooks" / "ko").glob("*.ipynb"))
# Renamed or removed upstream: keyword -> the call that no longer takes it.
STALE_KEYWORDS = {"Trainer": {"tokenizer"}, "TrainingArguments": {"evaluation_strategy", "warmup_ratio",
                                                                   "group_by_length"}}
# Point 3 of the foundation issue: the canonical API each of lessons 1-4 shows.
CANONICAL_API = {
    "01_preprocessing": ["load_dataset(", "AutoTokenizer", ".map(", "batched=True", "DataCollatorWithPadding"],
    "02_trainer_api": ["TrainingArguments(", "AutoModelForSequenceClassification", "processing_class=tokenizer",
                       ".train()"],
    "03_evaluation": [".predict(", "np.argmax", "evaluate.load(", "def compute_metrics", 'eval_strategy="epoch"'],
    "04_advanced_training": ["fp16", "gradient_accumulation_steps", "lr_scheduler_type"],
}


def _load_sync_tool():
    spec = importlib.util.spec_from_file_location("sync_code_cells", ROOT / "tools" / "sync_code_cells.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sync_tool = _load_sync_tool()  # `make sync` and this test agree on what "the same code" means


def cells(path: Path, kind: str | None = None) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if kind is None or c["cell_type"] == kind]


def test_there_are_lessons():
    assert [p.stem for p in EN][:4] == list(CANONICAL_API)


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_stored_without_outputs_with_python3_kernel(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert nb["metadata"].get("course", {}).get("language") == path.parent.name
    assert "widgets" not in nb["metadata"]
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def _code_files():
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if any(part.startswith(".") or part in ("build", "node_modules") for part in rel.parts):
            continue
        if path.suffix == ".py" and rel.parts[0] != "tests":
            yield rel, [path.read_text(encoding="utf-8")]
        elif path.suffix == ".ipynb":
            yield rel, cells(path, "code")


def stale_names(source: str) -> list[str]:
    """Stale Hugging Face API uses in one piece of Python (notebook magics allowed)."""
    from IPython.core.inputtransformer2 import TransformerManager

    found = []
    for node in ast.walk(ast.parse(TransformerManager().transform_cell(source))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("transformers"):
            found += [f"from {node.module} import AdamW" for a in node.names if a.name == "AdamW"]
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name == "load_metric":
                found.append(f"{name}(...)")
            found += [f"{name}({k.arg}=...)" for k in node.keywords if k.arg in STALE_KEYWORDS.get(name, ())]
    return found


def test_stale_name_detector_catches_each_old_name():
    old = ("from trans" "formers import AdamW\nTrain" "er(model, tokenizer=tok)\n" + "load_" + "metric('glue')\n"
           "TrainingArguments('x', evaluation" "_strategy='epoch', warmup_ratio=0.1, group_by_length=True)")
    assert len(stale_names(old)) == 6
    assert stale_names("Train" "er(m, data_collator=DataCollatorWithPadding(tokenizer=t), processing_class=t)") == []


def test_no_stale_hugging_face_names_in_code():
    hits = [f"{rel}: {name}" for rel, sources in _code_files() for src in sources for name in stale_names(src)]
    assert not hits, "renamed or removed upstream: " + "; ".join(hits)


@pytest.mark.parametrize("lesson, needles", CANONICAL_API.items())
def test_lessons_show_the_canonical_api(lesson, needles):
    code = "\n".join(cells(ROOT / "notebooks" / "en" / f"{lesson}.ipynb", "code"))
    missing = [n for n in needles if n not in code]
    assert not missing, f"{lesson} lacks {missing}"


@pytest.mark.parametrize("path", EN, ids=lambda p: p.name)
def test_lesson_shape_setup_first_summary_and_quiz_last(path):
    code = cells(path, "code")
    assert "cu.setup()" in code[1], "the second code cell is the set-up cell"
    assert "quiz.show(" in code[-1] or "quiz.summary()" in code[-1], "a lesson ends with its quiz"
    if path.stem != "07_chapter_quiz":  # the quiz notebook is all summary
        assert re.search(r"^#+ .*\bSummary\b", "\n".join(cells(path, "markdown")), re.M), "a '## Summary' heading"


@pytest.mark.parametrize("en", EN, ids=lambda p: p.name)
def test_korean_twin_has_identical_code_cells(en):
    ko = en.parent.parent / "ko" / en.name
    assert ko.exists(), f"{ko.relative_to(ROOT)} is missing: every English lesson needs a Korean twin"
    en_code = [sync_tool.code_without_comments(c) for c in cells(en, "code")]
    ko_code = [sync_tool.code_without_comments(c) for c in cells(ko, "code")]
    assert len(ko_code) == len(en_code), f"{len(ko_code)} Korean code cells, {len(en_code)} English: run `make sync`"
    differ = [i for i, (e, k) in enumerate(zip(en_code, ko_code)) if e != k]
    assert not differ, f"code cells {differ} differ from English (comments aside): run `make sync`"
    prose = "\n".join(cells(ko, "markdown"))
    for pattern in (r"```.*?```", r"`[^`]*`", r"https?://\S+", r"\([^)]*\)"):  # code first, then parentheses
        prose = re.sub(pattern, "", prose, flags=re.S)
    hangul = sum("\uac00" <= ch <= "\ud7a3" for ch in prose)
    latin = sum(ch.isascii() and ch.isalpha() for ch in prose)
    assert hangul > latin, "the Korean lesson's prose should be mostly Korean"


def test_twin_comparison_ignores_comments_only():
    en = 'x = "a # b"  # keep the string\n# a note\nprint(x)\n'
    ko = '# 메모 한 줄\n# 또 한 줄\nx = "a # b"  # 문자열은 그대로\nprint(x)'
    same = sync_tool.code_without_comments
    assert same(en) == same(ko) == 'x = "a # b"\nprint(x)'
    assert same(en) != same(en.replace('"a # b"', '"a # c"')), "a change inside a string is a code change"
    assert same(en) != same(en.replace("print(x)", "print(x, x)"))


def test_sync_keeps_korean_comments_where_the_code_did_not_change():
    ko = "# 데이터를 읽습니다\nx = load()  # 한 번만\nprint(x)\n"
    en_new = "# Read the data\nx = load()  # only once\nprint(x[:3])  # a few\n"
    merged, english = sync_tool._merge(en_new, ko)
    assert merged == "# 데이터를 읽습니다\nx = load()  # 한 번만\nprint(x[:3])  # a few"
    assert english, "the new English comment is reported for translation"
    assert sync_tool.code_without_comments(merged) == sync_tool.code_without_comments(en_new)


# Issue 10, section 4: lessons end with 3-5 exercises, at least one with a self-check cell, before the summary.
# Lessons are named by number (whatever their slug). Those listed as required fail without exercises; the
# others are checked as soon as they have an exercises section, and skipped (not failed) until then.
EXERCISE_LESSONS = ("01", "02", "03", "04", "05", "06", "08")
EXERCISES_REQUIRED = {"01", "02", "03", "04", "05", "06", "08"}
EXERCISE_HEADING = {"en": "Exercises", "ko": "연습 문제"}
SUMMARY_HEADING = {"en": "Summary", "ko": "요약"}
SELF_CHECK = re.compile(r"^(?!\s*def ).*\bcheck_\w+\(", re.M)  # a call of a check_...() function, run in the notebook


def _heading_index(nb_cells, title: str) -> int | None:
    pattern = re.compile(rf"^##\s+{re.escape(title)}\b", re.M)
    return next((i for i, c in enumerate(nb_cells) if c["cell_type"] == "markdown"
                 and pattern.search("".join(c["source"]))), None)


def _exercise_cases():
    for lang in ("en", "ko"):
        for path in sorted((ROOT / "notebooks" / lang).glob("*.ipynb")):
            number = path.stem.split("_")[0]
            if number in EXERCISE_LESSONS:
                yield pytest.param(path, number in EXERCISES_REQUIRED, id=f"{lang}/{path.stem}")


def test_every_required_lesson_is_there():
    present = {p.stem.split("_")[0] for p in EN}
    assert EXERCISES_REQUIRED <= present, f"required lessons missing: {sorted(EXERCISES_REQUIRED - present)}"


@pytest.mark.parametrize("path, required", list(_exercise_cases()))
def test_lesson_ends_with_exercises_and_a_self_check(path, required):
    lang = path.parent.name
    nb_cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    start = _heading_index(nb_cells, EXERCISE_HEADING[lang])
    if start is None:
        if required:
            pytest.fail(f"no '## {EXERCISE_HEADING[lang]}' section")
        pytest.skip(f"{path.stem}: no exercises yet (not required)")
    # The summary heading may share a cell with other text; it must come after the exercises.
    summary = _heading_index(nb_cells[start + 1:], SUMMARY_HEADING[lang])
    assert summary is not None, f"the '## {SUMMARY_HEADING[lang]}' follows the exercises"
    section = nb_cells[start:start + 1 + summary]
    prose = "\n".join("".join(c["source"]) for c in section if c["cell_type"] == "markdown")
    count = len(re.findall(r"^(?:\*\*)?\d+\.\s", prose, re.M))
    assert 3 <= count <= 5, f"{count} numbered exercises; the lesson should have 3 to 5"
    checks = [c for c in section if c["cell_type"] == "code" and SELF_CHECK.search("".join(c["source"]))]
    assert checks, "at least one self-check cell (a call of a check_...() function) in the exercises section"


ANSWER_SUMMARY = {"en": "<details><summary>Answer</summary>", "ko": "<details><summary>풀이</summary>"}


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_self_check_is_followed_by_a_folded_answer(path):
    """Issue 22: a self-learner can compare with a worked answer after running the check, for every exercise."""
    nb_cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for i, cell in enumerate(nb_cells):
        if cell["cell_type"] == "code" and SELF_CHECK.search("".join(cell["source"])):
            after = next((c for c in nb_cells[i + 1:] if c["cell_type"] == "markdown"), None)
            text = "".join(after["source"]) if after else ""
            assert text.startswith(ANSWER_SUMMARY[path.parent.name]) and "</details>" in text, (
                f"{cell.get('id')}: the markdown cell after a self-check is its folded answer")


# Issue 23: no sideways scrolling on the site at the theme's default width. 88 is ruff's and black's default,
# counted in the columns a monospace font gives the line, as a terminal does: East Asian wide and fullwidth
# characters (Hangul, CJK, most emoji) take two columns, so a Korean comment counts double.
MAX_CODE_LINE = 88
_MARKDOWN = MarkdownIt("commonmark")  # the parser MyST builds the site's pages with


def display_width(line: str) -> int:
    """The columns `line` takes in a monospace font: 2 for each wide or fullwidth character, 1 for any other."""
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in line)


def code_lines(cell: dict) -> list[str]:
    """The lines a page shows as code: a code cell's, and those of the code blocks in a markdown cell.

    The folded exercise answers are such blocks. A fence whose info string starts with "{" is a MyST directive,
    not code, and is left out.
    """
    source = "".join(cell["source"])
    if cell["cell_type"] == "code":
        return source.splitlines()
    if cell["cell_type"] != "markdown":
        return []
    return [line for token in _MARKDOWN.parse(source)
            if token.type == "code_block" or (token.type == "fence" and not token.info.startswith("{"))
            for line in token.content.splitlines()]


def long_code_lines(nb_cells: list[dict]) -> list[str]:
    """'cell N: the line (its width)' for each code line wider than MAX_CODE_LINE columns."""
    return [f"cell {i}: {line!r} ({display_width(line)} columns)" for i, cell in enumerate(nb_cells)
            for line in code_lines(cell) if display_width(line) > MAX_CODE_LINE]


def test_display_width_counts_wide_characters_twice():
    assert display_width("x = 1") == 5
    assert display_width("# 한국어") == 8  # "# " and three Hangul syllables
    assert display_width("ＡＢ") == 4  # fullwidth Latin letters
    assert display_width("é…—") == 3  # East Asian "ambiguous" characters count one


def test_long_code_lines_finds_a_line_one_column_too_long():
    fits, too_long = "x = " + "1" * (MAX_CODE_LINE - 4), "x = " + "1" * (MAX_CODE_LINE - 3)
    nb_cells = [{"cell_type": "markdown", "source": too_long}, {"cell_type": "code", "source": [fits + "\n", "y = 2"]},
                {"cell_type": "code", "source": "y = 2\n" + too_long}]
    assert long_code_lines(nb_cells) == [f"cell 2: {too_long!r} ({MAX_CODE_LINE + 1} columns)"]


def test_long_code_lines_counts_korean_characters_as_two_columns():
    # 40 Hangul syllables after "x = 1  # ": 49 characters, 9 + 80 = 89 columns.
    fits, too_long = "x = 1  # " + "가" * 39 + "a", "x = 1  # " + "가" * 40
    assert len(too_long) <= MAX_CODE_LINE < display_width(too_long) == MAX_CODE_LINE + 1
    nb_cells = [{"cell_type": "code", "source": fits}, {"cell_type": "code", "source": too_long}]
    assert long_code_lines(nb_cells) == [f"cell 1: {too_long!r} ({MAX_CODE_LINE + 1} columns)"]


def test_long_code_lines_checks_code_blocks_in_markdown_cells():
    fits, too_long = "# " + "가" * 43, "# " + "가" * 43 + "x"
    answer = ("<details><summary>Answer</summary>\n\nProse is not code: " + "word " * 30 + "\n\n"
              f"```python\n{fits}\n{too_long}\n```\n\n`{too_long}` inline is not a block.\n\n</details>")
    nb_cells = [{"cell_type": "markdown", "source": answer},
                {"cell_type": "markdown", "source": f"- a list item:\n\n  ~~~\n  {too_long}\n  ~~~\n"},
                {"cell_type": "markdown", "source": f"```{{note}}\n{too_long}\n```\n"},
                {"cell_type": "raw", "source": too_long}]
    assert long_code_lines(nb_cells) == [f"cell {i}: {too_long!r} ({MAX_CODE_LINE + 1} columns)" for i in (0, 1)]


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_code_lines_fit_the_page(path):
    long = long_code_lines(json.loads(path.read_text(encoding="utf-8"))["cells"])
    assert not long, (f"{path.relative_to(ROOT)}: code lines wider than {MAX_CODE_LINE} columns (a Korean character "
                      "takes two); wrap them. Code cells: fix the English lesson and run `make sync` (then shorten "
                      "any long Korean comment); code blocks in markdown: fix both languages:\n" + "\n".join(long))
