"""What changed: earlier feedback pages kept, dated; scores that changed since the last export.

* Feedback: ``nbgrader generate_feedback --force`` deletes a submission's feedback folder before it writes the new
  page. ``make feedback`` sets the pages aside first (``set_aside``) and, once the new pages are written
  (``put_back``), keeps every earlier page whose text changed in
  ``feedback/<student>/<assignment>/history/<UTC time it was written>/<notebook>.html``. The newest page stays where
  it was, the one ``nbgrader release_feedback`` releases (it takes only ``*.html`` at the folder's top).
* Grades: ``make grades`` keeps the export before it as ``grades-previous.csv`` and lists every score that differs
  (``changed_scores``), a new late penalty or a regrade's as much as a manual grade's.
"""
from __future__ import annotations

import csv
import shutil
from datetime import datetime, timezone
from pathlib import Path

HISTORY = "history"
SET_ASIDE = ".feedback-before"
PREVIOUS_GRADES = "grades-previous.csv"


# ---------------------------------------------------------------- feedback pages
def set_aside(root: Path) -> Path:
    """Move every submission's pages and history out of feedback/ (nbgrader would delete them); the holding folder."""
    holding = Path(root) / SET_ASIDE
    feedback = Path(root) / "feedback"
    for folder in sorted(feedback.glob("*/*")) if feedback.is_dir() else []:
        pages = [p for p in folder.glob("*.html") if p.is_file() and not p.is_symlink()]
        history = folder / HISTORY
        if not pages and not history.is_dir():
            continue
        target = holding / folder.relative_to(feedback)
        target.mkdir(parents=True, exist_ok=True)
        for page in pages:
            shutil.move(page, target / page.name)  # keeps its mtime: when it was written
        if history.is_dir():
            shutil.move(history, target / HISTORY)
    return holding


def put_back(root: Path, regenerated: set[tuple[str, str]]) -> list[Path]:
    """After the new pages are written: each earlier page of a submission in ``regenerated`` ((student,
    assignment)) that differs from its new one, or has none now (withheld), goes to history/<its UTC time>/;
    identical ones are dropped; the pages of submissions not regenerated go back where they were; histories
    return. The pages archived."""
    holding = Path(root) / SET_ASIDE
    feedback = Path(root) / "feedback"
    archived = []
    for kept in sorted(holding.glob("*/*")) if holding.is_dir() else []:
        folder = feedback / kept.relative_to(holding)
        folder.mkdir(parents=True, exist_ok=True)
        if (kept / HISTORY).is_dir():
            shutil.move(kept / HISTORY, folder / HISTORY)
        student, assignment = kept.parent.name, kept.name
        for page in sorted(kept.glob("*.html")):
            new = folder / page.name
            if (student, assignment) not in regenerated and not new.exists():
                shutil.move(page, new)  # not graded again: still the newest page
                continue
            if new.is_file() and new.read_bytes() == page.read_bytes():
                continue
            written = datetime.fromtimestamp(page.stat().st_mtime, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            target = folder / HISTORY / written
            serial = 1
            while (target / page.name).exists():
                serial += 1
                target = folder / HISTORY / f"{written}-{serial}"
            target.mkdir(parents=True, exist_ok=True)
            shutil.move(page, target / page.name)
            archived.append(target / page.name)
    shutil.rmtree(holding, ignore_errors=True)
    return archived


# ---------------------------------------------------------------- grades
def keep_previous(grades: Path) -> Path | None:
    """Keep the last export (before a new one replaces it) beside it; None when there was none."""
    if not grades.is_file():
        return None
    previous = grades.with_name(PREVIOUS_GRADES)
    shutil.copy2(grades, previous)
    return previous


def _scores(path: Path) -> dict[tuple[str, str], dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {(row["assignment"], row["student_id"]): row for row in csv.DictReader(handle)}


def changed_scores(previous: Path, current: Path) -> list[str]:
    """One line per submission whose score or late penalty differs between two exports of grades.csv."""
    before, after = _scores(previous), _scores(current)
    lines = []
    for key in sorted(set(before) | set(after)):
        assignment, student = key
        old, new = before.get(key), after.get(key)
        if old is None or new is None:
            lines.append(f"{student}/{assignment}: " + ("new in this export" if old is None else "no longer exported"))
            continue
        if (old["score"], old["late_submission_penalty"]) == (new["score"], new["late_submission_penalty"]):
            continue
        text = f"{student}/{assignment}: score {_number(old['score'])} -> {_number(new['score'])}"
        if old["late_submission_penalty"] != new["late_submission_penalty"]:
            text += (f" (late penalty {_number(old['late_submission_penalty'])} -> "
                     f"{_number(new['late_submission_penalty'])})")
        lines.append(text)
    return lines


def _number(text: str) -> str:
    try:
        return f"{float(text):g}"
    except ValueError:
        return text or "-"
