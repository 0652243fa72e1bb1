"""The course policy, ``course.yaml`` in the course folder: due dates, late periods, hard deadlines, extensions.

Pure functions: a receipt time and the policy give the share of the points taken off and the reason
(``assess``); nothing here reads a gradebook, a submission or the clock. grading/README.md ("A term")
describes the file; in short::

    late:                        # the default late rule of every assignment below (each may set its own)
      period: 1 day              # a started period counts whole
      penalty: 10%               # of the points possible, per started period
      periods: 3                 # after the third period: the hard deadline (the submission scores 0)
    assignments:
      01_preprocessing:
        due: 2027-03-15 23:59 Asia/Seoul
        hard_deadline: 2027-03-17 23:59 Asia/Seoul   # optional: earlier (or later) than due + 3 periods
      07_chapter_quiz:
        due: 2027-04-12 23:59 Asia/Seoul
        late: none               # no late work: after the due date the submission scores 0
    extensions:
      alice:
        01_preprocessing: 2027-03-18 23:59 Asia/Seoul

Every date carries its time zone (an IANA name such as ``Asia/Seoul`` or ``UTC``, or an offset such as
``+09:00``). An extension moves that student's whole schedule (late periods and hard deadline) by the same
amount. The penalty is a share of the points possible (as Canvas's late policy deducts); past the hard
deadline the submission scores 0.

The file is validated whole when it is read: every mistake is one line naming where it is and how to fix it
(``PolicyError.lines``). Parsing is PyYAML's (``safe_load`` semantics, with duplicate keys refused: a second
``alice:`` would silently drop the first one's extensions); the checks are written here because they say what
to fix in the terms of this file and compare it with the course's assignments.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

POLICY_FILE = "course.yaml"
NO_LATE_WORK = "none"
# The released notebook's first cell (release_note): its id, and how it starts (RebuildFromSource drops it at grading:
# it is the release's, not the student's, and its dates may have changed since).
NOTE_CELL_ID = "course-due-date"
NOTE_START = "**Due date:**"
NO_RECEIPT = "the course has no record of when the exchange received this submission: no late penalty"
DUE_EXAMPLE = "2027-03-15 23:59 Asia/Seoul"
DATE_EXAMPLE = f"'{DUE_EXAMPLE}' or '2027-03-15 23:59+09:00'"
_UNITS = {"week": timedelta(weeks=1), "day": timedelta(days=1), "hour": timedelta(hours=1),
          "minute": timedelta(minutes=1), "second": timedelta(seconds=1)}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(week|day|hour|minute|second)s?\s*$", re.IGNORECASE)
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


class PolicyError(ValueError):
    """course.yaml has mistakes: one line per mistake in ``lines``."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass(frozen=True)
class LateRule:
    period: timedelta
    penalty: float  # share of the points possible per started period: 0.1 is 10 %
    periods: int


@dataclass(frozen=True)
class Schedule:
    """One assignment's dates for one student (the class's, or moved by an extension)."""

    due: datetime              # aware
    late: LateRule | None      # None: no late work
    hard: datetime             # aware; the due date itself when there is no late work
    extended: bool = False


@dataclass(frozen=True)
class Policy:
    schedules: dict[str, Schedule]
    extensions: dict[tuple[str, str], datetime]  # (student, assignment) -> that student's due date
    ignored: tuple[str, ...] = ()  # dated in course.yaml, not in source/ (while every assignment there has a date)

    def schedule(self, assignment: str, student: str | None = None) -> Schedule | None:
        """The dates that apply to this student (None: the assignment has no due date)."""
        base = self.schedules.get(assignment)
        if base is None:
            return None
        due = self.extensions.get((student, assignment)) if student is not None else None
        if due is None:
            return base
        return Schedule(due, base.late, base.hard + (due - base.due), extended=True)


@dataclass(frozen=True)
class Verdict:
    """What a receipt time means under a schedule: the share of the points possible taken off, and why."""

    fraction: float            # 0 on time (or no due date, no receipt); 1 past the hard deadline
    reason: str                # one sentence for the student's feedback page and the instructor's log
    received: datetime | None = None
    late_periods: int = 0

    @property
    def scores_zero(self) -> bool:
        return self.fraction >= 1


