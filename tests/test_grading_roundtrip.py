"""The instructor's round trip on a temporary copy of grading/: release -> submissions of every kind
(right, blank, partial, tampered tests, hostile code) -> autograde -> feedback -> export -> report.

Everything goes through the real nbgrader CLI (via course_utils.grading, what `make ...` runs) and the
real sandboxed kernel; scores are read back with nbgrader's Gradebook API.
"""
from __future__ import annotations

import contextlib
import csv
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import nbformat
import pytest

from course_utils.grading import autograde as grading_autograde
from course_utils.grading import course as grading_course
from course_utils.grading import feedback as grading_feedback
from course_utils.grading import report as grading_report

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ["01_preprocessing", "02_trainer_api", "03_evaluation", "04_advanced_training", "07_chapter_quiz",
               "08_use_your_model"]
A4 = "04_advanced_training"
A2 = "02_trainer_api"
A1 = "01_preprocessing"
QUIZ = "07_chapter_quiz"

# The grading sandbox is Linux-only (bubblewrap); on Linux a missing bwrap is a failure, not a skip.
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the grading sandbox needs Linux")


def setup_module(module):
    assert shutil.which("bwrap"), "bubblewrap is not installed: apt-get install bubblewrap (see grading/README.md)"


# ---------------------------------------------------------------- building submissions
def key_answers(course: Path, assignment: str) -> dict[str, str]:
    """The instructor's answers (source solution cells without the BEGIN/END SOLUTION markers)."""
    nb = nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: "\n".join(
        line for line in c.source.splitlines() if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
        for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}


def released(course: Path, assignment: str):
    return nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", as_version=4)


def answered(course: Path, assignment: str, **answers: str):
    """The student version with the key's answers, except the ones given (grade_id=code)."""
    nb = released(course, assignment)
    key = key_answers(course, assignment)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answers.get(grade_id, key[grade_id])
    return nb


def answered_source(course: Path, assignment: str, grade_id: str) -> str:
    return key_answers(course, assignment)[grade_id]


