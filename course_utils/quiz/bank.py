"""The question bank: YAML files in ``quizzes/`` (schema: quizzes/README.md).

Every lesson ends with ``quiz.show("NN_slug")``; this module finds the bank
(inside the installed package, or the repository's ``quizzes/`` folder in an
editable install), validates it and selects questions. Any problem names the
file and the question id, so an author can fix it in one step.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import CourseError
from .claims import validate_claim

LANGS = ("en", "ko")
LETTERS = "abcdefghij"
EXAM_KIND = "exam"

_FILE_KEYS = {"title", "questions", "kind"}
_QUESTION_KEYS = {"id", "lesson", "prompt", "code", "choices", "claims", "multiple"}
_CHOICE_KEYS = {"text", "correct", "explain"}
_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


@dataclass(frozen=True)
class Choice:
    letter: str
    text: dict
    correct: bool | None = None  # None in a keyless (exam) file
    explain: dict | None = None


@dataclass(frozen=True)
class Question:
    id: str
    lesson: str
    prompt: dict
    choices: tuple
    multiple: bool
    code: str | None = None
    claims: tuple = ()

    @property
    def letters(self) -> list[str]:
        return [c.letter for c in self.choices]

    @property
    def keyless(self) -> bool:
        return any(c.correct is None for c in self.choices)

    @property
    def correct_letters(self) -> list[str]:
        if self.keyless:
            raise CourseError(f"Question {self.id!r} comes from an exam file without answer key; score it with the full bank.")
        return [c.letter for c in self.choices if c.correct]


@dataclass
class Bank:
    questions: dict = field(default_factory=dict)  # id -> Question, in file order
    lessons: dict = field(default_factory=dict)  # lesson -> [ids]
    titles: dict = field(default_factory=dict)  # lesson -> {lang: title}
    source: Path | None = None

    @property
    def keyless(self) -> bool:
        return any(q.keyless for q in self.questions.values())

    def select(self, target) -> list[Question]:
        """Questions for "chapter", a lesson ("02_trainer_api"), a question id, or a list of ids."""
        if isinstance(target, (list, tuple)):
            return [q for t in target for q in self.select(t)]
        if target == "chapter":
            return list(self.questions.values())
        if target in self.lessons:
            return [self.questions[i] for i in self.lessons[target]]
        if target in self.questions:
            return [self.questions[target]]
        raise CourseError(
            f"No quiz or question {target!r} in {self.source}: use 'chapter', a lesson "
            f"({', '.join(self.lessons)}) or a question id such as {next(iter(self.questions), 'lesson.topic')!r}."
        )

    def title(self, target, lang: str) -> str:
        if isinstance(target, str) and target in self.questions:
            target = self.questions[target].lesson  # one question: its lesson's title
        titles = self.titles.get(target) if isinstance(target, str) else None
        if titles is None and len(self.titles) == 1 and target not in ("chapter",):
            titles = next(iter(self.titles.values()))  # a single file (exam or instructor bank)
        if titles:
            return titles.get(lang) or titles["en"]
        return {"en": "Chapter quiz", "ko": "단원 마무리 퀴즈"}[lang] if target == "chapter" else {"en": "Quiz", "ko": "퀴즈"}[lang]


def default_bank_dir() -> Path:
    """The bank shipped in the package (wheel), else the repository's quizzes/ (editable install)."""
    package_copy = Path(__file__).resolve().parent.parent / "quizzes"
    if package_copy.is_dir() and any(package_copy.glob("*.yaml")):
        return package_copy
    repo_copy = Path(__file__).resolve().parents[2] / "quizzes"
    if repo_copy.is_dir() and any(repo_copy.glob("*.yaml")):
        return repo_copy
    raise CourseError("The quiz bank is missing from this installation: reinstall the course package (pip install -e .).")


_cache: dict = {}


def load_bank(path=None) -> Bank:
    """Load and validate a bank: a folder of NN_slug.yaml files, or one file (instructor or exam file)."""
    root = Path(path) if path is not None else default_bank_dir()
    if not root.exists():
        raise CourseError(f"Quiz file or folder {root} does not exist: check the path.")
    files = sorted(root.glob("*.yaml")) if root.is_dir() else [root]
    if not files:
        raise CourseError(f"No .yaml quiz files in {root}.")
    key = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    if key in _cache:
        return _cache[key]
    bank = Bank(source=root)
    errors: list[str] = []
    where: dict[str, str] = {}
    for f in files:
        _load_file(f, bank, errors, where)
    if errors:
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise CourseError(errors[0] + more + ("\n" + "\n".join(errors[1:]) if len(errors) > 1 else ""))
    _cache[key] = bank
    return bank