# ---------------------------------------------------------------- the maths
def assess(schedule: Schedule | None, received: datetime | None) -> Verdict:
    """The penalty for a submission the exchange received at ``received`` (aware; None: no receipt)."""
    if schedule is None:
        return Verdict(0.0, "")
    due = show_time(schedule.due) + (" (your extension)" if schedule.extended else "")
    if received is None:
        return Verdict(0.0, NO_RECEIPT)
    when = "received " + show_time(received.astimezone(schedule.due.tzinfo))
    if received <= schedule.due:
        return Verdict(0.0, f"{when}, before the due date {due}: no late penalty", received)
    late = received - schedule.due
    if received > schedule.hard:
        if schedule.late is None:
            return Verdict(1.0, f"{when}, {show_duration(late)} after the due date {due}; this assignment takes no "
                                "late work: the submission scores 0", received)
        return Verdict(1.0, f"{when}, after the hard deadline {show_time(schedule.hard)}: the submission scores 0",
                       received)
    rule = schedule.late
    started = math.ceil(late / rule.period)
    counted = min(started, rule.periods)
    fraction = min(1.0, round(counted * rule.penalty, 10))
    capped = f" (at most {rule.periods} count)" if started > rule.periods else ""
    return Verdict(fraction, f"{when}, {show_duration(late)} after the due date {due}: {counted} started late "
                             f"period{'s' if counted != 1 else ''} of {show_period(rule.period)}{capped} at "
                             f"{show_percent(rule.penalty)} each, {show_percent(fraction)} of the points possible "
                             "taken off", received, counted)


def penalty_points(fraction: float, max_score: float, score: float) -> float:
    """Points taken off a notebook: the share of its points possible, never more than it scored (nbgrader's own
    rule, AssignLatePenalties); past the hard deadline (fraction 1) all it scored."""
    return max(0.0, min(round(fraction * max_score, 6), score))


# ---------------------------------------------------------------- what students read
def show_time(moment: datetime) -> str:
    """2027-03-15 23:59 KST (Asia/Seoul); seconds only when there are some."""
    text = moment.strftime("%Y-%m-%d %H:%M" + (":%S" if moment.second or moment.microsecond else ""))
    key = getattr(moment.tzinfo, "key", None)  # a zoneinfo.ZoneInfo
    name = moment.tzname() or ""
    return f"{text} {name} ({key})" if key and key != name else f"{text} {name}".rstrip()


def show_duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h {minutes:02d} min"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def show_period(period: timedelta) -> str:
    for name, unit in _UNITS.items():
        if period % unit == timedelta(0):
            count = period // unit
            return f"{count} {name}{'s' if count != 1 else ''}" if count != 1 else f"1 {name}"
    return show_duration(period)


def show_percent(share: float) -> str:
    return f"{round(share * 100, 4):g} %"


def is_release_note(cell) -> bool:
    """The release's due-date cell (by id, or by its opening words when a tool dropped the id): a markdown cell only,
    so whatever claims to be one can change no grade."""
    return cell.get("cell_type") == "markdown" and (
        cell.get("id") == NOTE_CELL_ID or str(cell.get("source", "")).startswith(NOTE_START))


def release_note(policy: Policy | None, assignment: str) -> str | None:
    """The markdown cell `make release` puts first in the student's notebook (None: no due date)."""
    schedule = policy.schedule(assignment) if policy else None
    if schedule is None:
        return None
    lines = [f"{NOTE_START} {show_time(schedule.due)}.", ""]
    if schedule.late is None:
        lines.append("**Late work:** not accepted: a submission received after the due date scores 0.")
    else:
        rule = schedule.late
        lines.append(f"**Late work:** accepted until {show_time(schedule.hard)}, with {show_percent(rule.penalty)} "
                     f"of the points possible taken off per started period of {show_period(rule.period)} late (at "
                     f"most {rule.periods} period{'s' if rule.periods != 1 else ''}, "
                     f"{show_percent(min(1.0, rule.periods * rule.penalty))}); after that a submission scores 0.")
    lines += ["", "The time that counts is when the course's exchange received your submission, not the clock of "
                  "your computer. An extension moves your due date (and the rest of the schedule with it); your "
                  "feedback page says which dates applied to you and any penalty."]
    return "\n".join(lines)