def cell_index(nb, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def submit(course: Path, student: str, assignment: str, nb=None, raw: str | None = None, files: dict | None = None):
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    if nb is not None:
        nbformat.write(nb, folder / f"{assignment}.ipynb")
    if raw is not None:
        (folder / f"{assignment}.ipynb").write_text(raw)
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    return folder


FAKE = '''
class Anything:
    """Equal to everything, true, every attribute and operation is itself; reports "full credit" when used."""
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __bool__(self): return True
    def __len__(self): return 1
    def __int__(self): return 32
    def __float__(self): return 1.0
    def __index__(self): return 32
    def __hash__(self): return 0
    def __iter__(self): return iter(())
    def __getattr__(self, name):
        try:
            get_ipython().displayhook(1.0)   # forge nbgrader's partial-credit output
        except Exception:
            pass
        return self
    def __call__(self, *a, **k): return self
    __mul__ = __rmul__ = __le__ = __ge__ = __lt__ = __gt__ = __sub__ = __rsub__ = __abs__ = \\
        lambda self, *other: self
'''

HOOKS = '''
import sys
import tempfile
import threading
ip = get_ipython()
ip.showtraceback = lambda *a, **k: None
ip._showtraceback = lambda *a, **k: None
ip.set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
sys.excepthook = lambda *a: None
ip.input_transformers_cleanup.append(lambda lines: [] if any("assert" in l for l in lines) else lines)
import builtins
builtins.isinstance = lambda *a: True
builtins.type = lambda *a: int
import threading, time
def repatch():
    while True:
        ip.showtraceback = lambda *a, **k: None
        time.sleep(0.001)
try:
    threading.Thread(target=repatch, daemon=True).start()
except RuntimeError as refused:
    print(refused)
sys.settrace(lambda *a: None)
import os
try:
    os.fork()   # a fork bomb would start here
except RuntimeError as refused:
    print(refused)
original_send = ip.kernel.session.send
def send(stream, msg_or_type, content=None, *args, **kwargs):   # drop errors, report every cell "ok"
    if msg_or_type == "error":
        return None
    if isinstance(content, dict) and content.get("status") == "error":
        content = {**content, "status": "ok"}
    return original_send(stream, msg_or_type, content, *args, **kwargs)
ip.kernel.session.send = send
ip.kernel.shell_handlers["execute_request"] = lambda *a, **k: None
import torch, transformers
torch.cuda.is_available = lambda: True
transformers.TrainingArguments = lambda *a, **k: None
use_fp16 = "yes"   # not a bool: wrong
'''

SNOOP = '''
import glob, os
course = os.path.dirname(os.path.dirname(os.path.dirname(os.getcwd())))  # autograded/<student>/<assignment>
found = []
for pattern in ["*.ipynb", "../*/*.ipynb", "../../*/*/*.ipynb", course + "/source/*/*.ipynb", course + "/gradebook.db",
                course + "/release/*/*.ipynb", "/work/*/grading/source/*/*.ipynb", "/work/*/grading/gradebook.db",
                "/tmp/*/*.ipynb", "/tmp/*/*/*.ipynb", "/root/*"]:
    try:
        found += glob.glob(pattern, recursive=True)
    except Exception:
        pass
secrets = []
for path in found:
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8", "replace")
    except Exception:
        continue
    if "HIDDEN TESTS" in text or "BEGIN SOLUTION" in text or path.endswith(".db"):
        secrets.append(path)
print("readable secrets:", secrets)
# Earn the points only if the secrets were readable: with isolation this student gets nothing.
if secrets:
    training_args = TrainingArguments("test-trainer", per_device_train_batch_size=8, gradient_accumulation_steps=4,
                                      eval_strategy="epoch", report_to="none")
    use_fp16 = torch.cuda.is_available()
'''


# ---- attacks of the security issue: each writes its own payload, none may earn what it did not do
CANARY = "grader-canary-7f3a9c"   # an environment variable of the grading host: must never reach a sandbox

# Files a submission brings besides its notebook, named like the grader's own packages: on a host that
# imports them (a launcher with the submission as working directory) they would run as the instructor.
HOST_IMPORT = "import pathlib\npathlib.Path({marker!r}).write_text('ran on the grading host')\n"

# No answers, only code that tries to decide its own verdict (each attempt guarded: one failing must not
# stop the others). Every test must still fail: the checks run outside this kernel on plain values.
VERDICT = r"""
import gc, signal, sys, types
def attempt(f):
    try:
        f()
    except Exception as e:
        print("attempt refused:", type(e).__name__)
def class_send():
    import jupyter_client.session as s
    original = s.Session.send
    def send(self, stream, msg_or_type, content=None, *a, **k):
        if msg_or_type == "error":
            return None
        if isinstance(content, dict) and content.get("status") == "error":
            content = {**content, "status": "ok"}
        return original(self, stream, msg_or_type, content, *a, **k)
    s.Session.send = send
attempt(class_send)
attempt(lambda: setattr(type(get_ipython().kernel), "_restore", lambda self: None))
def rebind(*args):
    ns = get_ipython().user_ns
    ns["send"] = lambda **values: None
    ns["type_name"] = lambda obj: "transformers.training_args.TrainingArguments"
    ns["_b"] = types.SimpleNamespace(type=lambda o: int, int=int, all=lambda *a: True)
attempt(lambda: gc.callbacks.append(rebind))
attempt(lambda: signal.signal(signal.SIGALRM, rebind))
attempt(lambda: signal.setitimer(signal.ITIMER_REAL, 0.005, 0.005))
def fake_export():
    fake = types.ModuleType("course_utils.grading.export")
    fake.type_name = lambda obj: "builtins.int"
    fake.send = lambda **values: get_ipython().display_pub.publish(
        {"application/vnd.course-grading.values+json": {"anything": True}})
    sys.modules["course_utils.grading.export"] = fake
attempt(fake_export)
def swap_code():
    import transformers
    def ok(*a, **k):
        return None
    transformers.TrainingArguments.__init__.__code__ = ok.__code__
attempt(swap_code)
"""

# Right answers, plus every way to carry the hidden tests (and the grader's environment) to the feedback.
LEAK = r"""
import base64, os, sys
def _steal(*args):
    try:
        frame = sys._getframe(1)
        text = "\n".join(get_ipython().user_ns.get("_ih", [])[-1:])
        while frame is not None:
            text += repr(frame.f_code.co_consts)
            frame = frame.f_back
        encoded = base64.b64encode(text.encode()).decode()
        stolen.append(encoded)
        print(encoded)
        sys.stderr.write(text)
        os.write(2, text.encode())
    except Exception as e:
        print("steal failed", e)
stolen = []
def _audit(event, args):
    if event == "compile" and args and isinstance(args[0], (str, bytes)) and b"send(" in (
            args[0] if isinstance(args[0], bytes) else args[0].encode()):
        os.write(2, base64.b64encode(args[0] if isinstance(args[0], bytes) else args[0].encode()))
sys.addaudithook(_audit)
for name in ("/proc/1/environ", "/proc/self/environ", "/proc/2/environ"):
    try:
        print(name, open(name, "rb").read()[:4000])
    except OSError as e:
        print(name, "unreadable", e.errno)
def tokenize_function(example):
    _steal()
    return tokenizer(example["sentence1"], example["sentence2"], truncation=True)
"""
LEAK_LATER = 'import ipywidgets\ndisplay(ipywidgets.Textarea(value="WIDGET" + "LEAK " + "".join(stolen)[:20000][::-1]))\n' \
             'print("later:", stolen)\nencoded = tokenizer(pairs["sentence1"][0], pairs["sentence2"][0])\n' \
             'n_second_sentence_tokens = sum(encoded["token_type_ids"])'
# (a widget made after the hidden test ran: nbclient keeps its state in the notebook's metadata; the marker is
# split so that it is not in the student's code, which the feedback shows; the widget comes before the print,
# whose flood would have the widget's message dropped by the output limit)

# An answer cell that reads the exam key out of its quiz_responses.json, which the student made a hard link to
# the instructor's source notebook (possible wherever students share the grading machine's file system).
KEY_THIEF = r"""
import json, re
from course_utils.quiz import responses
try:
    source = json.load(open("quiz_responses.json"))
    code = "".join("".join(c["source"]) for c in source["cells"])
    key = json.loads(re.search(r"^KEY = (\{.*\})$", code, re.M).group(1))
    for qid, ids in key.items():
        responses.save(qid, ids, "exam")
    print("key read")
except Exception as e:
    print("no key:", type(e).__name__)
"""

# Values for the outside check forged by patching send: a check that let an empty list through (zip) passed a
# model that was never loaded from the checkpoint; a payload nested deeper than a check can read.
FORGE_EMPTY = r"""
from transformers import AutoConfig
model = AutoModelForSequenceClassification.from_config(AutoConfig.from_pretrained(checkpoint, num_labels=2))
import course_utils.grading.export as export
real_send = export.send
def forged(**values):
    if "the_word" in values:
        values["the_word"] = []
    real_send(**values)
export.send = forged
"""
FORGE_DEEP = r"""
import course_utils.grading.export as export
def forged(**values):
    deep = {}
    for _ in range(40):  # deeper than a test's values may be (32), not than an output may be (64)
        deep = {"x": deep}
    get_ipython().display_pub.publish({export.MIME: deep})
export.send = forged
"""

# Right answers, plus every kind of output flood; in an added cell, a disk filler and a process through ctypes.
LIMITS = r"""
handle = display("start", display_id=True)
for _ in range(300):
    handle.update("u" * 100_000)          # 30 MB of update_display_data
use_fp16 = torch.cuda.is_available()
"""
HOG = r"""
display({"application/json": [0] * 40_000_000}, raw=True)
print("after the big message")
"""
FILLER = r"""
import os
for where in ("big.bin", "/tmp/big.bin"):
    try:
        with open(where, "wb") as f:
            for _ in range(1200):
                f.write(b"0" * (1 << 20))   # 1.2 GB
        print(where, "written")
    except OSError as e:
        print(where, "stopped at", os.path.getsize(where) >> 20, "MB:", e.strerror)
import ctypes
print("ctypes fork:", ctypes.CDLL(None).fork())
"""


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A private copy of the example course (make instructor-init), taken through the whole round trip once."""
    # The instructor's private copy, as `make instructor-init DEST=...` makes it: the whole round trip runs on it.
    root = grading_course.instructor_init(tmp_path_factory.mktemp("course"))
    saved = {name: os.environ.get(name) for name in ("COURSE_GRADING_CELL_TIMEOUT", "COURSE_GRADING_SUBMISSION_TIMEOUT")}
    # The infinite-loop case waits this long. Real cells take seconds, but under `make test`'s parallel load
    # (xdist workers running lessons beside 2 grading jobs) the course's own set-up cell once took over 45 s.
    os.environ["COURSE_GRADING_CELL_TIMEOUT"] = "120"
    os.environ["COURSE_GRADING_SUBMISSION_TIMEOUT"] = "400"
    os.environ["COURSE_GRADER_CANARY"] = CANARY
    try:
        grading_course.release(root)
        submissions = build_submissions(root)
        outcomes = grading_autograde.autograde(root, jobs=4)  # as make autograde on 2 cores: the looper waits
        problems = grading_feedback.feedback(root)
        grading_report.grades(root)
        grading_report.report(root)
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
        os.environ.pop("COURSE_GRADER_CANARY", None)
    return {"root": root, "outcomes": {(o.student, o.assignment): o for o in outcomes}, "submissions": submissions,
            "feedback_problems": problems}


def build_submissions(root: Path) -> dict:
    """(student, assignment) -> expected score."""
    from course_utils.quiz import responses

    expected = {}
    for a in ASSIGNMENTS:  # the source as it is: full marks; the blank release: 0
        folder = root / "submitted" / "keyholder" / a
        shutil.copytree(root / "source" / a, folder)
        submit(root, "blank", a, released(root, a))
    # exam answered with the widgets (the saved file, by choice id): the first 5 questions of this student's
    # variant right, the other 3 wrong; the code cell left as released
    from course_utils.quiz import exam, load_bank

    key_bank = load_bank(root / "source" / QUIZ / "exam_bank.yaml")
    folder = submit(root, "widgets", QUIZ, released(root, QUIZ))
    for n, item in enumerate(exam.variant_spec(root / "release" / QUIZ / "chapter_exam.yaml", "widgets")["questions"]):
        q = key_bank.questions[item["id"]]
        if q.numeric:
            right = q.key_value(item.get("params"))
            answer = right if n < 5 else right + 1000
        else:
            answer = list(q.correct_ids) if n < 5 else [next(c for c in q.choice_ids if c not in q.correct_ids)]
        responses.save(item["id"], answer, "exam", path=folder / "quiz_responses.json")
    # partial: exercise 2 wrong (a constant instead of asking the hardware)
    submit(root, "partial", A4, answered(root, A4, ex2_answer="use_fp16 = not torch.cuda.is_available()"))
    # right answers, but test cells deleted, duplicated, renamed, edited, re-pointed; set-up cell deleted
    nb = answered(root, A1)
    dup = nbformat.from_dict(json.loads(json.dumps(nb.cells[cell_index(nb, "ex1_pair")])))
    nb.cells.insert(cell_index(nb, "ex1_pair") + 1, dup)
    nb.cells[cell_index(nb, "ex2_token_types")].metadata["nbgrader"]["grade_id"] = "my_renamed_test"
    nb.cells[cell_index(nb, "ex3_collator")].source = "pass  # no more test"
    nb.cells[cell_index(nb, "ex3_collator")].metadata["nbgrader"]["points"] = 100
    del nb.cells[cell_index(nb, "ex1_truncation")]
    del nb.cells[cell_index(nb, "setup")]
    nb.cells.insert(0, nbformat.v4.new_code_cell("top_cell_ran = True"))
    forged = nbformat.v4.new_code_cell("print('free points')")
    forged.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 50,
                                   "grade_id": "forged_test", "schema_version": 3}
    nb.cells.append(forged)
    submit(root, "tamperer", A1, nb)
    # answers that fake ==, truthiness, attributes and nbgrader's partial-credit output
    submit(root, "faker", A4, answered(root, A4, ex1_answer=FAKE + "training_args = Anything()",
                                       ex2_answer="use_fp16 = Anything()", ex3_answer="cosine_args = Anything()"))
    # exercise 1 right, then every hook that hides tracebacks or rewrites cells; the rest wrong
    submit(root, "hooker", A4, answered(root, A4, ex2_answer=HOOKS, ex3_answer="cosine_args = None"))
    # exercise 1 right, then a loop that ignores interrupts: the kernel is lost for the rest
    submit(root, "looper", A4, answered(root, A4, ex2_answer=(
        "import time\nwhile True:\n    try:\n        time.sleep(0.5)\n    except KeyboardInterrupt:\n        pass")))
    submit(root, "crasher", A4, answered(root, A4, ex2_answer="import os\nos._exit(1)"))
    submit(root, "exiter", A4, answered(root, A4, ex2_answer="import sys\nsys.exit(0)"))
    submit(root, "flooder", A4, answered(root, A4, ex2_answer=(
        "for _ in range(20000):\n    print('x' * 1000)\nuse_fp16 = torch.cuda.is_available()")))
    submit(root, "snooper", A4, answered(root, A4, ex1_answer=SNOOP, ex2_answer="pass", ex3_answer="pass"))
    submit(root, "garbled", A4, raw='{"cells": [ this is not json')
    # JSON that nbformat reads with a warning but its schema forbids (a source that is a number): nbconvert
    # stopped on it inside nbgrader, "not graded" at the student's will (attack of 2026-12-06); now a 0
    numbered = json.loads(nbformat.writes(answered(root, A4)))
    numbered["cells"][-1]["source"] = 5
    submit(root, "numbered", A4, raw=json.dumps(numbered))
    submit(root, "nonotebook", A4, files={"notes.txt": "I forgot the notebook"})
    folder = submit(root, "linker", A4)
    (folder / f"{A4}.ipynb").symlink_to(root / "source" / A4 / f"{A4}.ipynb")
    # ---- the security issue's attack classes, and two honest students who must keep their points
    marker = root / "HOST_CODE_RAN"
    files = {name: HOST_IMPORT.format(marker=str(marker)) for name in
             ("course_utils/__init__.py", "nbgrader/__init__.py", "jupyter_client/__init__.py", "sitecustomize.py",
              "usercustomize.py", "traitlets.py", "ipykernel_launcher.py")}
    folder = submit(root, "hostimport", A1, answered(root, A1))
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    submit(root, "verdictfaker", A4, answered(root, A4, ex1_answer=VERDICT, ex2_answer="pass", ex3_answer="pass"))
    # An output in the list-of-lines form (valid nbformat) sent on the kernel's own channel: nbgrader's
    # LimitOutput called str methods on it, and the grader failed on the student's output (attack of 2026-12-05).
    nb = answered(root, A1)
    nb.cells.insert(cell_index(nb, "ex1_answer") + 1, nbformat.v4.new_code_cell(LIST_STREAM))
    submit(root, "lister", A1, nb)
    # A page too large for the leak check to read in reasonable time (3 MB of comment lines of digits, each
    # decoded and searched in ~20 forms per hidden line): withheld at once, with the reason, not scanned.
    nb = answered(root, A1)
    nb.cells.insert(cell_index(nb, "ex1_answer") + 1, nbformat.v4.new_code_cell("\n".join(["# " + "7" * 99_990] * 30)))
    submit(root, "bigpage", A1, nb)
    # Folder names that are not student ids: HTML that nbgrader's formgrader printed unescaped (script, then code
    # as the instructor), a glob that `--student` matched nothing with; refused, never graded nor in the gradebook.
    for name in REFUSED_IDS:
        submit(root, name, A1, answered(root, A1))
    submit(root, "leaker", A1, answered(root, A1, ex1_answer=LEAK, ex2_answer=LEAK_LATER))
    flood_cell = nbformat.v4.new_code_cell('raise ValueError("e" * 30_000_000)')  # an error flood, added cell
    nb = answered(root, A4, ex2_answer=LIMITS)
    nb.cells.insert(cell_index(nb, "ex2_answer") + 1, flood_cell)
    nb.cells.insert(cell_index(nb, "ex2_answer") + 1, nbformat.v4.new_code_cell(FILLER))  # a disk filler, added
    submit(root, "overflower", A4, nb)
    # right answers, then in an added last cell one message of 80 MB (a list of 40 million zeros): refused by
    # the grader's sockets unread (it once grew the grader's process on the host 40 times its size)
    nb = answered(root, A4)
    nb.cells.append(nbformat.v4.new_code_cell(HOG))
    submit(root, "hog", A4, nb)
    # links out of the submission: a folder linking to /, hard links to the instructor's source notebooks
    folder = submit(root, "keythief", QUIZ, answered(root, QUIZ, answers=KEY_THIEF))
    (folder / "everything").symlink_to("/")
    os.link(root / "source" / QUIZ / f"{QUIZ}.ipynb", folder / "quiz_responses.json")
    folder = submit(root, "hardlinker", A4)
    os.link(root / "source" / A4 / f"{A4}.ipynb", folder / f"{A4}.ipynb")
    # a responses file the quiz cannot parse (nested 50 000 deep) and a timestamp nbgrader cannot parse: the
    # student's fault, a 0, never "not graded"
    submit(root, "crafted", QUIZ, released(root, QUIZ), files={
        "quiz_responses.json": '{"answers": ' + "[" * 50_000 + "]" * 50_000 + "}", "timestamp.txt": "yesterday-ish"})
    # answers naming choices that do not exist, whose names the check's message would quote back
    echo = {item["id"]: {"choices": ["echoleak"], "mode": "exam"} for item in
            exam.variant_spec(root / "release" / QUIZ / "chapter_exam.yaml", "echoer")["questions"]}
    submit(root, "echoer", QUIZ, released(root, QUIZ),
           files={"quiz_responses.json": json.dumps({"format": "course-quiz-responses/2", "answers": echo})})
    # a responses file whose one line of 300,000 spaces took the quiz's own set-up cell past its time limit
    # (quadratic salvage): "not graded" at the student's will (attack of 2026-12-06); now that line costs itself
    submit(root, "spacer", QUIZ, released(root, QUIZ), files={
        "quiz_responses.json": '{"answers": {\n"a":{}' + " " * 300_000 + "x\n}}"})
    submit(root, "forger", A2, answered(root, A2, ex1_answer=FORGE_EMPTY))
    submit(root, "deepforger", A4, answered(root, A4, ex1_answer=answered_source(root, A4, "ex1_answer") + FORGE_DEEP))
    expected.update({("keythief", QUIZ): 0, ("hardlinker", A4): 0, ("crafted", QUIZ): 0, ("echoer", QUIZ): 0,
                     ("spacer", QUIZ): 0,
                     ("forger", A2): 3, ("deepforger", A4): 0})
    # honest: the answer cell deleted (VS Code ignores deletable: false) and retyped as a new, plain cell
    nb = answered(root, A1)
    at = cell_index(nb, "ex1_answer")
    retyped = nbformat.v4.new_code_cell(nb.cells[at].source)
    nb.cells[at] = retyped
    submit(root, "retyper", A1, nb)
    # honest: exercise 2 done first (its section moved above exercise 1), exercise 1 uses what it defined
    nb = answered(root, A4, ex2_answer="use_fp16 = torch.cuda.is_available()\nMICRO_BATCH = 8",
                  ex1_answer=('training_args = TrainingArguments("test-trainer", per_device_train_batch_size=MICRO_BATCH,'
                              ' gradient_accumulation_steps=32 // MICRO_BATCH, eval_strategy="epoch", report_to="none")'))
    section2 = [cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id", "").startswith("ex2")]
    nb.cells = [cell for cell in nb.cells if cell not in section2]
    first = cell_index(nb, "ex1_text")
    nb.cells[first:first] = section2
    submit(root, "reorderer", A4, nb)
    expected.update({("lister", A1): "full", ("bigpage", A1): "full"})
    expected.update({("hostimport", A1): "full", ("verdictfaker", A4): 0, ("leaker", A1): "full",
                     ("overflower", A4): "full", ("hog", A4): "full", ("retyper", A1): "full", ("reorderer", A4): "full"})
    expected.update({("keyholder", a): "full" for a in ASSIGNMENTS})
    expected.update({("blank", a): 0 for a in ASSIGNMENTS})
    expected.update({("widgets", QUIZ): 5, ("partial", A4): 4, ("tamperer", A1): "full", ("faker", A4): 0,
                     ("hooker", A4): 3, ("looper", A4): 3, ("crasher", A4): 3, ("exiter", A4): 4,
                     ("flooder", A4): "full", ("snooper", A4): 0, ("garbled", A4): 0, ("numbered", A4): 0, ("nonotebook", A4): 0,
                     ("linker", A4): 0})
    return expected


LIST_STREAM = r"""
k = get_ipython().kernel
k.session.send(k.iopub_socket, "stream", {"name": "stdout", "text": ["line one\n", "line two\n"]},
               parent=k.get_parent(), ident=b"stream.stdout")
k.session.send(k.iopub_socket, "stream", {"name": "stdout", "text": ["not all text", 1, None]},
               parent=k.get_parent(), ident=b"stream.stdout")
k.session.send(k.iopub_socket, "display_data", {"data": {"text/plain": 42, "text/html": ["<b>", 7]},
               "metadata": {}}, parent=k.get_parent(), ident=b"display_data")
"""
REFUSED_IDS = ("<img src=x onerror=alert(document.domain)>", "bob[1]", "\u3164")


# ---------------------------------------------------------------- the assertions
def test_every_submission_gets_what_its_work_earns(course):
    from nbgrader.api import Gradebook

    wrong = []
    with Gradebook("sqlite:///" + str(course["root"] / "gradebook.db")) as gb:
        for (student, assignment), want in course["submissions"].items():
            submission = gb.find_submission(assignment, student)
            maximum = gb.find_assignment(assignment).max_score
            want = maximum if want == "full" else want
            if submission.score != want or submission.max_score != maximum:
                wrong.append(f"{student}/{assignment}: {submission.score}/{submission.max_score}, want {want}/{maximum}")
    assert not wrong, "\n".join(wrong)


def test_the_batch_finishes_and_says_why_a_submission_got_zero(course):
    outcomes = course["outcomes"]
    assert set(outcomes) == set(course["submissions"])
    assert "not a valid notebook" in outcomes[("garbled", A4)].reason
    assert "no notebook named" in outcomes[("nonotebook", A4)].reason
    assert "is a link" in outcomes[("linker", A4)].reason
    assert "is a link" in outcomes[("hardlinker", A4)].reason
    assert outcomes[("crafted", QUIZ)].status == "graded" and outcomes[("deepforger", A4)].status == "graded"
    assert "timestamp.txt" in outcomes[("crafted", QUIZ)].dropped
    thief = outcomes[("keythief", QUIZ)]
    assert "everything" in thief.dropped and "quiz_responses.json" in thief.dropped and thief.seconds < 120, thief
    log = list(csv.DictReader((course["root"] / "autograded" / grading_autograde.LOG_NAME).open()))
    assert len(log) == len(outcomes) and {row["status"] for row in log} <= {"graded", "zero"}
    assert "course_utils/" in outcomes[("hostimport", A1)].dropped and "sitecustomize.py" in \
        outcomes[("hostimport", A1)].dropped, outcomes[("hostimport", A1)]


def test_a_folder_not_named_by_a_student_id_is_refused_not_graded(course, tmp_path):
    from nbgrader.api import Gradebook

    root = course["root"]
    with Gradebook("sqlite:///" + str(root / "gradebook.db")) as gb:
        ids = {s.id for s in gb.students}
    for name in REFUSED_IDS:
        assert name not in ids and not (root / "autograded" / name).exists(), name
        assert all(o.student != name for o in course["outcomes"].values()), name
    # Named on the command line (make regrade STUDENT=...): refused before anything is graded, in one line.
    copy = _copy_course(course, tmp_path)
    before = _scores(copy)
    result, _ = _cli(copy, "--student", "bob[1]")
    said = result.stdout + result.stderr
    assert result.returncode != 0 and "submitted/bob[1]: not graded: a student id is" in said, said[-2000:]
    assert "Nothing was graded" in said and _scores(copy) == before and not (copy / "autograded").exists()


def test_nothing_from_a_submission_runs_outside_the_sandbox(course):
    root = course["root"]
    assert not (root / "HOST_CODE_RAN").exists(), "a file of the submission was imported on the grading host"
    graded = root / "autograded" / "hostimport" / A1
    assert not (graded / "course_utils").exists() and not (graded / "sitecustomize.py").exists()


def test_the_sandbox_shows_nothing_of_the_grader_and_holds_its_limits(course):
    root = course["root"]
    leaker = (root / "autograded" / "leaker" / A1 / f"{A1}.ipynb").read_text()
    assert "/proc/1/environ" in leaker and CANARY not in leaker, "the grader's environment reached the sandbox"
    overflower = root / "autograded" / "overflower" / A4 / f"{A4}.ipynb"
    assert overflower.stat().st_size < 2_500_000, f"{overflower.stat().st_size} bytes: an output budget leaked"
    printed = "".join(str(o.get("text", "")) for c in nbformat.read(overflower, as_version=4).cells
                      if c.cell_type == "code" for o in c.outputs)
    assert "big.bin stopped at" in printed and "/tmp/big.bin stopped at" in printed, printed[-2000:]
    assert "ctypes fork: -1" in printed, "a submission started a process through ctypes"
    deep = (root / "autograded" / "deepforger" / A4 / f"{A4}.ipynb").read_text()
    assert "not plain values" in deep, "a forged payload nested too deep was judged"
    for page in (root / "feedback" / "overflower").rglob("*.html"):
        assert page.stat().st_size < 1_000_000


def test_hostile_kernels_are_contained(course):
    root = course["root"]
    looper = nbformat.read(root / "autograded" / "looper" / A4 / f"{A4}.ipynb", as_version=4)
    errors = [o.get("ename") for c in looper.cells if c.cell_type == "code" for o in c.outputs]
    assert "CellTimeoutError" in errors and "KernelLost" in errors
    crasher = nbformat.read(root / "autograded" / "crasher" / A4 / f"{A4}.ipynb", as_version=4)
    assert "DeadKernelError" in [o.get("ename") for c in crasher.cells if c.cell_type == "code" for o in c.outputs]
    flood = (root / "autograded" / "flooder" / A4 / f"{A4}.ipynb").stat().st_size
    assert flood < 1_000_000, f"the output flood reached the graded notebook ({flood} bytes)"
    flooder = nbformat.read(root / "autograded" / "flooder" / A4 / f"{A4}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in flooder.cells if c.cell_type == "code" for o in c.outputs)
    assert "x" * 1000 in printed, "the head of a flood is kept"
    snooper = nbformat.read(root / "autograded" / "snooper" / A4 / f"{A4}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in snooper.cells if c.cell_type == "code" for o in c.outputs)
    assert "readable secrets: []" in printed, printed[:500]
    # The 80 MB message was refused unread (SandboxKernelManager.client, MAX_MESSAGE_BYTES), and with it that
    # kernel's later outputs, said in the cell; had the grader read it, LimitOutput would have left its note.
    hog = nbformat.read(root / "autograded" / "hog" / A4 / f"{A4}.ipynb", as_version=4)
    assert "after the big message" in hog.cells[-1].source
    assert [o.get("ename") for o in hog.cells[-1].outputs] == ["OutputsLost"], hog.cells[-1].outputs


def test_feedback_explains_without_showing_hidden_tests(course):
    root = course["root"]
    assert [(student, assignment) for student, assignment, _ in course["feedback_problems"]] == [("bigpage", A1)]
    assert "withheld: it is a page over 2 MB, too large for the leak check" in course["feedback_problems"][0][2]
    assert not (root / "feedback" / "bigpage" / A1 / f"{A1}.html").exists()
    secrets = grading_feedback.hidden_lines(root)
    pages = sorted((root / "feedback").glob("*/*/*.html"))
    assert len(pages) >= len([k for k in course["submissions"]
                              if k[0] not in {"garbled", "numbered", "nonotebook", "linker", "hardlinker", "bigpage"}])
    import html

    for page in pages:
        text = html.unescape(page.read_text(encoding="utf-8"))
        assert "BEGIN HIDDEN TESTS" not in text and not [s for s in secrets if s in text], page
    files = [p for p in (root / "feedback").rglob("*") if p.is_file()]
    assert files and all(p.suffix == ".html" or p.name in ("timestamp.txt", "submission_secret.txt") for p in files), \
        [str(p) for p in files if p.suffix != ".html"]
    for page in pages:  # also encoded: base64, hex, reversed, ...
        assert not grading_feedback.leaks(page.read_text(encoding="utf-8"), secrets), page
    leaker = html.unescape((root / "feedback" / "leaker" / A1 / f"{A1}.html").read_text(encoding="utf-8"))
    graded = (root / "autograded" / "leaker" / A1 / f"{A1}.ipynb").read_text(encoding="utf-8")
    assert "WIDGETLEAK" in graded, "the leaker's widget state is not in the graded notebook: the case tests nothing"
    assert "WIDGETLEAK" not in leaker, "widget state made after a hidden test reached the feedback"
    echoer = html.unescape((root / "feedback" / "echoer" / QUIZ / f"{QUIZ}.html").read_text(encoding="utf-8"))
    assert "unknown choices" in echoer and "echoleak" not in echoer, "a check's message quoted the student's values"
    assert CANARY not in leaker and "passed" in leaker
    partial = html.unescape((root / "feedback" / "partial" / A4 / f"{A4}.html").read_text(encoding="utf-8"))
    assert "fp16 mixed precision needs a CUDA GPU" in partial  # the failure's explanation is shown


def test_release_has_no_answers(course):
    root = course["root"]
    for a in ASSIGNMENTS:
        text = (root / "release" / a / f"{a}.ipynb").read_text()
        assert "HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
    quiz_text = "".join(p.read_text() for p in (root / "release" / QUIZ).iterdir())
    assert "correct" not in quiz_text and "formula" not in quiz_text and not list((root / "release").rglob("quiz_responses*"))
    assert not list((root / "release").rglob("exam_bank*")), "the exam key was released"
    assert not list((root / "autograded").rglob("exam_bank*")) and not list((root / "feedback").rglob("exam_bank*"))


def test_grades_csv_and_item_analysis(course):
    root = course["root"]
    rows = list(csv.DictReader((root / "grades.csv").open()))
    students = {s for s, _ in course["submissions"]}
    assert {r["student_id"] for r in rows} == students
    keyholder = {r["assignment"]: float(r["score"]) for r in rows if r["student_id"] == "keyholder"}
    assert keyholder == {r["assignment"]: float(r["max_score"]) for r in rows if r["student_id"] == "keyholder"}
    items = list(csv.DictReader((root / "report" / "items.csv").open()))
    quiz_items = [r for r in items if r["assignment"] == QUIZ]
    assert len(quiz_items) == 8 and all(r["kind"] == "question" for r in quiz_items)
    n = len(students)
    # question 1 of each variant: keyholder and widgets right, nobody else submitted the exam right
    assert float(quiz_items[0]["share_right"]) == pytest.approx(2 / n, abs=1e-3)
    assert float(quiz_items[-1]["share_right"]) == pytest.approx(1 / n, abs=1e-3)
    # by question id across variants, and which choice the class picked (by choice id)
    from course_utils.quiz import exam, load_bank

    key_bank = load_bank(root / "source" / QUIZ / "exam_bank.yaml")
    questions = {r["question"]: r for r in csv.DictReader((root / "report" / "questions.csv").open())}
    assert set(questions) == set(key_bank.questions)
    widgets = exam.variant_spec(root / "source" / QUIZ / "chapter_exam.yaml", "widgets")["questions"]
    first = widgets[0]["id"]
    had = [s for s in students if first in [i["id"] for i in exam.variant_spec(
        root / "source" / QUIZ / "chapter_exam.yaml", s)["questions"]]]
    assert float(questions[first]["share_right"]) == pytest.approx(2 / len(had), abs=1e-3)
    rows = [r for r in csv.DictReader((root / "report" / "distractors.csv").open()) if r["question"] == first]
    q = key_bank.questions[first]
    if not q.numeric:
        picked = {r["choice"]: float(r["share"]) for r in rows}
        assert picked[q.correct_ids[0]] == pytest.approx(2 / len(had), abs=1e-3)
        assert picked["(no answer)"] == pytest.approx(1 - 2 / len(had), abs=1e-3)
    exercises = {(r["assignment"], r["exercise"]): r for r in csv.DictReader((root / "report" / "exercises.csv").open())}
    assert (A4, "ex1") in exercises and (QUIZ, "q01") in exercises
    assert (root / "report" / "item_analysis.png").stat().st_size > 10_000


# ---------------------------------------------------------------- a grader failure is never a grade
def _copy_course(course, tmp_path) -> Path:
    copy = tmp_path / "course"
    shutil.copytree(course["root"], copy, symlinks=True,  # a hostile submission links to /
                    ignore=shutil.ignore_patterns("autograded", "feedback", "logs"))
    return copy


def _scores(root: Path) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(root / "gradebook.db")) as gb:
        return {(s.student.id, s.assignment.name): s.score for a in gb.assignments for s in a.submissions}


def _cli(root: Path, *args, path: str | None = None, timeout: float = 600, env: dict | None = None):
    import time

    env = {**os.environ, "COURSE_GRADING_CELL_TIMEOUT": "30", **(env or {})}
    if path is not None:
        env["PATH"] = path
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "course_utils.grading", "autograde", "--course", str(root), *args],
                            capture_output=True, text=True, env=env, timeout=timeout)
    return result, time.monotonic() - start


def test_without_bubblewrap_autograde_stops_at_once_and_grades_nothing(course, tmp_path):
    root = _copy_course(course, tmp_path)
    submit(root, "newcomer", A4, answered(root, A4))
    before = _scores(root)
    no_bwrap = tmp_path / "bin"
    no_bwrap.mkdir()
    for tool in ("python", "python3", "alembic"):
        source = Path(sys.executable).parent / tool
        if source.exists():
            (no_bwrap / tool).symlink_to(source)
    result, seconds = _cli(root, path=str(no_bwrap))
    output = result.stdout + result.stderr
    assert result.returncode != 0 and seconds < 60, (result.returncode, seconds, output[-1000:])
    assert "bubblewrap is not installed" in output and "apt-get install bubblewrap" in output, output[-1000:]
    assert _scores(root) == before and not (root / "autograded" / "newcomer").exists()


def test_a_kernel_that_cannot_start_is_not_graded_and_stores_no_score(course, tmp_path):
    root = _copy_course(course, tmp_path)
    spec = root / "jupyter" / "kernels" / "course-sandbox" / "kernel.json"
    broken = json.loads(spec.read_text())
    broken["argv"] = ["python", "-I", "-c", "raise SystemExit('the sandbox failed to start')"]
    spec.write_text(json.dumps(broken))
    submit(root, "newcomer", A4, answered(root, A4))
    before = _scores(root)
    result, _ = _cli(root, "--student", "newcomer", "--timeout", "200")
    assert result.returncode == 3, result.stdout[-2000:] + result.stderr[-2000:]
    # the batch's progress, as plain lines when stdout is not a terminal (grading/README.md, "Progress")
    assert "autograde: 1 submission(s) to grade, 1 at a time" in result.stdout, result.stdout[-2000:]
    assert re.search(r"^autograde: 1/1 done, \d+( min \d\d)? s elapsed$", result.stdout, re.M), result.stdout[-2000:]
    rows = list(csv.DictReader((root / "autograded" / grading_autograde.LOG_NAME).open()))
    assert [(r["student"], r["status"]) for r in rows] == [("newcomer", "not graded")], rows
    assert rows[0]["reason"].startswith("the grader failed") and "Kernel died" in rows[0]["reason"], rows
    assert rows[0]["score"] == "", "a grader failure shows no score"
    assert _scores(root) == before, "a grader failure was stored as a score"
    # A student graded before: the earlier score stays in the gradebook, said in the reason, not as a score.
    result, _ = _cli(root, "--student", "blank", "--assignment", A4, "--timeout", "200")
    rows = list(csv.DictReader((root / "autograded" / grading_autograde.LOG_NAME).open()))
    assert [(r["student"], r["status"], r["score"]) for r in rows] == [("blank", "not graded", "")], rows
    assert "the earlier score 0/5 stays in the gradebook" in rows[0]["reason"], rows
    assert _scores(root)[("blank", A4)] == before[("blank", A4)] == 0


# A kernel of the warm template that leaves files everywhere it can write (a folder locked inside a locked
# folder too) and tries to kill the template that forked it.
LITTER = r"""
import os
for folder in ("/tmp", ".", "/dev/shm"):
    for i in range(2000):
        open(os.path.join(folder, f"litter-{i}"), "w").close()
os.makedirs("locked/inner")
open("locked/inner/file", "w").close()
os.chmod("locked/inner", 0)
os.chmod("locked", 0)
try:
    os.kill(os.getppid(), 9)
    print("template killed")
except OSError as error:
    print("kill refused:", error.errno)
"""
LOOK_AROUND = r"""
import os
print("cwd:", os.getcwd())
print("seen:", sorted(n for d in ("/tmp", ".", "/dev/shm") for n in os.listdir(d) if n.startswith(("litter", "locked"))))
"""


def formgrader_page(path: Path) -> str:
    """The graded notebook as nbgrader's formgrader renders it for the instructor (its exporter and template)."""
    from nbconvert import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = {"base_url": "", "mathjax_url": "", "index": 0, "total": 1, "notebook_id": "n", "assignment_id": "a",
                 "submission_id": "s", "student": "a-spy", "last_name": "", "first_name": "", "next": "", "prev": ""}
    return HTMLExporter(config=config).from_notebook_node(nbformat.read(path, as_version=4), resources=resources)[0]


def active_script(page: str) -> list[str]:
    """What of the student's would run in a browser: event handlers, links and script elements that call alert
    (the attacks' marker; the template's own handlers and scripts do not)."""
    from html.parser import HTMLParser

    found = []

    class Finder(HTMLParser):
        in_script = False

        def handle_starttag(self, tag, attrs):
            self.in_script = tag == "script"
            found.extend(f"{tag} {name}={value}" for name, value in attrs
                         if (name.startswith("on") and "alert(" in str(value)) or "javascript:" in str(value).lower())

        def handle_endtag(self, tag):
            self.in_script = False

        def handle_data(self, data):
            if self.in_script and "alert(" in data:
                found.append(f"script: {data[:80]}")

    Finder().feed(page)
    return found


def with_cells_after(root: Path, grade_id: str, *sources: str):
    """The key's answers to assignment 4, with code cells added after the answer cell ``grade_id``."""
    nb = answered(root, A4)
    at = cell_index(nb, grade_id) + 1
    nb.cells[at:at] = [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


def printed_a4(root: Path, student: str) -> str:
    """Everything the code cells of a student's graded assignment 4 printed."""
    graded = nbformat.read(root / "autograded" / student / A4 / f"{A4}.ipynb", as_version=4)
    return "".join(str(o.get("text", "")) for c in graded.cells if c.cell_type == "code" for o in c.outputs)


def test_one_job_grades_on_after_a_timeout_and_a_litterer(course, tmp_path):
    """One job, three submissions in a row: a loop that ignores interrupts, under a 45 s submission limit:
    graded, its cells after the loop 0 (the kernel was lost once the budget ran out), never held past the
    limit; a kernel that litters every folder and tries to kill the template: graded, the kill refused; the
    next student's kernel, from the same template, sees nothing of it and gets full marks."""
    root = _copy_course(course, tmp_path)
    loop = "import time\nwhile True:\n    try:\n        time.sleep(0.5)\n    except KeyboardInterrupt:\n        pass"
    submit(root, "aaa-slow", A4, answered(root, A4, ex1_answer=loop))
    submit(root, "abb-litter", A4, with_cells_after(root, "ex1_answer", LITTER))
    submit(root, "bbb-honest", A4, with_cells_after(root, "ex1_answer", LOOK_AROUND))
    before = _scores(root)
    result, _ = _cli(root, "--student", "aaa-slow", "--student", "abb-litter", "--student", "bbb-honest",
                     "--timeout", "45", "--jobs", "1")
    rows = {r["student"]: r for r in csv.DictReader((root / "autograded" / grading_autograde.LOG_NAME).open())}
    assert rows["aaa-slow"]["status"] == "graded" and float(rows["aaa-slow"]["score"]) < 5.0, rows
    assert float(rows["aaa-slow"]["seconds"]) < 45, rows["aaa-slow"]
    assert result.returncode == 0, result.stdout[-2000:]
    assert ("aaa-slow", A4) not in before and ("aaa-slow", A4) in _scores(root)

    def printed(student):
        return printed_a4(root, student)

    for student in ("abb-litter", "bbb-honest"):
        assert rows[student]["status"] == "graded" and float(rows[student]["score"]) == 5.0, rows
    assert "kill refused: 1" in printed("abb-litter"), printed("abb-litter")[-2000:]
    honest_saw = printed("bbb-honest")
    assert "cwd: /grading/work" in honest_saw, "not graded by a warm kernel: " + honest_saw[-2000:]
    assert "seen: []" in honest_saw, honest_saw[-2000:]


def test_the_cold_sandbox_holds_the_same_limits(course, tmp_path):
    """COURSE_GRADING_WARM=0: a new nbgrader process and a cold sandbox per submission (the path a machine
    without the warm template takes); the overflower's disk filler and ctypes fork stop there too."""
    root = _copy_course(course, tmp_path)
    nb = answered(root, A4)
    nb.cells.insert(cell_index(nb, "ex2_answer") + 1, nbformat.v4.new_code_cell(
        FILLER + "\nimport sys\nprint('preloaded:', 'evaluate' in sys.modules)"))
    submit(root, "coldstart", A4, nb)
    with _watching_kernel_folders() as seen:
        result, _ = _cli(root, "--student", "coldstart", env={"COURSE_GRADING_WARM": "0"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    # The cold kernel's folder on the host holds its HMAC key and ipc sockets: the grader's alone. Opened to
    # others (0777 and 0644, as the launcher once made them), a local user read the key and bound the sockets
    # first, then served the grader a fake kernel: the victim was "graded" 0 (attack of 2026-12-06).
    assert seen, "no cold kernel folder was seen while the submission ran"
    for folder, (mode, key_mode, others_read, others_wrote) in seen.items():
        assert mode & 0o077 == 0 and key_mode & 0o077 == 0, (folder, oct(mode), oct(key_mode))
        assert not others_read and not others_wrote, (folder, others_read, others_wrote)
    graded = nbformat.read(root / "autograded" / "coldstart" / A4 / f"{A4}.ipynb", as_version=4)
    printed = "".join(str(o.get("text", "")) for c in graded.cells if c.cell_type == "code" for o in c.outputs)
    assert "big.bin stopped at" in printed and "/tmp/big.bin stopped at" in printed, printed[-2000:]
    assert "ctypes fork: -1" in printed, printed[-2000:]
    assert "preloaded: False" in printed, "not a cold sandbox (a warm template imports evaluate ahead)"
    assert "Error in cpuinfo" not in printed, "torch, imported in the kernel's own world, reads /proc/cpuinfo"
    assert _scores(root)[("coldstart", A4)] == 5.0


@contextlib.contextmanager
def _watching_kernel_folders():
    """While the block runs: each cold kernel folder (/tmp/course-kernel-*) with a connection file, as
    folder -> (its mode, kernel.json's mode, whether the user nobody could read the key, create a file there);
    the last two are tried as root only (runuser), else False."""
    seen: dict[str, tuple[int, int, bool, bool]] = {}
    stop = threading.Event()
    as_nobody = os.geteuid() == 0 and shutil.which("runuser") is not None

    def attempt(*command: str) -> bool:
        return as_nobody and subprocess.run(["runuser", "-u", "nobody", "--", *command],
                                            capture_output=True, text=True).returncode == 0

    def watch():
        while not stop.is_set():
            for folder in glob.glob(os.path.join(tempfile.gettempdir(), "course-kernel-*")):
                key = os.path.join(folder, "kernel.json")
                if folder in seen or not os.path.exists(key):
                    continue
                try:
                    mode, key_mode = os.stat(folder).st_mode & 0o7777, os.stat(key).st_mode & 0o7777
                except OSError:
                    continue
                seen[folder] = (mode, key_mode, attempt("cat", key),
                                attempt("touch", os.path.join(folder, "planted-by-nobody")))
            stop.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield seen
    finally:
        stop.set()
        watcher.join()


def _parent(pid: int) -> int:
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _template_with_a_kernel(ancestor: int) -> int | None:
    """The host pid of a warm template (the Python process, not bwrap) started under ``ancestor`` that has forked
    a kernel (the kernel keeps the template's command line); None if there is none yet."""
    templates = set()
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
            # bwrap's own processes carry the template's command line too: only the Python ones count
            if b"course_utils.grading.template" in argv and b"bwrap" not in Path(argv[0].decode()).name.encode():
                templates.add(int(entry.name))
        except OSError:
            continue
    for pid in templates:
        parent = _parent(pid)
        if parent in templates:
            while _parent(parent) in templates:  # kernel <- the process that made its world <- the template
                parent = _parent(parent)
            chain = parent
            while chain > 1 and chain != ancestor:
                chain = _parent(chain)
            if chain == ancestor:
                return parent
    return None


def test_a_template_that_dies_under_a_kernel_is_the_graders_failure_not_a_grade(course, tmp_path):
    """The warm template killed (here by the test, as the host's OOM killer or a bug would) while a kernel runs:
    the kernel dies with it, and its cells must not be graded as the student's crash."""
    import signal
    import time

    root = _copy_course(course, tmp_path)
    submit(root, "sleeper", A4, answered(root, A4, ex1_answer="import time\ntime.sleep(60)\n" +
                                         answered_source(root, A4, "ex1_answer")))
    env = {**os.environ, "COURSE_GRADING_CELL_TIMEOUT": "120"}
    command = [sys.executable, "-m", "course_utils.grading", "autograde", "--course", str(root), "--jobs", "1",
               "--student", "sleeper"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline, template = time.monotonic() + 240, None
    while template is None and time.monotonic() < deadline and process.poll() is None:
        time.sleep(1)
        template = _template_with_a_kernel(process.pid)
    assert template is not None, "no warm kernel started"
    time.sleep(5)  # into the sleeping cell
    os.kill(template, signal.SIGKILL)
    output = process.communicate(timeout=300)[0]
    rows = list(csv.DictReader((root / "autograded" / grading_autograde.LOG_NAME).open()))
    assert [(r["student"], r["status"]) for r in rows] == [("sleeper", "not graded")], output[-3000:]
    assert "warm grading sandbox stopped" in rows[0]["reason"], rows
    assert process.returncode == 3 and ("sleeper", A4) not in _scores(root), "a grader failure was stored as a score"


# ---------------------------------------------------------------- one kernel's world is its own (issue 21)
SPY = r"""
import fcntl, os, resource, signal
planted = []
for path in ("/etc/ipython/startup/00-spy.py", "/usr/local/etc/ipython/startup/00-spy.py",
             os.path.join(os.environ.get("IPYTHONDIR", "/nowhere"), "profile_default", "startup", "00-spy.py"),
             "/tmp/.ipython/profile_default/startup/00-spy.py", "/grading/00-spy.py", "/00-spy.py", "/dev/00-spy.py"):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write("import os; os.environ['SPY'] = 'planted'")
        planted.append(path)
    except OSError:
        pass
print("planted:", planted)
mine = [os.getsid(0), os.getpgid(0)]
def own_thread(pid):
    try:
        return [os.getsid(pid), os.getpgid(pid)] == mine
    except OSError:
        return False
read, write = os.pipe()
fcntl.fcntl(read, fcntl.F_SETFL, os.O_ASYNC | os.O_NONBLOCK)
fcntl.fcntl(read, 10, signal.SIGSTOP)  # F_SETSIG: SIGIO becomes SIGSTOP
reached = 0
for pid in range(2, 1 << 15):
    if own_thread(pid):
        continue
    for attack in (lambda: fcntl.fcntl(read, fcntl.F_SETOWN, pid) or os.write(write, b"x"),
                   lambda: resource.prlimit(pid, resource.RLIMIT_AS, (1 << 20, 1 << 20)),
                   lambda: os.setpriority(os.PRIO_PROCESS, pid, 19)):
        try:
            attack()
            reached += 1
        except OSError:
            pass
print("processes reached:", reached)
from ipykernel.kernelapp import IPKernelApp
connection = os.path.dirname(IPKernelApp.instance().connection_file)
for path, megabytes in ((os.path.join(connection, "flood"), 1), ("/dev/shm/flood", 200)):  # unbounded writes
    written = 0
    try:
        with open(path, "wb") as handle:
            for _ in range(megabytes):
                handle.write(b"0" * (1 << 20))
                handle.flush()
                written += 1
        print(path, "took", written, "MB")
    except OSError as error:
        print(path, "stopped at", written, "MB")
"""
DEEP = r"""
from IPython.display import publish_display_data
nested = []
for _ in range(600):
    nested = [nested]
publish_display_data({"application/json": {"a": nested}, "text/plain": "deep"})  # nbformat recurses on it
"""
# Messages that are not valid notebook output (nbformat refuses to write them): a string as execution count, a
# number as text, a list as metadata, a lone surrogate (content sent as bytes skips the kernel's JSON check).
MALFORMED = r"""
kernel = get_ipython().kernel
send = lambda kind, content: kernel.session.send(kernel.iopub_socket, kind, content, parent=kernel.get_parent())
send("display_data", {"data": {"text/plain": "c"}, "metadata": {}, "transient": {}, "execution_count": "x"})
send("display_data", {"data": {"text/plain": 123}, "metadata": {}})
send("display_data", {"data": {"text/plain": "m"}, "metadata": [1, 2]})
send("stream", b'{"name": "stdout", "text": "lone \\ud800 surrogate"}')
"""
HONEST_LOOK = r"""
import os
print("spy:", os.environ.get("SPY"))
print("left:", sorted(os.path.join(root, name) for folder in ("/tmp", "/etc", "/grading", "/dev/shm")
                      for root, _, names in os.walk(folder) for name in names if name == "00-spy.py"))
"""
BIG_INTEGER = r"""
import sys
import tempfile
import threading
from IPython.display import display
sys.set_int_max_str_digits(0)
display({"application/json": {"n": 10 ** 5000}}, raw=True)  # the grader's JSON refuses over 4,300 digits
"""


def test_one_student_cannot_change_how_the_next_is_graded_and_owns_its_own_doing(course, tmp_path):
    """One job, in a row: a kernel plants IPython startup files everywhere and tries to stop, limit and
    renice every process id; the next student, forked from the same template, sees nothing of it and gets
    full marks. A kernel that publishes an integer the grader cannot decode, and one whose cells each stay
    under the cell limit but together run past the submission's budget: both graded (the cells not run score
    0, with the reason), never "not graded"."""
    root = _copy_course(course, tmp_path)
    spy = with_cells_after(root, "ex1_answer", SPY)
    # and script for the instructor's browser (the formgrader shows the graded copy without cleaning it)
    spy.cells.insert(1, nbformat.v4.new_markdown_cell('<img src=x onerror="alert(1)"> <script>alert(2)</script>'))
    spy.cells.insert(cell_index(spy, "ex1_answer") + 1, nbformat.v4.new_code_cell(
        "from IPython.display import HTML, Javascript, display, publish_display_data\n"
        "display(HTML('<b>bold</b><script>alert(3)</script>'))\ndisplay(Javascript('alert(4)'))\n"
        "publish_display_data({'image/png': 'iVBORw0KGgo=', 'text/plain': 'png'},\n"  # unquoted width in <img>
        "                     metadata={'image/png': {'width': '1 onerror=alert(5)//'}})"))
    # a file whose name clears the instructor's terminal and fakes a line of the log
    submit(root, "a-spy", A4, spy, files={"\x1b[2J\x1b[1;31mfake\x1b[0m\nb-honest graded": "x"})
    submit(root, "b-honest", A4, with_cells_after(root, "ex1_answer", HONEST_LOOK))
    submit(root, "c-bigint", A4, with_cells_after(root, "ex1_answer", BIG_INTEGER))
    submit(root, "c-deep", A4, with_cells_after(root, "ex2_answer", DEEP))
    malformed = with_cells_after(root, "ex2_answer", MALFORMED)  # and an image whose attachment is missing
    malformed.cells.insert(1, nbformat.v4.new_markdown_cell("My figure: ![plot](attachment:plot.png)"))
    submit(root, "c-malformed", A4, malformed)
    # five cells, each under the 10 s cell limit; together past the 40 s budget of a 60 s limit
    submit(root, "d-slow", A4, with_cells_after(root, "ex1_answer", *["import time\ntime.sleep(9)"] * 5))
    result, _ = _cli(root, "--student", "a-spy", "--student", "b-honest", "--student", "c-bigint",
                     "--student", "c-deep", "--student", "c-malformed", "--student", "d-slow", "--timeout", "60", "--jobs", "1", env={"COURSE_GRADING_CELL_TIMEOUT": "10"})
    rows = {r["student"]: r for r in csv.DictReader((root / "autograded" / grading_autograde.LOG_NAME).open())}

    def printed(student):
        return printed_a4(root, student)

    def errors(student):
        graded = nbformat.read(root / "autograded" / student / A4 / f"{A4}.ipynb", as_version=4)
        return [o.get("ename") for c in graded.cells if c.cell_type == "code" for o in c.outputs
                if o.get("output_type") == "error"]

    assert result.returncode == 0, result.stdout[-3000:]
    assert "\x1b" not in result.stdout and "\x1b" not in rows["a-spy"]["dropped"], rows["a-spy"]["dropped"]
    assert "\\x1b[2J" in rows["a-spy"]["dropped"] and "\n" not in rows["a-spy"]["dropped"]
    assert all(rows[s]["status"] == "graded"
               for s in ("a-spy", "b-honest", "c-bigint", "c-deep", "c-malformed", "d-slow")), rows
    assert float(rows["c-malformed"]["score"]) == 5.0 and "not valid notebook output, dropped" in printed("c-malformed")
    assert "processes reached: 0" in printed("a-spy"), printed("a-spy")[-2000:]
    page = formgrader_page(root / "autograded" / "a-spy" / A4 / f"{A4}.ipynb")
    assert "alert(" in page, "the attack is on the page, as text"
    assert active_script(page) == [], active_script(page)
    assert "planted: []" in printed("a-spy") or "/tmp/.ipython" in printed("a-spy"), printed("a-spy")[-2000:]
    assert re.search(r"/flood stopped at 0 MB", printed("a-spy")), "the connection folder (the host's disk) took a write"
    shm = re.search(r"/dev/shm/flood stopped at (\d+) MB", printed("a-spy"))
    assert shm and int(shm.group(1)) <= 64, printed("a-spy")[-2000:]
    assert float(rows["b-honest"]["score"]) == 5.0, rows["b-honest"]
    assert "spy: None" in printed("b-honest") and "left: []" in printed("b-honest"), printed("b-honest")[-2000:]
    assert float(rows["c-bigint"]["score"]) < 5.0 and "UnreadableOutput" in errors("c-bigint"), rows["c-bigint"]
    # the deep output is dropped with a note, its cell and the rest run on: only the submission's doing
    assert float(rows["c-deep"]["score"]) == 5.0 and "nested deeper than 64 levels dropped" in printed("c-deep")
    assert float(rows["d-slow"]["score"]) < 5.0 and "TimeBudgetSpent" in errors("d-slow"), (rows["d-slow"],
                                                                                              errors("d-slow"))
