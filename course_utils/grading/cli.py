"""python -m course_utils.grading {init DEST,students,policy,release,collect,autograde,feedback,grades,report} [--course DIR]

The instructor's grading round trip in one command each (grading/README.md; `make release` ... `make report`).
"""
from __future__ import annotations

import argparse
import sys

from course_utils.grading import autograde, canvas, course, feedback, lateness, receipts, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.grading", description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["init", "students", "policy", "release", "collect", "autograde", "feedback",
                                         "grades", "report"])
    parser.add_argument("dest", nargs="?", help="init: the private course folder to create")
    parser.add_argument("--course", help="the nbgrader course folder (default: grading/)")
    parser.add_argument("--student", action="append", help="only this student (repeatable)")
    parser.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    parser.add_argument("--timeout", type=float, help="seconds per submission (COURSE_GRADING_SUBMISSION_TIMEOUT)")
    parser.add_argument("--roster", help="grades: a CSV mapping nbgrader ids to LMS ids (grades-canvas.csv)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="submissions graded at a time (default: COURSE_GRADING_JOBS, else twice the CPU cores, "
                             "at most 16)")
    args = parser.parse_args(argv)
    if args.step == "init":
        if not args.dest:
            parser.error("init needs the folder to create: python -m course_utils.grading init DEST")
        course.instructor_init(args.dest)
        return 0
    root = course.course_root(args.course)
    if args.step == "students":
        course.add_students(root)
    elif args.step == "policy":
        show_policy(root)
    elif args.step == "release":
        course.release(root)
        policy = lateness.load_policy(root)
        if policy is not None:
            lateness.sync_due_dates(root, policy)  # the formgrader shows them before the first autograde
    elif args.step == "collect":
        receipts.collect(root, args.assignment)
    elif args.step == "autograde":
        outcomes = autograde.autograde(root, args.student, args.assignment, args.timeout,
                                       args.jobs or autograde.default_jobs())
    elif args.step == "feedback":
        feedback.feedback(root)
    elif args.step == "grades":
        report.grades(root)
        canvas.write_canvas_csv(root, args.roster)
    else:
        report.report(root)
    if args.step == "autograde" and any(o.status == autograde.NOT_GRADED for o in outcomes):
        return 3  # some submissions wait for another run: a script must notice
    return 0


def show_policy(root) -> None:
    """course.yaml checked and shown as it applies: each assignment's dates, then each extension."""
    from course_utils.grading import policy as course_policy

    policy = lateness.load_policy(root)
    if policy is None:
        print(f"No {root / course_policy.POLICY_FILE}: no due dates, no late penalties.")
        return
    for name, schedule in sorted(policy.schedules.items()):
        rule = schedule.late
        late = (f"{course_policy.show_percent(rule.penalty)} per started period of "
                f"{course_policy.show_period(rule.period)}, at most {rule.periods}" if rule else "no late work")
        print(f"{name}: due {course_policy.show_time(schedule.due)}; {late}; hard deadline "
              f"{course_policy.show_time(schedule.hard)}")
    for (student, name), due in sorted(policy.extensions.items()):
        print(f"extension: {student}/{name} due {course_policy.show_time(due)}")
    if policy.ignored:
        print(f"Not in source/, so not used: {', '.join(policy.ignored)}")


if __name__ == "__main__":
    sys.exit(main())
