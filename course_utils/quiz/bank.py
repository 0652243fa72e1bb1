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

NUMBER = "number"
CHOICE = "choice"
# Balance rule (issue 11): over single-answer questions, no position holds more than 40 % of the keys and
# the key is not the strictly longest choice in more than half, in English or in Korean (each counted on its
# own); checked from this many questions on. The shipped bank keeps to a stricter share in its tests
# (issue 22: at most one question in seven, tests/test_quiz_bank.py), and no length rank of the key (longest,
# second-longest, ...) holds more than 40 % of its keys (issue 26: the third-longest choice was the key in 13 of 28).
MAX_POSITION_SHARE = 0.40
MAX_LONGEST_SHARE = 0.50
BALANCE_MIN_QUESTIONS = 8

_FILE_KEYS = {"title", "questions", "kind", "variants"}
_QUESTION_KEYS = {"id", "lesson", "prompt", "code", "choices", "claims", "multiple", "shuffle", "kind",
                  "answer", "facts", "params", "explain"}
_CHOICE_KEYS = {"text", "correct", "explain", "id"}
_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
CHOICE_ID = re.compile(r"^[a-z0-9_]{1,24}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


CHAPTER_QUIZ_LESSON = 7


def _after_chapter_quiz(lesson: str) -> bool:
    """A lesson numbered after the chapter quiz ("08_use_your_model"); other names (an exam file) count as before."""
    number = lesson[:2]
    return number.isdigit() and int(number) > CHAPTER_QUIZ_LESSON


@dataclass(frozen=True)
class Choice:
    letter: str  # position in the bank file (a, b, ...); learners see their own shuffled letters
    text: dict
    correct: bool | None = None  # None in a keyless (exam) file
    explain: dict | None = None
    id: str = ""  # identity stored in responses: the 'id' key, else the bank-file letter

    def __post_init__(self):
        if not self.id:
            object.__setattr__(self, "id", self.letter)


@dataclass(frozen=True)
class Question:
    id: str
    lesson: str
    prompt: dict
    choices: tuple
    multiple: bool
    code: str | None = None
    claims: tuple = ()
    kind: str = CHOICE
    shuffle: bool = True  # False pins the choice order (choices that refer to each other)
    answer: dict | None = None  # number questions: {formula, tolerance | relative}; None when keyless
    facts: dict = field(default_factory=dict)  # constants of the formula, verified by claims
    params: dict = field(default_factory=dict)  # name -> [values]: practice uses the first, exam variants draw
    explain: dict | None = None  # number questions: how to work it out (practice feedback)

    @property
    def numeric(self) -> bool:
        return self.kind == NUMBER

    @property
    def letters(self) -> list[str]:
        return [c.letter for c in self.choices]

    @property
    def choice_ids(self) -> list[str]:
        return [c.id for c in self.choices]

    @property
    def keyless(self) -> bool:
        if self.numeric:
            return self.answer is None
        return any(c.correct is None for c in self.choices)

    def _need_key(self) -> None:
        if self.keyless:
            raise CourseError(f"Question {self.id!r} comes from an exam file without answer key; score it with the full bank.")

    @property
    def correct_letters(self) -> list[str]:
        """Bank-file letters of the key (what the bank file says; learners see shuffled letters)."""
        self._need_key()
        return [c.letter for c in self.choices if c.correct]

    @property
    def correct_ids(self) -> list[str]:
        self._need_key()
        return sorted(c.id for c in self.choices if c.correct)

    def default_params(self) -> dict:
        return {name: values[0] for name, values in self.params.items()}

    def key_value(self, params: dict | None = None) -> float:
        """The number that answers this question for these parameters (default: the first of each)."""
        self._need_key()
        from .numeric import evaluate

        values = {**self.facts, **self.default_params(), **(params or {})}
        return evaluate(self.answer["formula"], values)

    def accepts(self, value: float, params: dict | None = None) -> bool:
        from .numeric import within

        return within(value, self.key_value(params), self.answer)


@dataclass
class Bank:
    questions: dict = field(default_factory=dict)  # id -> Question, in file order
    lessons: dict = field(default_factory=dict)  # lesson -> [ids]
    titles: dict = field(default_factory=dict)  # lesson -> {lang: title}
    source: Path | None = None
    variants: list = field(default_factory=list)  # exam files: [{"questions": [{id, choices, params}]}]

    @property
    def keyless(self) -> bool:
        return any(q.keyless for q in self.questions.values())

    def select(self, target) -> list[Question]:
        """Questions for "chapter", a lesson ("02_trainer_api"), a question id, or a list of ids."""
        if isinstance(target, (list, tuple)):
            return [q for t in target for q in self.select(t)]
        if target == "chapter":  # the chapter quiz, lesson 07, covers the lessons before it: lesson 08 comes after
            return [q for q in self.questions.values() if not _after_chapter_quiz(q.lesson)]
        if target in self.lessons:
            return [self.questions[i] for i in self.lessons[target]]
        if target in self.questions:
            return [self.questions[target]]
        from .. import messages

        raise CourseError(messages.text("quiz_no_target", target=target, lessons=", ".join(self.lessons),
                                        example=next(iter(self.questions), "lesson.topic")))

    def title(self, target, lang: str) -> str:
        if isinstance(target, str) and target in self.questions:
            target = self.questions[target].lesson  # one question: its lesson's title
        titles = self.titles.get(target) if isinstance(target, str) else None
        if titles is None and len(self.titles) == 1 and target not in ("chapter",):
            titles = next(iter(self.titles.values()))  # a single file (exam or instructor bank)
        if titles:
            return titles.get(lang) or titles["en"]
        return {"en": "Chapter quiz", "ko": "단원 퀴즈"}[lang] if target == "chapter" else {"en": "Quiz", "ko": "퀴즈"}[lang]


def default_bank_dir() -> Path:
    """The bank shipped in the package (wheel), else the repository's quizzes/ (editable install)."""
    package_copy = Path(__file__).resolve().parent.parent / "quizzes"
    if package_copy.is_dir() and any(package_copy.glob("*.yaml")):
        return package_copy
    repo_copy = Path(__file__).resolve().parents[2] / "quizzes"
    if repo_copy.is_dir() and any(repo_copy.glob("*.yaml")):
        return repo_copy
    from .. import messages

    raise CourseError(messages.text("quiz_bank_missing"))


_cache: dict = {}


def load_bank(path=None) -> Bank:
    """Load and validate a bank: a folder of NN_slug.yaml files, or one file (instructor or exam file)."""
    from .. import messages

    root = Path(path) if path is not None else default_bank_dir()
    if not root.exists():
        raise CourseError(messages.text("quiz_path_missing", path=root))
    files = sorted(root.glob("*.yaml")) if root.is_dir() else [root]
    if not files:
        raise CourseError(messages.text("quiz_no_yaml", path=root))
    key = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    if key in _cache:
        return _cache[key]
    bank = Bank(source=root)
    errors: list[str] = []
    where: dict[str, str] = {}
    for f in files:
        _load_file(f, bank, errors, where)
    if not errors and not bank.keyless:
        errors += balance_problems(bank)
    if errors:
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise CourseError(errors[0] + more + ("\n" + "\n".join(errors[1:]) if len(errors) > 1 else ""))
    _cache[key] = bank
    return bank


def balance_stats(bank: Bank) -> dict:
    """Over single-answer choice questions: keys per bank-file position, the questions whose key is the
    strictly longest text (characters), per language ("longest_by_lang"; "longest" is the English list), and
    per language how many keys have each length rank ("length_ranks": rank 1 + the number of choices strictly
    longer than the key, so 1 is the longest, a tie counts as the higher rank)."""
    single = [q for q in bank.questions.values() if not q.numeric and not q.multiple and not q.keyless]
    positions: dict[str, int] = {}
    longest: dict[str, list] = {lang: [] for lang in LANGS}
    ranks: dict[str, dict] = {lang: {} for lang in LANGS}
    for q in single:
        key = next(c for c in q.choices if c.correct)
        positions[key.letter] = positions.get(key.letter, 0) + 1
        for lang in LANGS:
            others = [len(c.text[lang]) for c in q.choices if c is not key]
            if len(key.text[lang]) > max(others):
                longest[lang].append(q.id)
            rank = 1 + sum(n > len(key.text[lang]) for n in others)
            ranks[lang][rank] = ranks[lang].get(rank, 0) + 1
    return {"single": len(single), "positions": dict(sorted(positions.items())), "longest": longest["en"],
            "longest_by_lang": longest, "length_ranks": {lang: dict(sorted(r.items())) for lang, r in ranks.items()}}


def balance_problems(bank: Bank) -> list[str]:
    """Why a keyed bank gives its keys away (empty if it does not); small banks are not judged."""
    stats = balance_stats(bank)
    n = stats["single"]
    if n < BALANCE_MIN_QUESTIONS:
        return []
    problems = []
    for letter, count in stats["positions"].items():
        if count > MAX_POSITION_SHARE * n:
            problems.append(
                f"{bank.source}: the key is choice {letter} in {count} of {n} single-answer questions "
                f"(more than {MAX_POSITION_SHARE:.0%}); move some keys to other positions {stats['positions']}.")
    for lang, ids in stats["longest_by_lang"].items():
        if len(ids) > MAX_LONGEST_SHARE * n:
            problems.append(
                f"{bank.source}: the key is the longest choice ({lang} text) in {len(ids)} of {n} single-answer questions "
                f"(more than {MAX_LONGEST_SHARE:.0%}); lengthen wrong choices or shorten keys in: {', '.join(ids)}.")
    return problems


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
    if "variants" in data and not exam:
        errors.append(f"{f.name}: 'variants' belong to an exam file (kind: exam) only.")
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
    if exam and data.get("variants") is not None:
        bank.variants = _variants(data["variants"], bank, f, errors)


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
    kind = raw.get("kind", CHOICE)
    if kind not in (CHOICE, NUMBER):
        errors.append(f"{at}: kind {kind!r} is unknown; use 'choice' (default) or 'number'.")
        return None
    if not isinstance(raw.get("shuffle", True), bool):
        errors.append(f"{at}: 'shuffle' must be true or false.")
    claims = raw.get("claims") or []
    if not isinstance(claims, list):
        errors.append(f"{at}: 'claims' must be a list.")
        claims = []
    if exam and claims:
        errors.append(f"{at}: an exam file must not contain claims.")
    for c in claims:
        problem = validate_claim(c)
        if problem:
            errors.append(f"{at}: claim {c!r}: {problem}")
    if kind == NUMBER:
        return _number_question(raw, qid, at, lesson, exam, claims, errors, before)
    for k in ("answer", "facts", "params", "explain"):
        if k in raw:
            errors.append(f"{at}: {k!r} belongs to number questions (kind: number).")
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
        cid = c.get("id", letter)
        if not isinstance(cid, str) or not CHOICE_ID.match(cid):
            errors.append(f"{cat}: id {cid!r} must be short lower-case letters, digits or _.")
        if exam:
            if "correct" in c or "explain" in c:
                errors.append(f"{cat}: an exam file must not contain 'correct' or 'explain'.")
            choices.append(Choice(letter, c.get("text"), id=cid if isinstance(cid, str) else letter))
            continue
        if not isinstance(c.get("correct", False), bool):
            errors.append(f"{cat}: 'correct' must be true or false.")
        _check_text(c.get("explain"), f"{cat}: explain (why this choice is right or wrong)", errors)
        choices.append(Choice(letter, c.get("text"), bool(c.get("correct", False)), c.get("explain"),
                              cid if isinstance(cid, str) else letter))
    ids = [ch.id for ch in choices]
    if len(set(ids)) != len(ids):
        errors.append(f"{at}: two choices have the same id; ids must differ.")
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
    if len(errors) > before:
        return None
    # An exported exam file keeps each question's lesson; elsewhere the file name is the lesson.
    return Question(qid, raw.get("lesson") or lesson, raw["prompt"], tuple(choices), multiple, raw.get("code"),
                    tuple(claims), shuffle=raw.get("shuffle", True) is not False)


def _number_question(raw, qid, at, lesson, exam, claims, errors, before) -> Question | None:
    from .numeric import evaluate, placeholders

    if "choices" in raw or "multiple" in raw:
        errors.append(f"{at}: a number question has no choices and no 'multiple'.")
    facts = raw.get("facts") or {}
    params = raw.get("params") or {}
    if not isinstance(facts, dict) or not all(isinstance(k, str) and _NAME.match(k) and isinstance(v, (int, float))
                                              and not isinstance(v, bool) for k, v in facts.items()):
        errors.append(f"{at}: 'facts' maps names to numbers, e.g. {{n_train: 3668}}.")
        facts = {}
    if not isinstance(params, dict) or not all(
            isinstance(k, str) and _NAME.match(k) and isinstance(v, list) and v
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v) for k, v in params.items()):
        errors.append(f"{at}: 'params' maps names to non-empty lists of numbers, e.g. {{batch: [8, 16]}}.")
        params = {}
    if exam and facts:
        errors.append(f"{at}: an exam file must not contain 'facts'.")
    known = set(facts) | set(params)
    for lang in LANGS:
        text = (raw.get("prompt") or {}).get(lang)
        for name in placeholders(text if isinstance(text, str) else ""):
            if name not in known and not exam:
                errors.append(f"{at}: the {lang} prompt uses {{{name}}}, which is neither a fact nor a param.")
    answer = raw.get("answer")
    explain = raw.get("explain")
    if exam:
        if answer is not None or explain is not None:
            errors.append(f"{at}: an exam file must not contain 'answer' or 'explain'.")
        answer = None
    else:
        if not isinstance(answer, dict) or not isinstance(answer.get("formula"), str):
            errors.append(f"{at}: a number question needs answer: {{formula: ..., tolerance: ...}}.")
            return None
        for k in set(answer) - {"formula", "tolerance", "relative"}:
            errors.append(f"{at}: answer has unknown key {k!r}; use formula, tolerance, relative.")
        for k in ("tolerance", "relative"):
            v = answer.get(k, 0)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                errors.append(f"{at}: answer {k} must be a number >= 0.")
        _check_text(explain, f"{at}: explain (how to work the number out)", errors)
        import itertools

        names = list(params)
        for combo in itertools.product(*(params[n] for n in names)):
            try:
                evaluate(answer["formula"], {**facts, **dict(zip(names, combo))})
            except CourseError as exc:
                errors.append(f"{at}: answer formula: {exc}")
                break
    if len(errors) > before:
        return None
    return Question(qid, raw.get("lesson") or lesson, raw["prompt"], (), False, raw.get("code"), tuple(claims),
                    kind=NUMBER, answer=answer, facts=dict(facts), params={k: list(v) for k, v in params.items()},
                    explain=explain)


def _variants(raw, bank: Bank, f: Path, errors: list) -> list:
    """An exam file's variants: each lists its questions (subset, order), choice order and numeric parameters."""
    if not isinstance(raw, list) or not raw:
        errors.append(f"{f.name}: 'variants' must be a non-empty list.")
        return []
    out = []
    for n, v in enumerate(raw):
        items = v.get("questions") if isinstance(v, dict) else None
        if not isinstance(items, list) or not items:
            errors.append(f"{f.name}, variant {n}: needs a 'questions' list.")
            continue
        for item in items:
            q = bank.questions.get(item.get("id")) if isinstance(item, dict) else None
            if q is None:
                errors.append(f"{f.name}, variant {n}: {item!r} is not a question of this file.")
                continue
            if not q.numeric and sorted(item.get("choices") or []) != sorted(q.choice_ids):
                errors.append(f"{f.name}, variant {n}, question {q.id!r}: 'choices' must list every choice id once.")
            if q.numeric and set(item.get("params") or {}) != set(q.params):
                errors.append(f"{f.name}, variant {n}, question {q.id!r}: 'params' must give {sorted(q.params)}.")
        out.append(v)
    return out
