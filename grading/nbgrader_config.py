"""nbgrader configuration of the course (grading/README.md explains each choice).

Read by every nbgrader command run from grading/ (and by `make release`,
`make autograde`, ...). The pieces live in course_utils.grading.preprocessors.
"""
import os
import sys

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput, DeduplicateIds, GetGrades,
                                    IgnorePattern, LimitOutput, OverwriteCells, OverwriteKernelspec, SaveAutoGrades)

from course_utils.grading.course import INSTRUCTOR_ONLY
from course_utils.grading.preprocessors import (FeedbackOnly, JudgeOutsideKernel, RebuildFromSource, RobustExecute,
                                                SafeForInstructor, SandboxKernelManager, StripChecks)

HERE = os.path.dirname(os.path.abspath(__file__))
c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "trainer-course"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")
IGNORED = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "test-trainer", "trainer_output", "my-model"]
# Quiz answers an instructor recorded while running a source notebook must never reach a release, nor
# replace a student's own file at autograde; a student's quiz_responses.json is graded. Exam keys
# (INSTRUCTOR_ONLY) are never released.
RESPONSES = "quiz_responses*.json"
COMMAND = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), "")
c.CourseDirectory.ignore = IGNORED + ([RESPONSES, *INSTRUCTOR_ONLY] if COMMAND in {"generate_assignment", "assign"}
                                      else [])
SOURCES = os.listdir(os.path.join(HERE, "source")) if os.path.isdir(os.path.join(HERE, "source")) else []



def _instructor_only(assignment):
    import fnmatch

    folder = os.path.join(HERE, "source", assignment)
    return [name for name in (os.listdir(folder) if os.path.isdir(folder) else [])
            if any(fnmatch.fnmatch(name, pattern) for pattern in INSTRUCTOR_ONLY)]


# A student's quiz_responses.json is graded (never replaced); exam keys are never copied next to a submission.
c.Autograde.exclude_overwriting = {name: ["quiz_responses.json", *_instructor_only(name)] for name in SOURCES}

# Student versions: solutions become "# YOUR CODE HERE" stubs, hidden tests (export and check) are removed.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.GenerateAssignment.create_assignment = True

# Autograde, step 1 (sanitize): rebuild each submission on the source notebook (tests and set-up cells
# restored from the gradebook, answers kept in the student's order), nbgrader's own checks, then the
# "### CHECK" part of every test is taken out: the student's kernel never receives it.
c.RebuildFromSource.source_directory = os.path.join(HERE, "source")
c.Autograde.sanitize_preprocessors = [ClearOutput, RebuildFromSource, DeduplicateIds, OverwriteKernelspec,
                                      OverwriteCells, CheckCellMetadata, StripChecks]
# Autograde, step 2: run in the sandboxed kernel (grading/jupyter/kernels/course-sandbox), then judge every
# test cell outside it, on the plain values it sent (course_utils.grading.judge).
c.JudgeOutsideKernel.source_directory = os.path.join(HERE, "source")
# SafeForInstructor: the graded copy the formgrader shows runs nothing in the instructor's browser.
c.Autograde.autograde_preprocessors = [RobustExecute, JudgeOutsideKernel, IgnorePattern, ClearMetadataPreprocessor,
                                       LimitOutput, SafeForInstructor, SaveAutoGrades, AssignLatePenalties,
                                       CheckCellMetadata]
os.environ["JUPYTER_PATH"] = os.pathsep.join(
    [os.path.join(HERE, "jupyter")] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p])
for name in ("Execute", "RobustExecute"):
    c[name].kernel_name = "course-sandbox"  # whatever kernel the notebook names
    c[name].kernel_manager_class = SandboxKernelManager
    # Every cell grades in seconds on a CPU; a course may lower this (CI: COURSE_GRADING_CELL_TIMEOUT=15).
    c[name].timeout = int(os.environ.get("COURSE_GRADING_CELL_TIMEOUT", "60"))
    c[name].startup_timeout = 60
c.RobustExecute.max_output_chars = 100_000
c.RobustExecute.max_notebook_chars = 2_000_000
c.LimitOutput.max_lines = 200

# `nbgrader export` run from here writes grades.csv as `make grades` does: student ids can never be read as
# spreadsheet formulas (OWASP's CSV-injection advice; course_utils.grading.spreadsheet).
c.ExportApp.plugin_class = "course_utils.grading.report.SpreadsheetSafeCsvExport"

# Feedback: visible tests and verdicts only; no other output, never hidden test code.
c.GenerateFeedback.preprocessors = [GetGrades, FeedbackOnly, CSSHTMLHeaderPreprocessor]
