"""`make grades` and `make report`: nbgrader's export, and the item analysis as CSV and a chart.

Per test cell and exercise: the share of the class with full marks (from the gradebook). For an exam
with per-student variants (a source folder with ``exam_bank.yaml`` and ``chapter_exam.yaml``): per
question id across variants, the share right among the students who had it, and the distractor
table — the share that picked each choice, by choice identity, never by letter (letters differ per
student). The answers come from the values each graded notebook sent to its checks (kept in the
instructor's graded copy); an answer the analysis cannot use (a number beyond a float's range, NaN) is
skipped, listed in report/skipped.csv and named in the output, and the rest of the class is analysed.

Every CSV written here is opened in a spreadsheet by the instructor, and student ids, names and answers are
the students' text: `SpreadsheetWriter` neutralises formulas (OWASP's CSV-injection advice).
"""
from __future__ import annotations

from pathlib import Path

from course_utils.grading.course import db_url, nbgrader

from course_utils.grading.spreadsheet import SpreadsheetWriter


EXPORTER = "course_utils.grading.report.SpreadsheetSafeCsvExport"


def __getattr__(name: str):
    """``SpreadsheetSafeCsvExport``, nbgrader's CSV export through SpreadsheetWriter, for ``nbgrader export
    --exporter``. Built on first use: importing nbgrader takes seconds, and every ``make`` target imports this
    module."""
    if name != "SpreadsheetSafeCsvExport":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from nbgrader.api import MissingEntry
    from nbgrader.plugins import CsvExportPlugin

    class SpreadsheetSafeCsvExport(CsvExportPlugin):
        """nbgrader 0.9.6's CsvExportPlugin writes ",".join(fields): a student id "=2+5" is a formula and a
        name with a comma shifts the columns. Same columns, rows and values (a missing submission is 0),
        written with the csv module through SpreadsheetWriter."""

        def export(self, gradebook) -> None:
            keys = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                    "raw_score", "late_submission_penalty", "score", "max_score"]
            students = {str(s) for s in self.student}
            assignments = {str(a) for a in self.assignment}
            self.log.info("Exporting grades to %s", self.to or "grades.csv")
            with open(self.to or "grades.csv", "w", newline="", encoding="utf-8") as handle:
                writer = SpreadsheetWriter(handle)
                writer.writerow(keys)
                for assignment in gradebook.assignments:
                    if assignments and assignment.name not in assignments:
                        continue
                    for student in gradebook.students:
                        if students and student.id not in students:
                            continue
                        row = {"assignment": assignment.name, "duedate": assignment.duedate,
                               "student_id": student.id, "last_name": student.last_name,
                               "first_name": student.first_name, "email": student.email,
                               "max_score": assignment.max_score}
                        try:
                            submission = gradebook.find_submission(assignment.name, student.id)
                        except MissingEntry:
                            row.update(timestamp=None, raw_score=0.0, late_submission_penalty=0.0, score=0.0)
                        else:
                            penalty = submission.late_submission_penalty
                            row.update(timestamp=submission.timestamp, raw_score=submission.score,
                                       late_submission_penalty=penalty, score=max(0.0, submission.score - penalty))
                        writer.writerow([row[key] for key in keys])

    globals()[name] = SpreadsheetSafeCsvExport  # built once
    return SpreadsheetSafeCsvExport


def grades(root: Path) -> Path:
    """grades.csv (nbgrader export: raw_score, late_submission_penalty, score after it); says which scores changed
    since the last export, which it keeps as grades-previous.csv."""
    from course_utils.grading import history
    from course_utils.grading.terminal import printable

    previous = history.keep_previous(root / "grades.csv")
    code, tail = nbgrader(root, "export", "--to", "grades.csv", "--exporter", EXPORTER, timeout=300)
    if code != 0:
        raise SystemExit(f"nbgrader export failed:\n{tail}")
    print(f"Grades: {root / 'grades.csv'}")
    if previous is None:
        print("First export: no earlier grades.csv to compare with.")
        return root / "grades.csv"
    changes = history.changed_scores(previous, root / "grades.csv")
    print(f"Changed since the last export ({previous.name}): {len(changes) or 'nothing'}")
    for line in changes:
        print("  " + printable(line))
    return root / "grades.csv"


def _item_labels(root: Path) -> dict:
    """(assignment, notebook, cell) -> what the test checks, from its first comment line in the source
    ("# Question 3: trainer.fp16 (1 point)" -> "trainer.fp16")."""
    import re

    import nbformat

    labels = {}
    for path in (root / "source").glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            first = cell.source.splitlines()[0] if cell.source else ""
            match = re.match(r"#\s*(?:Question \d+:\s*)?(.+?)\s*(?:\(\d+ points?\))?$", first)
            if grade_id and match and cell.cell_type == "code":
                labels[(path.parent.name, path.stem, grade_id)] = match.group(1)
    return labels


