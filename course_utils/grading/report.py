"""`make grades` and `make report`: nbgrader's export, and the item analysis (share of the class right per
test cell, quiz question and exercise) as CSV and a bar chart."""
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
    out = root / "report"
    out.mkdir(exist_ok=True)
    for name, rows in (("items.csv", items), ("exercises.csv", exercises)):
        with (out / name).open("w", newline="", encoding="utf-8") as handle:
            if rows:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
    fig, axes = plt.subplots(1, 2, figsize=(13, max(4, 0.28 * max(len(items), len(exercises), 1))),
                             gridspec_kw={"width_ratios": [3, 2]})
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
    print(f"Item analysis: {out / 'items.csv'}, {out / 'exercises.csv'}, {out / 'item_analysis.png'}")
    return out


