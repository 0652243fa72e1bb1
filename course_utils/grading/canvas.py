"""Grades for Canvas: grading/grades-canvas.csv in the format of Canvas's gradebook import.

Canvas reads a CSV whose first columns are Student, ID, SIS User ID, SIS Login ID, Section, then one
column per assignment; a row whose first cell is "Points Possible" gives each assignment's maximum
(Canvas uses it when the import creates the assignment). Canvas finds each student by ID (its own user
id), then SIS User ID, then SIS Login ID, then the name; an assignment column by "Title (canvas id)" or
by the title alone, creating the assignment when none has that title.

Scores come from nbgrader's gradebook (score minus late penalty, as `nbgrader export` computes it); a
student with no submission of an assignment gets an empty cell (Canvas leaves it ungraded or applies
its missing-submission policy), never an invented 0. Each assignment's column is followed by
"<assignment> late penalty", the points course.yaml's late rule took off: its "Points Possible" cell says
"(read only)", the mark Canvas's own exports put on computed columns, and Canvas's importer leaves such a
column out (lib/gradebook_importer.rb, readonly_assignment?), so it never becomes an assignment of its own.

Who is who comes from a roster CSV: a column `nbgrader_id` and any of the five Canvas columns (a
Canvas gradebook export with an `nbgrader_id` column added works as it is). Without a roster, each
student's `lms_user_id` in the gradebook (nbgrader db student import) is the Canvas ID. A student in
the gradebook but not in the roster (or without an LMS id), or in the roster but not in the gradebook,
is left out of the file and listed: nothing is matched by guessing.

Names, ids and sections are the students' or the roster's text and the file is opened in a spreadsheet:
every text field is quoted, one starting with = + - @, a tab or a carriage return gets a leading ' (OWASP's
CSV-injection advice; spreadsheet.SpreadsheetWriter); scores are written as numbers.

Usage: python -m course_utils.grading.canvas [--course DIR] [--roster ROSTER.csv]
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.grading.spreadsheet import SpreadsheetWriter

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
LMS_IDS = ["ID", "SIS User ID", "SIS Login ID"]
ROSTER_KEY = "nbgrader_id"
FILENAME = "grades-canvas.csv"
PENALTY_SUFFIX = " late penalty"
READ_ONLY = "(read only)"  # in the Points Possible row: Canvas's importer skips the column


@dataclass
class CanvasExport:
    """What write_canvas_csv wrote; usable wherever a path is (os.fspath, open, Path)."""

    path: Path
    students: int
    not_in_roster: list[str] = field(default_factory=list)      # in the gradebook, no roster row / LMS id
    not_in_gradebook: list[str] = field(default_factory=list)   # roster rows nbgrader never saw

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def missing(self) -> list[str]:
        return self.not_in_roster + self.not_in_gradebook


def read_roster(path: str | os.PathLike) -> dict[str, dict[str, str]]:
    """nbgrader id -> the Canvas columns of that student, from a roster CSV (see the module docstring)."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:  # Excel writes a BOM
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        if ROSTER_KEY not in header or not set(LMS_IDS) & set(header):
            raise SystemExit(f"{path}: a roster needs a column {ROSTER_KEY!r} and at least one of "
                             f"{', '.join(LMS_IDS)} (found: {', '.join(header) or 'nothing'}).")
        roster, duplicates = {}, []
        for raw in reader:
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
            if "Points Possible" in row.get("Student", "") or not row.get(ROSTER_KEY):
                continue  # Canvas's own second row, or a student not (yet) linked to nbgrader
            if row[ROSTER_KEY] in roster:
                duplicates.append(row[ROSTER_KEY])
            roster[row[ROSTER_KEY]] = {name: row.get(name, "") for name in CANVAS_COLUMNS}
    if duplicates:
        raise SystemExit(f"{path}: these nbgrader ids appear more than once: {', '.join(sorted(set(duplicates)))}")
    unusable = sorted(sid for sid, row in roster.items() if not any(row[name] for name in LMS_IDS))
    if unusable:
        raise SystemExit(f"{path}: no {'/'.join(LMS_IDS)} for {', '.join(unusable)}: Canvas could only guess by name.")
    return roster


