"""python -m course_utils.grading {init DEST,students,release,autograde,feedback,grades,report} [--course DIR]

The instructor's grading round trip in one command each (grading/README.md; `make release` ... `make report`).
"""
from __future__ import annotations

import argparse
import sys

from course_utils.grading import autograde, canvas, course, feedback, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.grading", description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["init", "students", "release", "autograde", "feedback", "grades", "report"])
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
    elif args.step == "release":
        course.release(root)
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


if __name__ == "__main__":
    sys.exit(main())