def _load_file(f: Path, bank: Bank, errors: list, where: dict) -> None:
    try:
        data = yaml.safe_load(f.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        why = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        errors.append(f"{f.name}: not valid YAML{line} ({why}); fix the syntax (quote text that contains ': ').")
        return
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        errors.append(f"{f.name}: expected a mapping with a 'questions' list (schema: quizzes/README.md).")
        return
    for k in set(data) - _FILE_KEYS:
        errors.append(f"{f.name}: unknown key {k!r}; allowed: {', '.join(sorted(_FILE_KEYS))}.")
    exam = data.get("kind") == EXAM_KIND
    lesson = f.stem
    if data.get("title") is not None:
        _check_text(data["title"], f"{f.name}: title", errors)
        bank.titles[lesson] = data.get("title") or {}
    for n, raw in enumerate(data["questions"], 1):
        q = _question(raw, f, n, lesson, exam, errors)
        if q is None:
            continue
        if q.id in bank.questions:
            errors.append(f"{f.name}, question {q.id!r}: duplicate id (also in {where[q.id]}); ids must be unique.")
            continue
        where[q.id] = f.name
        bank.questions[q.id] = q
        bank.lessons.setdefault(q.lesson, []).append(q.id)


def _check_text(value, label: str, errors: list) -> bool:
    if not isinstance(value, dict):
        errors.append(f"{label}: needs an English and a Korean text ({{en: ..., ko: ...}}).")
        return False
    ok = True
    for lang in LANGS:
        if not isinstance(value.get(lang), str) or not value[lang].strip():
            errors.append(f"{label}: missing {'English' if lang == 'en' else 'Korean'} text ({lang}).")
            ok = False
    for k in set(value) - set(LANGS):
        errors.append(f"{label}: unknown language key {k!r}; use en and ko.")
        ok = False
    return ok


def _question(raw, f: Path, n: int, lesson: str, exam: bool, errors: list) -> Question | None:
    if not isinstance(raw, dict):
        errors.append(f"{f.name}, question #{n}: expected a mapping with id, prompt, choices.")
        return None
    qid = raw.get("id")
    if not isinstance(qid, str) or not _ID.match(qid):
        errors.append(f"{f.name}, question #{n}: id {qid!r} must look like 'lesson.topic' (lower case, dots).")
        return None
    at = f"{f.name}, question {qid!r}"
    before = len(errors)
    for k in set(raw) - _QUESTION_KEYS:
        errors.append(f"{at}: unknown key {k!r}; allowed: {', '.join(sorted(_QUESTION_KEYS))}.")
    _check_text(raw.get("prompt"), f"{at}: prompt", errors)
    for k in ("code", "lesson"):
        if raw.get(k) is not None and not isinstance(raw[k], str):
            errors.append(f"{at}: {k!r} must be text.")
    raw_choices = raw.get("choices")
    if not isinstance(raw_choices, list) or not 2 <= len(raw_choices) <= len(LETTERS):
        errors.append(f"{at}: needs a list of 2 to {len(LETTERS)} choices.")
        return None
    choices = []
    for i, c in enumerate(raw_choices):
        letter = LETTERS[i]
        cat = f"{at}, choice {letter}"
        if not isinstance(c, dict):
            errors.append(f"{cat}: expected a mapping with text, correct, explain.")
            continue
        for k in set(c) - _CHOICE_KEYS:
            errors.append(f"{cat}: unknown key {k!r}; allowed: {', '.join(sorted(_CHOICE_KEYS))}.")
        _check_text(c.get("text"), f"{cat}: text", errors)
        if exam:
            if "correct" in c or "explain" in c:
                errors.append(f"{cat}: an exam file must not contain 'correct' or 'explain'.")
            choices.append(Choice(letter, c.get("text")))
            continue
        if not isinstance(c.get("correct", False), bool):
            errors.append(f"{cat}: 'correct' must be true or false.")
        _check_text(c.get("explain"), f"{cat}: explain (why this choice is right or wrong)", errors)
        choices.append(Choice(letter, c.get("text"), bool(c.get("correct", False)), c.get("explain")))
    for lang in LANGS:
        seen = {}
        for ch in choices:
            t = ch.text.get(lang) if isinstance(ch.text, dict) else None
            if isinstance(t, str):
                norm = " ".join(t.lower().split())
                if norm in seen:
                    errors.append(f"{at}: choices {seen[norm]} and {ch.letter} have the same {lang} text.")
                seen.setdefault(norm, ch.letter)
    if exam:
        if not isinstance(raw.get("multiple"), bool):
            errors.append(f"{at}: an exam file must say 'multiple: true' or 'multiple: false'.")
        multiple = bool(raw.get("multiple"))
    else:
        n_correct = sum(1 for ch in choices if ch.correct)
        if n_correct == 0:
            errors.append(f"{at}: no correct choice; mark at least one with 'correct: true'.")
        # 'multiple: true' may ask for check boxes even with one correct choice (hides how many are right).
        if raw.get("multiple") is False and n_correct > 1:
            errors.append(f"{at}: 'multiple: false' but {n_correct} choices are correct.")
        elif "multiple" in raw and not isinstance(raw["multiple"], bool):
            errors.append(f"{at}: 'multiple' must be true or false.")
        multiple = n_correct > 1 or raw.get("multiple") is True
    claims = raw.get("claims") or []
    if not isinstance(claims, list):
        errors.append(f"{at}: 'claims' must be a list.")
        claims = []
    for c in claims:
        problem = validate_claim(c)
        if problem:
            errors.append(f"{at}: claim {c!r}: {problem}")
    if len(errors) > before:
        return None
    # An exported exam file keeps each question's lesson; elsewhere the file name is the lesson.
    return Question(qid, raw.get("lesson") or lesson, raw["prompt"], tuple(choices), multiple, raw.get("code"), tuple(claims))