def item_analysis(root: Path) -> tuple[list[dict], list[dict]]:
    """(per item, per exercise): share of the class (every student in the gradebook) with full marks."""
    from nbgrader.api import Gradebook, MissingEntry

    items, exercises = [], {}
    labels = _item_labels(root)
    with Gradebook(db_url(root)) as gb:
        students = [s.id for s in gb.students]
        for assignment in gb.assignments:
            for notebook in assignment.notebooks:
                for cell in sorted(notebook.grade_cells, key=lambda c: c.name):
                    if cell.max_score <= 0:
                        continue
                    right, scores = 0, []
                    for student in students:
                        try:
                            grade = gb.find_grade(cell.name, notebook.name, assignment.name, student)
                        except MissingEntry:
                            scores.append(0.0)
                            continue
                        score = float(grade.score or 0)
                        scores.append(score)
                        right += score >= cell.max_score
                    kind = "question" if "quiz" in assignment.name else "test"
                    label = labels.get((assignment.name, notebook.name, cell.name), cell.name)
                    exercise = cell.name.split("_")[0]
                    n = len(students) or 1
                    items.append({"assignment": assignment.name, "item": cell.name, "label": label, "kind": kind,
                                  "exercise": exercise, "max_points": cell.max_score, "students": len(students),
                                  "share_right": round(right / n, 4), "mean_points": round(sum(scores) / n, 4)})
                    key = (assignment.name, exercise)
                    entry = exercises.setdefault(key, {"assignment": assignment.name, "exercise": exercise,
                                                       "max_points": 0.0, "per_student": [True] * len(students)})
                    entry["max_points"] += cell.max_score
                    entry["per_student"] = [ok and s >= cell.max_score for ok, s in zip(entry["per_student"], scores)]
    rows = []
    for entry in exercises.values():
        per = entry.pop("per_student")
        rows.append({**entry, "students": len(per), "share_right": round(sum(per) / (len(per) or 1), 4)})
    return items, rows


