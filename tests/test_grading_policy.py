"""course.yaml and its maths (course_utils/grading/policy.py): pure functions, no gradebook, no clock.

The round trip through nbgrader (receipts, the gradebook, feedback, exports) is tests/test_grading_term.py."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from course_utils.grading import policy as P

REPO = Path(__file__).resolve().parent.parent
KNOWN = ["01_preprocessing", "02_trainer_api", "07_chapter_quiz"]
SEOUL = ZoneInfo("Asia/Seoul")
POLICY = """
late:
  period: 1 day
  penalty: 10%
  periods: 3
assignments:
  01_preprocessing:
    due: 2027-03-15 23:59 Asia/Seoul
  02_trainer_api:
    due: 2027-03-22 14:59 UTC              # 23:59 in Seoul
    late: {period: 12 hours, penalty: 25%, periods: 2}
    hard_deadline: 2027-03-24 14:59+00:00  # later than due + 2 periods: the penalty stops growing
  07_chapter_quiz:
    due: 2027-04-12T23:59:00+09:00
    late: none
extensions:
  alice:
    01_preprocessing: 2027-03-17 23:59 Asia/Seoul
  '007':
    07_chapter_quiz: 2027-04-13 23:59 Asia/Seoul
"""


@pytest.fixture(scope="module")
def policy() -> P.Policy:
    return P.parse(POLICY, KNOWN)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SEOUL)


def test_the_repositorys_course_yaml_is_valid_for_its_assignments():
    from course_utils.grading.course import assignments

    root = REPO / "grading"
    policy = P.load(root, assignments(root))
    assert set(policy.schedules) == set(assignments(root))  # every assignment of the example course has a date


def test_dates_in_a_zone_name_an_offset_or_utc_are_the_same_instant(policy):
    assert policy.schedule("01_preprocessing").due == datetime(2027, 3, 15, 14, 59, tzinfo=timezone.utc)
    assert policy.schedule("02_trainer_api").due == policy.schedule("01_preprocessing").due + timedelta(days=7)
    assert policy.schedule("07_chapter_quiz").due == at("2027-04-12 23:59")  # PyYAML's own timestamp, aware


@pytest.mark.parametrize("received, fraction, periods", [
    ("2027-03-15 23:59", 0.0, 0),           # at the due date: on time
    ("2027-03-15 23:59:01", 0.1, 1),        # a second late: one started period
    ("2027-03-16 23:59", 0.1, 1),           # exactly one period: still the first
    ("2027-03-16 23:59:01", 0.2, 2),
    ("2027-03-18 23:59", 0.3, 3),           # the last moment before the hard deadline (due + 3 days)
])
def test_each_started_period_takes_its_share_of_the_points_possible(policy, received, fraction, periods):
    verdict = P.assess(policy.schedule("01_preprocessing"), at(received))
    assert verdict.fraction == pytest.approx(fraction) and verdict.late_periods == periods
    assert not verdict.scores_zero


def test_past_the_hard_deadline_the_submission_scores_zero_and_says_why(policy):
    verdict = P.assess(policy.schedule("01_preprocessing"), at("2027-03-18 23:59:01"))
    assert verdict.scores_zero and verdict.fraction == 1.0
    assert "after the hard deadline 2027-03-18 23:59 KST (Asia/Seoul): the submission scores 0" in verdict.reason


def test_an_explicit_hard_deadline_later_than_the_periods_caps_the_penalty(policy):
    schedule = policy.schedule("02_trainer_api")
    verdict = P.assess(schedule, schedule.due + timedelta(hours=30))  # 3 started periods, 2 count
    assert verdict.fraction == pytest.approx(0.5) and "(at most 2 count)" in verdict.reason
    assert P.assess(schedule, schedule.hard + timedelta(seconds=1)).scores_zero


def test_no_late_work_means_zero_a_second_after_the_due_date(policy):
    schedule = policy.schedule("07_chapter_quiz")
    assert P.assess(schedule, schedule.due).fraction == 0
    verdict = P.assess(schedule, schedule.due + timedelta(seconds=1))
    assert verdict.scores_zero and "takes no late work" in verdict.reason


def test_an_extension_moves_that_students_whole_schedule(policy):
    theirs, class_ = policy.schedule("01_preprocessing", "alice"), policy.schedule("01_preprocessing", "bob")
    assert class_ == policy.schedule("01_preprocessing") and not class_.extended
    assert theirs.due == at("2027-03-17 23:59") and theirs.hard == at("2027-03-20 23:59") and theirs.extended
    late_for_the_class = at("2027-03-16 10:00")
    assert P.assess(class_, late_for_the_class).fraction == pytest.approx(0.1)
    verdict = P.assess(theirs, late_for_the_class)
    assert verdict.fraction == 0 and "(your extension)" in verdict.reason
    assert policy.schedule("07_chapter_quiz", "007").due == at("2027-04-13 23:59")  # a quoted numeric id


def test_no_receipt_or_no_due_date_takes_nothing_off(policy):
    assert P.assess(policy.schedule("01_preprocessing"), None) == P.Verdict(0.0, P.NO_RECEIPT)
    assert P.assess(None, at("2030-01-01 00:00")).fraction == 0
    assert P.parse("", KNOWN).schedule("01_preprocessing") is None


@pytest.mark.parametrize("fraction, max_score, score, points", [
    (0.1, 6, 6, 0.6), (0.1, 6, 0.3, 0.3),  # never more than the notebook scored (nbgrader's cap)
    (1.0, 6, 4, 4), (0.0, 6, 6, 0.0),
])
def test_penalty_points_are_a_share_of_the_points_possible_capped_at_the_score(fraction, max_score, score, points):
    assert P.penalty_points(fraction, max_score, score) == pytest.approx(points)


def test_the_release_note_states_the_due_date_and_the_late_policy(policy):
    note = P.release_note(policy, "01_preprocessing")
    assert "**Due date:** 2027-03-15 23:59 KST (Asia/Seoul)." in note
    assert "accepted until 2027-03-18 23:59 KST (Asia/Seoul), with 10 % of the points possible taken off per " \
           "started period of 1 day late (at most 3 periods, 30 %)" in note
    assert "not accepted" in P.release_note(policy, "07_chapter_quiz")
    assert P.release_note(P.parse("", KNOWN), "01_preprocessing") is None


BAD = """
late: {period: 1 fortnight, penalty: 10, periods: 0}
assignments:
  01_preprocessing:
    due: 2027-03-15 23:59
  09_missing:
    due: 2027-03-15 23:59 UTC
  02_trainer_api:
    dew: 2027-03-15 23:59 UTC
  07_chapter_quiz:
    due: 2027-03-15
    hard_deadline: 2027-03-14 23:59 Mars/Olympus