def _points(value: float) -> int | float:
    """A number, so SpreadsheetWriter writes it bare (a number to Canvas and a spreadsheet): 4, 6.67."""
    value = round(value, 2)
    return int(value) if value.is_integer() else value


def _gradebook_url(root: Path) -> str:
    # nbgrader runs the `alembic` command when it opens a gradebook: the interpreter's bin goes on PATH.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    return "sqlite:///" + str(root / "gradebook.db")


def write_canvas_csv(course_root: str | os.PathLike, roster_path: str | os.PathLike | None = None) -> CanvasExport:
    """Write <course>/grades-canvas.csv from the gradebook; list (return and print) unmatched students."""
    from nbgrader.api import Gradebook, MissingEntry

    root = Path(course_root).resolve()
    if not (root / "gradebook.db").is_file():
        raise SystemExit(f"{root / 'gradebook.db'} does not exist: run `make autograde` first.")
    roster = read_roster(roster_path) if roster_path else None
    with Gradebook(_gradebook_url(root)) as gb:
        assignments = sorted(gb.assignments, key=lambda a: (a.duedate is None, a.duedate or 0, a.name))
        students = sorted(gb.students, key=lambda s: s.id)
        known = {s.id for s in students}
        rows, not_in_roster = [], []
        for student in students:
            if roster is not None:
                canvas = roster.get(student.id)
            elif student.lms_user_id:
                name = ", ".join(n for n in (student.last_name, student.first_name) if n)
                canvas = {"Student": name or student.id, "ID": student.lms_user_id, "SIS User ID": "",
                          "SIS Login ID": "", "Section": ""}
            else:
                canvas = None
            if canvas is None:
                not_in_roster.append(student.id)
                continue
            scores = []
            for assignment in assignments:
                try:
                    submission = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    scores += ["", ""]
                    continue
                penalty = submission.late_submission_penalty or 0.0
                scores += [_points(max(0.0, submission.score - penalty)), _points(penalty)]
            rows.append([canvas[name] for name in CANVAS_COLUMNS] + scores)
        points = ["Points Possible", "", "", "", ""] + [cell for a in assignments
                                                         for cell in (_points(a.max_score), READ_ONLY)]
        names = [a.name for a in assignments]
        columns = [column for name in names for column in (name, f"{name}{PENALTY_SUFFIX}")]
    not_in_gradebook = sorted(set(roster) - known) if roster is not None else []
    path = root / FILENAME
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = SpreadsheetWriter(handle)
        writer.writerow(CANVAS_COLUMNS + columns)
        writer.writerow(points)
        writer.writerows(rows)
    result = CanvasExport(path, len(rows), not_in_roster, not_in_gradebook)
    print(f"Canvas grades: {path} ({len(rows)} student(s), {len(names)} assignment(s)).")
    where = "the roster" if roster is not None else "the gradebook's LMS ids (pass a roster: --roster FILE)"
    if not_in_roster:
        print(f"Left out, not in {where}: {', '.join(not_in_roster)}")
    if not_in_gradebook:
        print(f"In the roster but not in the gradebook (no grades): {', '.join(not_in_gradebook)}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.grading.canvas",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", default=str(Path(__file__).resolve().parent.parent / "grading"),
                        help="the nbgrader course folder (default: grading/)")
    parser.add_argument("--roster",
                        help="CSV: nbgrader_id and Canvas's Student, ID, SIS User ID, SIS Login ID, Section")
    args = parser.parse_args(argv)
    write_canvas_csv(args.course, args.roster)
    return 0


if __name__ == "__main__":
    sys.exit(main())