def report(root: Path) -> Path:
    """grading/report/: items.csv, exercises.csv and item_analysis.png (share of the class right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items, exercises = item_analysis(root)
    questions, distractors, skipped = exam_analysis(root)
    out = root / "report"
    out.mkdir(exist_ok=True)
    for name, rows in (("items.csv", items), ("exercises.csv", exercises), ("questions.csv", questions),
                       ("distractors.csv", distractors), ("skipped.csv", skipped)):
        with (out / name).open("w", newline="", encoding="utf-8") as handle:
            # skipped.csv keeps its header when empty: an old run's list must not survive a clean one
            fields = list(rows[0]) if rows else (SKIPPED_FIELDS if name == "skipped.csv" else [])
            if fields:
                writer = SpreadsheetWriter(handle)
                writer.writerow(fields)
                writer.writerows([row[field] for field in fields] for row in rows)
    fig, axes = plt.subplots(1, 3, figsize=(19, max(4, 0.28 * max(len(items), len(exercises), 1))),
                             gridspec_kw={"width_ratios": [3, 2, 3]})
    _plot_distractors(axes[2], distractors)
    for ax, rows, label, title in ((axes[0], items, "item", "per test cell / quiz question"),
                                   (axes[1], exercises, "exercise", "per exercise (all its tests right)")):
        names = [f"{r['assignment'][:2]} {r[label]}: {r['label']}"[:70] if "label" in r else
                 f"{r['assignment']}: {r[label]}" for r in rows]
        ax.barh(names, [r["share_right"] for r in rows],
                color=["tab:orange" if r.get("kind") == "question" else "tab:blue" for r in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of the class with full marks")
        ax.set_title(title)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle("Item analysis (from the gradebook)")
    fig.tight_layout()
    fig.savefig(out / "item_analysis.png", dpi=110)
    plt.close(fig)
    print(f"Item analysis: {out / 'items.csv'}, {out / 'exercises.csv'}, {out / 'questions.csv'}, "
          f"{out / 'distractors.csv'}, {out / 'item_analysis.png'}")
    if skipped:
        # repr: a student id is the student's text, and a terminal obeys the control characters in it
        print(f"Item analysis skipped {len(skipped)} answer(s) it cannot use (listed in {out / 'skipped.csv'}):")
        for row in skipped:
            print(f"  {row['assignment']} {row['student']!r} {row['question'] or '(all answers)'}: {row['reason']}")
    return out


SKIPPED_FIELDS = ["assignment", "student", "question", "reason"]


def _unusable(answer) -> str | None:
    """Why the analysis cannot use this recorded answer, or None. Only numbers can be unusable: the key
    compares them as floats, and float() of a 400-digit int raises OverflowError (NaN matches nothing)."""
    from course_utils.quiz.numeric import parse_number

    if isinstance(answer, (int, float)) and not isinstance(answer, bool) and parse_number(answer) is None:
        return "a number beyond a float's range" if isinstance(answer, int) else "not a finite number"
    return None


def _exam_answers(root: Path, assignment: str) -> tuple[dict[str, dict], list[dict]]:
    """({student: {question id: answer}} from the values the graded notebooks sent to their checks,
    [the answers the analysis cannot use, SKIPPED_FIELDS]); a notebook that cannot be read is skipped whole."""
    import nbformat

    answers, skipped = {}, []
    for path in sorted((root / "autograded").glob(f"*/{assignment}/*.ipynb")):
        student = path.parent.parent.name
        try:
            cells = nbformat.read(path, as_version=4).cells
        except Exception as error:  # nbgrader wrote it, from a student's kernel: it costs this submission only
            skipped.append({"assignment": assignment, "student": student, "question": "",
                            "reason": f"the graded notebook cannot be read ({type(error).__name__})"})
            continue
        for cell in cells:
            values = (cell.get("metadata", {}).get("course_grading") or {}).get("values")
            if isinstance(values, dict) and isinstance(values.get("answers"), dict):
                answers[student] = values["answers"]
                skipped += [{"assignment": assignment, "student": student, "question": qid, "reason": why}
                            for qid, why in ((qid, _unusable(a)) for qid, a in values["answers"].items()) if why]
                break
    return answers, skipped


def exam_analysis(root: Path) -> tuple[list[dict], list[dict], list[dict]]:
    """(per question id, per question and choice, answers skipped) for every exam assignment with variants.

    A skipped answer counts as not right (its check failed in the gradebook too) and as UNUSABLE among the
    choices."""
    from nbgrader.api import Gradebook

    from course_utils.quiz import exam, load_bank
    from course_utils.quiz.analysis import choice_shares, share_rows

    with Gradebook(db_url(root)) as gb:
        students = [s.id for s in gb.students]
    questions, distractors, skipped = [], [], []
    for folder in sorted((root / "source").iterdir()):
        key_path, exam_path = folder / "exam_bank.yaml", folder / "chapter_exam.yaml"
        if not (key_path.is_file() and exam_path.is_file()):
            continue
        key_bank, exam_bank = load_bank(key_path), load_bank(exam_path)  # read once, not per student
        answers, left_out = _exam_answers(root, folder.name)
        skipped += left_out
        unusable = {(row["student"], row["question"]) for row in left_out}
        had: dict[str, list[str]] = {}
        right: dict[str, int] = {}
        for student in students:
            # exam.score_answer would raise OverflowError on a 400-digit int: it is graded as not answered
            usable = {qid: a for qid, a in answers.get(student, {}).items() if (student, qid) not in unusable}
            for qid, (ok, _) in exam.grade(key_bank, exam_bank, student, usable).items():
                had.setdefault(qid, []).append(student)
                right[qid] = right.get(qid, 0) + ok
        for qid, who in had.items():
            questions.append({"assignment": folder.name, "question": qid, "students": len(who),
                              "share_right": round(right[qid] / len(who), 4)})
            shares = choice_shares([{qid: answers.get(s, {}).get(qid)} for s in who], key_bank)
            for row in share_rows({qid: shares[qid]}, key_bank):
                distractors.append({"assignment": folder.name, **row, "students": len(who)})
    return questions, distractors, skipped


def _plot_distractors(ax, rows: list[dict]) -> None:
    """One stacked bar per question: the right choices in green, each wrong choice in its own grey."""
    questions = list(dict.fromkeys(r["question"] for r in rows))
    for y, qid in enumerate(questions):
        left = 0.0
        for n, r in enumerate(r for r in rows if r["question"] == qid):
            color = "tab:green" if r["correct"] is True else ("white" if r["choice"] == "(no answer)" else
                                                              ["0.35", "0.55", "0.75", "0.85"][n % 4])
            ax.barh(y, r["share"], left=left, color=color, edgecolor="black", linewidth=0.3)
            if r["share"] >= 0.08:
                ax.text(left + r["share"] / 2, y, str(r["choice"])[:6], ha="center", va="center", fontsize=6)
            left += r["share"]
    ax.set_yticks(range(len(questions)), [q[:40] for q in questions], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("share of the students who had the question (green: right)")
    ax.set_title("exam: which choice the class picked (by choice id)")