extensions:
  bob:
    08_use_your_model: 2027-03-20 23:59 UTC
  007:
    01_preprocessing: 2027-03-16 23:59 UTC
"""


def test_every_mistake_is_one_line_that_says_where_and_how_to_fix_it():
    with pytest.raises(P.PolicyError) as caught:
        P.parse(BAD, KNOWN, name="course.yaml")
    lines = caught.value.lines
    expected = [
        "course.yaml: late.period: '1 fortnight' is not a period",
        "course.yaml: late.penalty: 10 is not a percentage",
        "course.yaml: late.periods: 0 is not a whole number",
        "course.yaml: assignments.01_preprocessing.due: '2027-03-15 23:59' has no time zone: write it with its "
        "time zone, e.g. '2027-03-15 23:59 Asia/Seoul'",
        "course.yaml: assignments.09_missing: not an assignment of this course",
        "course.yaml: assignments.02_trainer_api.dew: unknown key",
        "course.yaml: assignments.02_trainer_api: no due date",
        "course.yaml: assignments.07_chapter_quiz.due: 2027-03-15 is a day without a time and time zone",
        "course.yaml: assignments.07_chapter_quiz.hard_deadline: 'Mars/Olympus' in '2027-03-14 23:59 Mars/Olympus' "
        "is not a time zone",
        "course.yaml: extensions.bob.08_use_your_model: an extension for an unknown assignment",
        "course.yaml: extensions: a key is read as a number (7), not as text: put it in quotes",
    ]
    assert len(lines) == len(expected), lines
    for want in expected:
        assert any(line.startswith(want) for line in lines), (want, lines)
    assert all("\n" not in line for line in lines)


@pytest.mark.parametrize("text, message", [
    ("extensions:\n  alice:\n    01_preprocessing: 2027-03-20 23:59 UTC\n  alice:\n    02_trainer_api: x\n",
     "course.yaml: not valid YAML at line 4: 'alice' appears twice"),
    ("assignments: [\n", "course.yaml: not valid YAML at line 2"),
    ("assignments:\n  01_preprocessing:\n    due: 2027-03-15 23:59 UTC\n    hard_deadline: 2027-03-15 23:00 UTC\n",
     "hard_deadline: 2027-03-15 23:00 UTC is before the due date 2027-03-15 23:59 UTC"),
    ("assignments:\n  01_preprocessing:\n    due: 2027-03-15 23:59 UTC\nextensions:\n  a:\n"
     "    01_preprocessing: 2027-03-14 23:59 UTC\n", "is before the assignment's due date"),
    ("assignments:\n  01_preprocessing:\n    due: 2027-03-15 23:59 UTC\n    late: {period: 1 day}\n",
     "late: missing penalty, periods"),
    ("assignments:\n  01_preprocessing:\n    due: 2027-03-15 23:59:00\n", "has no time zone"),  # PyYAML's naive
])
def test_more_mistakes_each_in_one_line(text, message):
    with pytest.raises(P.PolicyError) as caught:
        P.parse(text, KNOWN, name="course.yaml")
    assert len(caught.value.lines) == 1 and message in caught.value.lines[0], caught.value.lines


def test_a_date_for_an_assignment_not_in_source_is_a_typo_only_when_another_goes_without_one():
    text = "assignments:\n  01_preprocessing:\n    due: 2027-03-15 23:59 UTC\n  02_trainer_apii:\n" \
           "    due: 2027-03-22 23:59 UTC\n"
    with pytest.raises(P.PolicyError) as caught:  # 02_trainer_api would silently have no due date
        P.parse(text, ["01_preprocessing", "02_trainer_api"], name="course.yaml")
    assert caught.value.lines == ["course.yaml: assignments.02_trainer_apii: not an assignment of this course (source/ "
                                  "has 01_preprocessing, 02_trainer_api; 02_trainer_api has no due date: a "
                                  "misspelt name?)"]
    taken_out = P.parse(text, ["01_preprocessing"])  # an assignment taken out of source/: its date is unused
    assert list(taken_out.schedules) == ["01_preprocessing"] and taken_out.ignored == ("02_trainer_apii",)


def test_a_command_stops_with_the_lines_and_changes_nothing(tmp_path):
    (tmp_path / P.POLICY_FILE).write_text("extensions:\n  bob:\n    09_x: 2027-01-01 00:00 UTC\n", encoding="utf-8")
    with pytest.raises(SystemExit) as caught:
        P.load_or_exit(tmp_path, KNOWN)
    message = str(caught.value.code)
    assert message.splitlines()[0].endswith("extensions.bob.09_x: an extension for an unknown assignment (source/ "
                                            "has 01_preprocessing, 02_trainer_api, 07_chapter_quiz)")
    assert message.splitlines()[-1].startswith("Fix ") and "nothing was changed" in message
    assert P.load(tmp_path / "elsewhere", KNOWN) is None  # no course.yaml: no policy


@pytest.mark.parametrize("moment, text", [
    (datetime(2027, 3, 15, 23, 59, tzinfo=SEOUL), "2027-03-15 23:59 KST (Asia/Seoul)"),
    (datetime(2027, 3, 15, 23, 59, 7, tzinfo=timezone.utc), "2027-03-15 23:59:07 UTC"),
    (datetime(2027, 3, 15, 23, 59, tzinfo=timezone(timedelta(hours=9))), "2027-03-15 23:59 UTC+09:00"),
])
def test_times_are_shown_in_the_zone_of_the_due_date(moment, text):
    assert P.show_time(moment) == text


@pytest.mark.parametrize("span, text", [
    (timedelta(seconds=5), "5 s"), (timedelta(minutes=3, seconds=4), "3 min 04 s"),
    (timedelta(hours=3, minutes=1), "3 h 01 min"), (timedelta(days=2, hours=1), "2 days 1 h 00 min"),
])
def test_durations(span, text):
    assert P.show_duration(span) == text