# ---------------------------------------------------------------- reading and checking course.yaml
def load(root: Path, assignments: list[str]) -> Policy | None:
    """The policy of the course folder ``root`` (None without a course.yaml); PolicyError lists every mistake."""
    path = Path(root) / POLICY_FILE
    if not path.is_file():
        return None
    return parse(path.read_text(encoding="utf-8"), assignments, name=str(path))


def load_or_exit(root: Path, assignments: list[str]) -> Policy | None:
    """``load``, for a command: a mistake stops it with one line per mistake and what to do."""
    try:
        return load(root, assignments)
    except PolicyError as error:
        raise SystemExit("\n".join(error.lines + [f"Fix {Path(root) / POLICY_FILE} and run the command again; "
                                                  "nothing was changed."])) from None


def parse(text: str, assignments: list[str], name: str = POLICY_FILE) -> Policy:
    import yaml

    try:
        data = yaml.load(text, Loader=_unique_key_loader())  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise PolicyError([f"{name}: not valid YAML{where}: {problem}"]) from None
    checker = _Checker(name, assignments)
    policy = checker.policy(data if data is not None else {})
    if checker.errors:
        raise PolicyError(checker.errors)
    return policy


@functools.lru_cache(maxsize=None)
def _unique_key_loader():
    """yaml.SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last one silently)."""
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"{key!r} appears twice in the same mapping (the second would replace the "
                                    "first): merge them", key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep)

    return Loader


class _Checker:
    """Turns the parsed YAML into a Policy, collecting one line per mistake."""

    TOP = {"late", "assignments", "extensions"}
    ASSIGNMENT = {"due", "late", "hard_deadline"}
    LATE = {"period", "penalty", "periods"}

    def __init__(self, name: str, assignments: list[str]):
        self.name, self.known, self.errors = name, list(assignments), []

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{self.name}: {where}: {message}")

    def mapping(self, value, where: str, allowed: set[str] | None = None) -> dict:
        if not isinstance(value, dict):
            self.error(where, f"expected a mapping (key: value lines), found {_kind(value)}")
            return {}
        for key in value:
            if not isinstance(key, str):
                self.error(where, f"a key is read as {_kind(key)} ({key!r}), not as text: put it in quotes as you "
                                  "mean it, e.g. '007' or 'no'")
            elif allowed is not None and key not in allowed:
                self.error(f"{where}.{key}" if where else key,
                           f"unknown key (allowed here: {', '.join(sorted(allowed))})")
        return {k: v for k, v in value.items() if isinstance(k, str)}

    def policy(self, data) -> Policy:
        top = self.mapping(data, "(top level)", self.TOP)
        default = self.late(top["late"], "late") if "late" in top else None
        schedules, unknown = {}, []
        for assignment, entry in self.mapping(top.get("assignments") or {}, "assignments").items():
            where = f"assignments.{assignment}"
            schedule = self.schedule(self.mapping(entry, where, self.ASSIGNMENT), where, default)
            if assignment not in self.known:
                unknown.append(assignment)
            elif schedule is not None:
                schedules[assignment] = schedule
        # A date for an assignment source/ does not have is a typo when some assignment there has none (it would go
        # without a due date, silently); otherwise the assignment was taken out of source/, and its date is unused.
        undated = [a for a in self.known if a not in schedules]
        for assignment in unknown if undated else []:
            self.error(f"assignments.{assignment}", f"not an assignment of this course (source/ has "
                                                    f"{', '.join(self.known) or 'none'}; {', '.join(undated)} "
                                                    "has no due date: a misspelt name?)")
        extensions = {}
        for student, granted in self.mapping(top.get("extensions") or {}, "extensions").items():
            for assignment, value in self.mapping(granted, f"extensions.{student}").items():
                where = f"extensions.{student}.{assignment}"
                due = self.moment(value, where)
                if assignment not in self.known:
                    self.error(where, f"an extension for an unknown assignment (source/ has "
                                      f"{', '.join(self.known) or 'none'})")
                elif assignment not in schedules:
                    if not any(e.startswith(f"{self.name}: assignments.{assignment}") for e in self.errors):
                        self.error(where, f"{assignment} has no due date under assignments: give it one first")
                elif due is not None and due < schedules[assignment].due:
                    self.error(where, f"{show_time(due)} is before the assignment's due date "
                                      f"{show_time(schedules[assignment].due)}: an extension moves it later")
                elif due is not None:
                    extensions[(student, assignment)] = due
        return Policy(schedules, extensions, tuple(unknown) if not undated else ())

    def schedule(self, entry: dict, where: str, default: LateRule | None) -> Schedule | None:
        if "due" not in entry:
            self.error(where, f"no due date: add 'due: {DUE_EXAMPLE}'")
            return None
        due = self.moment(entry["due"], f"{where}.due")
        late = self.late(entry["late"], f"{where}.late") if "late" in entry else default
        hard = self.moment(entry["hard_deadline"], f"{where}.hard_deadline") if "hard_deadline" in entry else None
        if due is None:
            return None
        if hard is None:
            hard = due + late.periods * late.period if late is not None else due
        elif hard < due:
            self.error(f"{where}.hard_deadline", f"{show_time(hard)} is before the due date {show_time(due)}")
        elif late is None and hard != due:
            self.error(f"{where}.hard_deadline", "this assignment takes no late work (late: none): a hard deadline "
                                                 "after the due date needs a late rule")
        return Schedule(due, late, hard)

    def late(self, value, where: str) -> LateRule | None:
        if value is None or (isinstance(value, str) and value.strip().lower() == NO_LATE_WORK):
            return None
        rule = self.mapping(value, where, self.LATE)
        if not isinstance(value, dict):
            return None
        missing = sorted(self.LATE - set(rule))
        if missing:
            self.error(where, f"missing {', '.join(missing)} (e.g. period: 1 day, penalty: 10%, periods: 3), or "
                              f"write 'late: {NO_LATE_WORK}' for no late work")
            return None
        period = _duration(rule["period"])
        if period is None:
            self.error(f"{where}.period", f"{rule['period']!r} is not a period: write e.g. '1 day', '12 hours', "
                                          "'30 minutes'")
        penalty = _percent(rule["penalty"])
        if penalty is None:
            self.error(f"{where}.penalty", f"{rule['penalty']!r} is not a percentage above 0 and at most 100: "
                                           "write e.g. '10%'")
        periods = rule["periods"]
        if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
            self.error(f"{where}.periods", f"{periods!r} is not a whole number of periods of at least 1")
            periods = None
        if period is None or penalty is None or periods is None:
            return None
        return LateRule(period, penalty, periods)

    def moment(self, value, where: str) -> datetime | None:
        found = _moment(value)
        if isinstance(found, str):
            self.error(where, found)
            return None
        return found


