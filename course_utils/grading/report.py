"""`make grades` and `make report`: nbgrader's export, and the item analysis as CSV and a chart.

Per test cell and exercise: the share of the class with full marks (from the gradebook). For an exam
with per-student variants (a source folder with ``exam_bank.yaml`` and ``chapter_exam.yaml``): per
question id across variants, the share right among the students who had it, and the distractor
table — the share that picked each choice, by choice identity, never by letter (letters differ per
student). The answers come from the values each graded notebook sent to its checks (kept in the
instructor's graded copy).
"""
from __future__ import annotations

import csv
from pathlib import Path

from course_utils.grading.course import db_url, nbgrader


def grades(root: Path) -> Path:
    code, tail = nbgrader(root, "export", "--to", "grades.csv", timeout=300)
    if code != 0:
        raise SystemExit(f"nbgrader export failed:\n{tail}")
    print(f"Grades: {root / 'grades.csv'}")
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
    questions, distractors = exam_analysis(root)
    out = root / "report"
    out.mkdir(exist_ok=True)
    for name, rows in (("items.csv", items), ("exercises.csv", exercises), ("questions.csv", questions),
                       ("distractors.csv", distractors)):
        with (out / name).open("w", newline="", encoding="utf-8") as handle:
            if rows:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
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
    return out




def _exam_answers(root: Path, assignment: str) -> dict[str, dict]:
    """{student: {question id: answer}} from the values the graded notebooks sent to their checks."""
    import nbformat

    answers = {}
    for path in sorted((root / "autograded").glob(f"*/{assignment}/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            values = (cell.get("metadata", {}).get("course_grading") or {}).get("values")
            if isinstance(values, dict) and isinstance(values.get("answers"), dict):
                answers[path.parent.parent.name] = values["answers"]
                break
    return answers


def exam_analysis(root: Path) -> tuple[list[dict], list[dict]]:
    """(per question id, per question and choice) for every exam assignment with variants."""
    from nbgrader.api import Gradebook

    from course_utils.quiz import exam, load_bank
    from course_utils.quiz.analysis import choice_shares, share_rows

    with Gradebook(db_url(root)) as gb:
        students = [s.id for s in gb.students]
    questions, distractors = [], []
    for folder in sorted((root / "source").iterdir()):
        key_path, exam_path = folder / "exam_bank.yaml", folder / "chapter_exam.yaml"
        if not (key_path.is_file() and exam_path.is_file()):
            continue
        key_bank, exam_bank = load_bank(key_path), load_bank(exam_path)  # read once, not per student
        answers = _exam_answers(root, folder.name)
        had: dict[str, list[str]] = {}
        right: dict[str, int] = {}
        for student in students:
            for qid, (ok, _) in exam.grade(key_bank, exam_bank, student, answers.get(student, {})).items():
                had.setdefault(qid, []).append(student)
                right[qid] = right.get(qid, 0) + ok
        for qid, who in had.items():
            questions.append({"assignment": folder.name, "question": qid, "students": len(who),
                              "share_right": round(right[qid] / len(who), 4)})
            shares = choice_shares([{qid: answers.get(s, {}).get(qid)} for s in who], key_bank)
            for row in share_rows({qid: shares[qid]}, key_bank):
                distractors.append({"assignment": folder.name, **row, "students": len(who)})
    return questions, distractors


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