def _kind(value) -> str:
    if value is None:
        return "nothing"
    return {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", dict: "a mapping",
            datetime: "a date and time", date: "a date"}.get(type(value), type(value).__name__)


def _duration(value) -> timedelta | None:
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    span = float(match.group(1)) * _UNITS[match.group(2).lower()]
    return span if span > timedelta(0) else None


def _percent(value) -> float | None:
    match = _PERCENT.match(value) if isinstance(value, str) else None
    share = float(match.group(1)) / 100 if match else None
    return share if share is not None and 0 < share <= 1 else None


def _moment(value) -> datetime | str:
    """An aware datetime, or why the value is not one (a message that says how to write it)."""
    fix = f"write it with its time zone, e.g. {DATE_EXAMPLE}"
    if isinstance(value, datetime):  # PyYAML reads an unquoted ISO timestamp itself
        return value if value.tzinfo is not None else f"{value.isoformat(' ')} has no time zone: {fix}"
    if isinstance(value, date):
        return f"{value.isoformat()} is a day without a time and time zone: {fix}"
    if not isinstance(value, str) or not value.strip():
        return f"{value!r} is not a date: {fix}"
    text = value.strip()
    parts = text.rsplit(None, 1)
    zone = None
    if len(parts) == 2 and re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*", parts[1]):
        zone = _zone(parts[1])
        if zone is None:
            return f"{parts[1]!r} in {text!r} is not a time zone: use an IANA name (Asia/Seoul, Europe/Berlin, UTC)"
        text = parts[0]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return f"{value!r} is not a date and time: {fix}"
    if zone is not None:
        if moment.tzinfo is not None:
            return f"{value!r} has both an offset and a time zone name: keep one"
        return moment.replace(tzinfo=zone)
    return moment if moment.tzinfo is not None else f"{value!r} has no time zone: {fix}"


def _zone(name: str):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name.upper() in {"UTC", "Z"}:
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
