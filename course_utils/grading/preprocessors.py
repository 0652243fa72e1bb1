"""nbgrader pieces that make autograde and feedback hold against hostile submissions
(grading/nbgrader_config.py, grading/README.md).

Sanitize step:
* ``RebuildFromSource``: the submission rebuilt on the source notebook (tests and
  read-only cells from the gradebook, the student's answers and added cells in the
  student's own order);
* ``StripChecks``: the ``### CHECK`` part of every test leaves the notebook before
  it is executed: the student's kernel never sees it.

Autograde step:
* ``SandboxKernelManager``: kernels talk over Unix sockets (ipc) in a private
  folder, so the sandboxed kernel needs no network (sandbox.py binds only that folder);
* ``RobustExecute``: a crash or a stuck cell fails only the cells not yet run;
  every output message (stream, display, update, error, comm) counts against a
  per-cell and a per-notebook budget as it arrives;
* ``JudgeOutsideKernel``: each test cell's verdict comes from its check, run in a
  separate clean process on the plain values the kernel sent; the cell's outputs
  are replaced by that verdict (nothing printed while a hidden test ran is kept).

Feedback step:
* ``FeedbackOnly``: test cells show their visible part and the verdict; no output
  of any other cell, no widget state (output made after a hidden test ran could carry it).

nbgrader 0.9.6 has none of these, so they are written by hand on top of its classes.
"""
from __future__ import annotations

import builtins
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader import utils
from traitlets import Float, Integer, Unicode

from course_utils.grading import sandbox
from course_utils.grading.checks import CHECK_MARKER, HIDDEN_BEGIN, split_test, visible_part
from course_utils.grading.policy import is_release_note
from course_utils.grading.export import MAX_BYTES, MIME


class SandboxKernelManager(AsyncKernelManager):
    """Kernel manager whose connection file and ipc sockets live in a private temporary folder."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # With a warm template (course_utils.grading.warm), the one folder it shares with this host.
        self._private_dir = tempfile.mkdtemp(prefix="course-kernel-",
                                             dir=os.environ.get(sandbox.KERNEL_DIR_VARIABLE) or None)
        os.chmod(self._private_dir, 0o700)
        self.transport = "ipc"
        self.connection_file = os.path.join(self._private_dir, "kernel.json")
        self.ip = os.path.join(self._private_dir, "kernel-ipc")
        self._client_context = None  # made by client(): one per kernel, its sockets capped

    def client(self, **kwargs):
        """The client nbclient talks to the kernel with: its sockets refuse a message over MAX_MESSAGE_BYTES.
        Every message is unpacked into Python objects on the grading host: one display of a 20-million-item
        list (a 40 MB message) made the grader's process 1.6 GB (attack of 2026-12-06); a kernel may use 8 GB.
        Over the limit, libzmq drops the connection without reading the message, and that kernel's later
        outputs are lost: the submission's own doing, and no other submission's (each has its kernel)."""
        import zmq
        import zmq.asyncio

        if self._client_context is None:
            self._client_context = zmq.asyncio.Context()
            self._client_context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        return super().client(context=self._client_context, **kwargs)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._private_dir, ignore_errors=True)
            # the client's context is left to the garbage collector: nbclient closes the client's sockets after
            # this (destroying the context first made its stop_channels fail on closed sockets)
            self._client_context = None

    cleanup_resources = _async_cleanup_resources


MAX_MESSAGE_BYTES = 64 << 20  # one message from a kernel; a test's values are at most MAX_BYTES, a plot a few MB
OUTPUTS_LOST = (f"the kernel's outputs stopped arriving: a single output over {MAX_MESSAGE_BYTES >> 20} MB is refused, "
                "and every output of this kernel after it is lost")
MAX_OUTPUT_DEPTH = 64  # nesting of one output message's content; a test's values may nest 32 deep


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class GraderFault(RuntimeError):
    """A failure that is the grader's, not the submission's: nbgrader stops, the batch runner records
    "not graded" and stores no score."""


class RobustExecute(Execute):
    """nbgrader's Execute, but one crashed or stuck kernel fails only the cells it could not run, and no
    kind of output message can grow the notebook beyond a budget."""

    max_output_chars = Integer(100_000, help="Characters of output kept per cell; the rest is dropped.").tag(
        config=True)
    max_notebook_chars = Integer(2_000_000, help="Characters of output kept per notebook.").tag(config=True)
    submission_budget = Float(0.0, help="Seconds all the notebook's cells may run together (0: no budget). "
                              "Cells not run within it score 0 with the reason; the batch runner sets it "
                              "below its submission limit (autograde.run_budget).").tag(config=True)
    counted = ("stream", "display_data", "execute_result", "update_display_data", "error", "comm_open",
               "comm_msg")

    def preprocess(self, nb, resources=None, km=None):
        self._kernel_lost, self._lost_kind = "", "KernelLost"  # why later cells are not run, and its name
        self._noted: set[tuple[int, str]] = set()  # (cell, why): a grader note is added once per cell, not per message
        self._output_chars: dict[int, int] = {}
        self._notebook_chars = 0
        self._payloads: dict[int, int] = {}
        self._student_ran = False
        self._cell_timeout = self.timeout
        self._deadline = time.monotonic() + self.submission_budget if self.submission_budget > 0 else None
        nb, resources = super().preprocess(nb, resources, km)
        for cell in nb.cells:
            if cell.cell_type == "code":
                _well_formed(cell, nb.get("nbformat_minor", 5))
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, self.resources
        cell, resources = self._run_cell(cell, resources, index)
        if not self._student_ran:
            if utils.is_locked(cell) and not utils.is_grade(cell) and not utils.is_solution(cell):
                failed = [out for out in cell.outputs if out.get("output_type") == "error"]
                if failed:  # the course's own set-up cell, before any code of the student's: not their fault
                    raise GraderFault(f"the course's own cell {cell.metadata['nbgrader'].get('grade_id')} failed "
                                      f"before any student code ran ({failed[0].get('ename')}: "
                                      f"{str(failed[0].get('evalue', ''))[:200]})")
            else:
                self._student_ran = True
        return cell, resources

    def _run_cell(self, cell, resources, index):
        if self._deadline is not None and not self._kernel_lost:
            left = self._deadline - time.monotonic()
            if left < 1:
                self._kernel_lost, self._lost_kind = self._over_budget(), "TimeBudgetSpent"
            else:  # a cell may run only as long as the budget has left (it is interrupted like any other)
                self.timeout = min(self._cell_timeout, int(left)) if self._cell_timeout else int(left)
        if self._kernel_lost:
            cell.outputs = [_error_output(self._lost_kind, f"not run: {self._kernel_lost}")]
            return cell, self.resources
        self._cell_timed_out = False
        try:
            super().preprocess_cell(cell, resources, index)
            if any(out.get("ename") == "CellTimeoutError" for out in cell.outputs) and not self._kernel_answers():
                self._kernel_lost = f"an earlier cell ran longer than {self.timeout} s and could not be interrupted"
                self.log.warning("Cell %d timed out and the kernel did not stop; later cells are marked failed", index)
            return cell, self.resources
        except DeadKernelError:
            scratch = os.environ.get(sandbox.SCRATCH_VARIABLE)
            if scratch and os.path.exists(os.path.join(scratch, sandbox.TEMPLATE_LOST)):
                raise GraderFault("the warm grading sandbox stopped while the kernel ran") from None
            self._kernel_lost = "the kernel died in an earlier cell (os._exit, a crash or out of memory)"
            self.log.warning("Kernel died in cell %d; later cells are marked failed", index)
            cell.outputs.append(_error_output("DeadKernelError", "the kernel died while running this cell"))
        except CellTimeoutError as error:
            if "IOPub" in str(error) and not self._cell_timed_out:
                # The kernel replied in time, but its outputs stopped: a message over MAX_MESSAGE_BYTES was
                # refused, and the client's output socket with it (SandboxKernelManager.client). (After a cell's
                # time-out, nbclient's own reply is followed by this error too: an interrupted loop sends nothing.)
                self._kernel_lost, self._lost_kind = OUTPUTS_LOST, "OutputsLost"
                self.log.warning("Cell %d: the kernel's outputs stopped arriving; later cells are marked failed", index)
                cell.outputs.append(_error_output("OutputsLost", OUTPUTS_LOST))
                return cell, self.resources
            self._kernel_lost = f"an earlier cell ran longer than {self.timeout} s and could not be interrupted"
            self.log.warning("Cell %d timed out and the kernel did not stop; later cells are marked failed", index)
            cell.outputs.append(_error_output("CellTimeoutError", f"no reply within {self.timeout} s"))
        except Exception as error:  # noqa: BLE001  only what the kernel sent and the host cannot read
            if not _unreadable_message(error):
                raise
            # A message the host cannot decode (a 5,000-digit integer, bytes that are not UTF-8): the
            # submission's doing. The cell fails, and so do the ones after it (the channel is out of step).
            self._kernel_lost, self._lost_kind = "an earlier cell sent output the grader cannot read", \
                "UnreadableOutput"
            self.log.warning("Cell %d sent a message the grader cannot decode (%s); later cells are marked "
                             "failed", index, type(error).__name__)
            cell.outputs.append(_error_output("UnreadableOutput", "this cell sent output the grader cannot read"))
        finally:
            self.timeout = self._cell_timeout
        if self._deadline is not None and not self._kernel_lost and time.monotonic() >= self._deadline:
            self._kernel_lost, self._lost_kind = self._over_budget(), "TimeBudgetSpent"
        return cell, self.resources

    def _over_budget(self) -> str:
        return f"the notebook's cells used up the submission's time budget of {self.submission_budget:.0f} s"

    async def _async_handle_timeout(self, timeout, cell=None):
        self._cell_timed_out = True  # nbclient's: the cell ran past its time (not a lost output socket)
        return await super()._async_handle_timeout(timeout, cell)

    def _kernel_answers(self) -> bool:
        """After a timeout: did the interrupt bring the kernel back (it still runs code and replies)?"""
        timeout, self.timeout = self.timeout, min(self.timeout or 5, 5)
        try:
            reply = self.wait_for_reply(self.kc.execute("pass", silent=True, store_history=False))
            return reply is not None and reply["content"].get("status") == "ok"
        except Exception:  # a timeout or a dead kernel: either way it cannot run the next cell
            return False
        finally:
            self.timeout = timeout

    def process_message(self, msg, cell, cell_index):
        from nbformat import ValidationError

        try:
            return self._process_message(msg, cell, cell_index)
        except ValidationError:  # nbformat checks each output it builds: the kernel chose a field's type
            self._note_once(cell, cell_index, "invalid", _INVALID_OUTPUT_NOTE.copy())
            return None

    def _note_once(self, cell, cell_index, why: str, note) -> None:
        """A grader note in a cell's outputs, once: a flood of tiny messages must not grow the notebook by a note each."""
        if (cell_index, why) not in self._noted:
            self._noted.add((cell_index, why))
            cell.outputs.append(note)

    def _process_message(self, msg, cell, cell_index):
        if not _shallow(msg.get("content", {}), MAX_OUTPUT_DEPTH):
            # nbformat turns an output into nodes recursively: a deeper one would crash the grader (a
            # RecursionError), so it is dropped here, with a note, as the submission's own doing.
            self._note_once(cell, cell_index, "deep", NotebookNode(output_type="stream", name="stderr", text=(
                f"\n[grader: an output nested deeper than {MAX_OUTPUT_DEPTH} levels dropped]\n")))
            return None
        msg_type = msg.get("msg_type") or msg.get("header", {}).get("msg_type", "")
        if msg_type not in self.counted:
            return super().process_message(msg, cell, cell_index)
        content = msg.get("content", {})
        size = _size(content)
        if msg_type == "display_data" and MIME in content.get("data", {}) and utils.is_grade(cell) and \
                size <= MAX_BYTES + 4096 and self._payloads.get(cell_index, 0) < 2:
            # A test's values for the outside check: outside the budget (an answer cell's flood must not
            # cost the tests their values); two per cell at most (a second one already fails the test).
            self._payloads[cell_index] = self._payloads.get(cell_index, 0) + 1
            return super().process_message(msg, cell, cell_index)
        used = self._output_chars.get(cell_index, 0)
        self._output_chars[cell_index] = used + size
        room = min(self.max_output_chars - used, self.max_notebook_chars - self._notebook_chars)
        if size <= room:  # only what is kept counts against the notebook's budget
            self._notebook_chars += size
            return super().process_message(msg, cell, cell_index)
        if msg_type == "error":  # errors decide what failed: one kept per cell beyond the budget, and short
            if (cell_index, "error kept") in self._noted:
                return None
            self._noted.add((cell_index, "error kept"))
            content["evalue"] = str(content.get("evalue", ""))[:2000]
            content["traceback"] = [str(line)[:2000] for line in list(content.get("traceback", []))[-5:]]
            self._notebook_chars += _size(content)
            return super().process_message(msg, cell, cell_index)
        if used <= self.max_output_chars:  # the first message over the limit: keep its head, then a note
            if msg_type == "stream" and room > 0:
                content["text"] = str(content.get("text", ""))[:room]
                self._notebook_chars += room
                super().process_message(msg, cell, cell_index)
            cell.outputs.append(NotebookNode(output_type="stream", name="stderr",
                                             text=f"\n[grader: output beyond {self.max_output_chars} characters "
                                                  "dropped]\n"))
            self._output_chars[cell_index] = self.max_output_chars + 1
        return None


_INVALID_OUTPUT_NOTE = NotebookNode(output_type="stream", name="stderr",
                                    text="[grader: an output that is not valid notebook output, dropped]\n")


def _well_formed(cell, minor: int) -> None:
    """Make the outputs the kernel produced valid notebook outputs, so that writing the graded notebook (nbformat
    validates it) never fails on them: the kernel chooses every field (a string as execution count, lone
    surrogates, and data that nbclient writes into an earlier output for update_display_data without building,
    and so without checking, a new one). An invalid output is replaced by a note; that is the submission's doing."""
    from nbformat import ValidationError
    from nbformat.validator import validate

    count = cell.get("execution_count")
    if count is not None and (type(count) is not int or count < 0):
        cell.execution_count = None
    kept = []
    for output in cell.get("outputs", []):
        output = _without_surrogates(output)
        try:
            validate(output, ref="output", version=4, version_minor=minor)
        except ValidationError:
            output = _INVALID_OUTPUT_NOTE.copy()
        kept.append(_rejoined(output))
    cell.outputs = kept


def _rejoined(output):
    """The output with its text as one string, as nbformat reads a notebook (rwbase.rejoin_lines): the format
    allows a list of lines, but nbgrader's own preprocessors after this one (LimitOutput) call str methods on it,
    and a kernel can send the list form, or anything else (a number, a list holding numbers): that is made text."""
    def text(value):
        if isinstance(value, str):
            return value
        return "".join(map(str, value)) if isinstance(value, list) else str(value)

    if "text" in output:
        output["text"] = text(output["text"])
    for mime, value in (output.get("data") or {}).items():
        if not (mime == "application/json" or mime.endswith("+json")):  # JSON data stays JSON
            output["data"][mime] = text(value)
    return output


def _without_surrogates(value):
    """The value with every lone surrogate in its strings replaced (UTF-8 cannot encode one)."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return NotebookNode({_without_surrogates(k): _without_surrogates(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    return value


def _unreadable_message(error: BaseException) -> bool:
    """Whether the error was raised while jupyter_client decoded a message from the kernel, or is a
    RecursionError (only a kernel's deeply nested output makes the grader recurse that deep)."""
    if isinstance(error, RecursionError):
        return True
    if not isinstance(error, (ValueError, UnicodeError, TypeError, KeyError)):
        return False
    trace = error.__traceback__
    while trace is not None:
        code = trace.tb_frame.f_code
        if code.co_name in ("deserialize", "unpack", "json_unpacker") and "jupyter_client" in code.co_filename:
            return True
        trace = trace.tb_next
    return False


def _shallow(value, limit: int = 32) -> bool:
    """Nested at most ``limit`` deep (checked without recursion: a forged payload may be 10 000 deep).
    One iterator per level, not one entry per element: a list of 20 million zeros once made the grader hold
    20 million (item, depth) pairs, 1.5 GB on the host for a 40 MB message (attack of 2026-12-06)."""
    if limit < 0:
        return False
    if not isinstance(value, (dict, list)):
        return True
    stack = [iter(value.values() if isinstance(value, dict) else value)]  # the items of stack[-1]: depth len(stack)
    while stack:
        for item in stack[-1]:
            if len(stack) > limit:
                return False
            if isinstance(item, (dict, list)):
                stack.append(iter(item.values() if isinstance(item, dict) else item))
                break
        else:
            stack.pop()
    return True


def _size(content: dict) -> int:
    try:
        return len(json.dumps(content, default=str))
    except (TypeError, ValueError, RecursionError):
        return len(str(content))


class RebuildFromSource(NbGraderPreprocessor):
    """Autograde: rebuild the submission on the instructor's source notebook, in the student's order.

    Every cell of the source comes back with its source-notebook metadata (read-only
    cells, visible and hidden tests, points); test and set-up cell sources come from
    the gradebook (what was released). The answers are the student's: each solution
    cell is the student's first cell with that id; a deleted one comes back empty
    (never the ``raise NotImplementedError`` stub, which would replace an answer the
    student retyped in a new cell). Cells the student added stay where they put them,
    as plain cells: their nbgrader metadata is removed, so a duplicated, renamed or
    forged test cell can neither add nor remove points.

    Order: the source's opening cells (everything before its first answer cell: the
    introduction and set-up) run first; then the student's cells in the student's
    order (sections moved around keep their order, so work that runs top to bottom
    for the student runs the same way here); a source cell the student deleted comes
    back right after the source cell that precedes it.

    Which cell is which (``_identify``): a cell's nbgrader id first; a cell that lost
    its metadata (pasted into a new notebook, saved by a tool that drops it) is found
    by its text (what the release shows of a read-only or test cell) or, for an
    answer, by its place: the student's first unidentified cell after the source cell
    that precedes the answer (its exercise's text). Honest work that lost its metadata
    so runs as it did for the student; a found test or set-up cell still comes back
    from the gradebook, so this opens no way to change what is graded.

    nbgrader's OverwriteCells restores the source of locked cells it finds and
    (add_missing_cells) re-adds deleted grade cells, but not deleted read-only
    cells, a cleared ``grade`` flag, or the order; this does all of it.
    """

    source_directory = Unicode("", help="The course's source/ folder (set in nbgrader_config.py).").tag(config=True)

    def preprocess(self, nb, resources):
        assignment = resources["nbgrader"]["assignment"]
        notebook = resources["nbgrader"]["notebook"]
        path = os.path.join(self.source_directory, assignment, notebook + ".ipynb")
        import nbformat
        from nbgrader.api import Gradebook

        source = nbformat.read(path, as_version=4)
        with Gradebook(resources["nbgrader"]["db_url"]) as gradebook:
            released = {cell.name: cell.source for cell in
                        gradebook.find_notebook(notebook, assignment).source_cells}
        template_ids = [self._grade_id(cell) for cell in source.cells]
        templates = dict(zip(template_ids, source.cells))
        solution_ids = {grade_id for grade_id, cell in zip(template_ids, source.cells)
                        if grade_id and utils.is_solution(cell)}
        first_answer = next((i for i, g in enumerate(template_ids) if g in solution_ids), len(template_ids))
        opening = [g for g in template_ids[:first_answer] if g]

        def restored(grade_id, submitted_cell=None):
            template = templates[grade_id]
            if grade_id in solution_ids and submitted_cell is not None:
                submitted_cell.metadata["nbgrader"] = dict(template.metadata["nbgrader"])
                return submitted_cell
            cell = nbformat.from_dict(json.loads(json.dumps(template)))
            cell.source = "" if grade_id in solution_ids else released.get(grade_id, cell.source)
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            if grade_id not in solution_ids and submitted_cell is not None and submitted_cell.source != cell.source:
                self.log.warning("Cell %s was changed: restored from the gradebook", grade_id)
            return cell

        nb.cells = [cell for cell in nb.cells if not is_release_note(cell)]  # the release's due date, not the student's
        seen: dict[str, NotebookNode] = {}
        body: list[tuple[str | None, NotebookNode]] = []
        for cell, grade_id in zip(nb.cells, self._identify(nb.cells, source.cells, solution_ids, released)):
            if grade_id is not None:
                seen[grade_id] = cell
                if grade_id not in opening:
                    body.append((grade_id, restored(grade_id, cell)))
                continue
            cell.metadata.pop("nbgrader", None)  # added, duplicated or renamed: a plain cell
            for key in ("deletable", "editable"):
                cell.metadata.pop(key, None)
            body.append((None, cell))
        placed = [(g, restored(g, seen.get(g))) for g in opening] + body
        for grade_id in [g for g in template_ids if g and g not in opening and g not in seen]:
            self.log.warning("Cell %s was missing: restored from the gradebook", grade_id)
            before = template_ids[:template_ids.index(grade_id)]
            positions = [i for i, (g, _) in enumerate(placed) if g in before]
            at = max(positions) + 1 if positions else len(opening)
            placed.insert(at, (grade_id, restored(grade_id)))
        nb.cells = [cell for _, cell in placed]
        nb.metadata["kernelspec"] = source.metadata.get("kernelspec", nb.metadata.get("kernelspec", {}))
        return nb, resources

    @staticmethod
    def _grade_id(cell) -> str | None:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        return grade_id if isinstance(grade_id, str) else None

    @staticmethod
    def _as_released(text) -> str:
        """A cell's text as the release shows it (hidden tests cut out, as nbgrader's ClearHiddenTests does),
        without trailing spaces and blank edge lines, which editors add or drop."""
        from course_utils.grading.checks import HIDDEN_END

        kept, hidden = [], False
        for line in str(text).split("\n"):
            if HIDDEN_BEGIN in line:
                hidden = True
            elif HIDDEN_END in line:
                hidden = False
            elif not hidden:
                kept.append(line.rstrip())
        return "\n".join(kept).strip("\n")

    @classmethod
    def _identify(cls, cells, source_cells, solution_ids: set, released: dict) -> list[str | None]:
        """The source cell's grade id of each submitted cell, or None for the student's own (plain) cells.

        1. By nbgrader id: the first cell with an id of the source (an answer cell only with the answer's type).
        2. By text, for cells still unknown (their metadata lost, or renamed): a cell that reads like the release's
           read-only or test cell is that cell (its text comes back from the gradebook anyway; the place is the
           student's, as it is with metadata).
        3. By place, for each answer cell not found yet, in the source's order: the student's first unidentified,
           non-empty cell of the answer's type after the nearest earlier source cell found (the exercise's text, or
           the answer before it), and before the next identified cell (the exercise's tests). Matching in order,
           never by similarity to the key, keeps it predictable: the student's cells run in the student's order
           whatever is chosen, and only where a deleted test comes back depends on it.
        """
        ids = [cls._grade_id(cell) for cell in source_cells]
        templates = dict(zip(ids, source_cells))
        found: list[str | None] = [None] * len(cells)
        at: dict[str, int] = {}
        for i, cell in enumerate(cells):
            grade_id = cls._grade_id(cell)
            if grade_id in templates and grade_id not in at and (
                    grade_id not in solution_ids or cell.cell_type == templates[grade_id].cell_type):
                found[i], at[grade_id] = grade_id, i
        shown: dict[tuple[str, str], list[str]] = {}  # (cell type, released text) -> ids, in the source's order
        for grade_id, template in zip(ids, source_cells):
            if grade_id and grade_id not in solution_ids:
                key = (template.cell_type, cls._as_released(released.get(grade_id, template.source)))
                shown.setdefault(key, []).append(grade_id)
        for i, cell in enumerate(cells):
            if found[i] is None:
                grade_id = next((g for g in shown.get((cell.cell_type, cls._as_released(cell.source)), [])
                                 if g not in at), None)
                if grade_id is not None:
                    found[i], at[grade_id] = grade_id, i
        for index, grade_id in enumerate(ids):
            if grade_id not in solution_ids or grade_id in at:
                continue
            start = next((at[g] for g in reversed(ids[:index]) if g in at), -1)
            for i in range(start + 1, len(cells)):
                if found[i] is not None:
                    break  # the next identified cell (the tests): the answer is not in this section
                cell = cells[i]
                if cell.cell_type == templates[grade_id].cell_type and str(cell.source).strip() and \
                        (cell.cell_type, cls._as_released(cell.source)) not in shown:  # not a copy of a test
                    found[i], at[grade_id] = grade_id, i
                    break
        return found


class StripChecks(NbGraderPreprocessor):
    """Sanitize (last step): remove the ``### CHECK`` part of every test cell before the notebook runs."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            cell.source = split_test(cell.source)[0]
        return cell, resources


_BUILTIN_ERRORS = {name for name, value in vars(builtins).items()
                   if isinstance(value, type) and issubclass(value, BaseException)}
_NAME_ERROR = re.compile(r"^name '([A-Za-z_][A-Za-z0-9_]*)' is not defined$")


def kernel_problem(cell) -> str | None:
    """What went wrong in the student's kernel while the test ran, in words that cannot carry anything the
    kernel chose to say: a message is shown only if the visible test itself contains it."""
    errors = [out for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    if not errors:
        return None
    ename = str(errors[0].get("ename", ""))
    evalue = re.sub(r"\x1b\[[0-9;]*m", "", str(errors[0].get("evalue", "")))
    # Fixed words per kind: the kernel can name any exception "KernelLost", never choose what is shown.
    fixed = {"DeadKernelError": "the kernel died while this test ran",
             "CellTimeoutError": "this test did not finish in time",
             "KernelLost": "not run: the kernel was lost in an earlier cell",
             "TimeBudgetSpent": "not run: the notebook's cells used up the submission's time budget",
             "UnreadableOutput": "the notebook sent output the grader cannot read (this cell or an earlier one)"}
    kind = ename if ename in _BUILTIN_ERRORS or ename in fixed else "an error"
    visible = visible_part(cell.source)
    if kind in fixed:
        return fixed[kind]
    if kind == "NotImplementedError":
        return "NotImplementedError: an answer cell still raises NotImplementedError (not answered yet)"
    if evalue and len(evalue) <= 500 and (f'"{evalue}"' in visible or f"'{evalue}'" in visible):
        return f"{kind}: {evalue}"
    match = _NAME_ERROR.match(evalue)
    if kind == "NameError" and match and re.search(rf"\b{match.group(1)}\b", visible):
        return f"NameError: {evalue}"
    return f"{kind} raised while this test ran your code (run the notebook yourself to see it)"


class JudgeOutsideKernel(NbGraderPreprocessor):
    """Autograde (after execution): every test cell's verdict comes from its check, run by
    ``python -I -m course_utils.grading.judge`` on the plain values the cell sent; the cell's outputs
    become that verdict alone."""

    source_directory = Unicode("", help="The course's source/ folder (set in nbgrader_config.py).").tag(config=True)
    timeout = Integer(120, help="Seconds for all checks of one notebook.").tag(config=True)

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            released = {cell.name: cell.source for cell in
                        gradebook.find_notebook(info["notebook"], info["assignment"]).source_cells}
        jobs, cells = [], []
        for cell in nb.cells:
            if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
                continue
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            check = split_test(released.get(grade_id, ""))[1]
            if not check.strip():
                raise RuntimeError(f"test cell {grade_id} has no '{CHECK_MARKER}' part: the grader cannot judge it "
                                   "outside the student's kernel (fix the source notebook and release again)")
            problem, data = kernel_problem(cell), None
            if problem is None:
                sent = [out["data"][MIME] for out in cell.get("outputs", [])
                        if out.get("output_type") == "display_data" and MIME in out.get("data", {})]
                if len(sent) != 1:
                    problem = ("the hidden test's values never reached the grader" if not sent else
                               "the hidden test's values were sent more than once")
                elif not isinstance(sent[0], dict) or not _shallow(sent[0]):
                    problem = "the hidden test's values are not plain values (a table of names, at most 32 deep)"
                elif _size({"v": sent[0]}) > MAX_BYTES:
                    problem = "the hidden test's values are too large"
                else:
                    data = sent[0]
            jobs.append({"cell": grade_id, "code": check, "data": data, "problem": problem})
            cells.append(cell)
        if not jobs:
            return nb, resources
        source_dir = os.path.join(self.source_directory, info["assignment"])
        verdicts = run_judge(jobs, info.get("student", ""), source_dir, self.timeout)
        for cell, job, verdict in zip(cells, jobs, verdicts):
            # For the instructor's copy (item and distractor analysis); FeedbackOnly removes it.
            cell.metadata["course_grading"] = {"values": job["data"], "passed": bool(verdict["ok"])}
            if verdict["ok"]:
                cell.outputs = [NotebookNode(output_type="stream", name="stdout",
                                             text="✓ passed (hidden tests checked outside your kernel)\n")]
            else:
                cell.outputs = [_error_output("TestFailed", verdict["message"])]
        return nb, resources


def run_judge(jobs: list[dict], student: str, source_dir: str, timeout: float) -> list[dict]:
    """Run the checks in a clean, isolated Python process; a failure here is the grader's (an exception)."""
    job = json.dumps({"student": student, "source_dir": source_dir, "checks": jobs})
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-I", "-m", "course_utils.grading.judge"], input=job,
                            capture_output=True, text=True, timeout=timeout, cwd=source_dir, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"the outside check process failed: {result.stderr.strip()[-500:]}")
    verdicts = json.loads(result.stdout)
    if [v["cell"] for v in verdicts] != [j["cell"] for j in jobs]:
        raise RuntimeError("the outside check process answered for other cells than it was asked")
    return verdicts


# Feedback pages render a student's markdown and raw cells as HTML, and a student can write <script> or
# <img onerror=...> there: the page would run it in the browser of whoever opens it. Allowed: what markdown
# produces (headings, lists, tables, code, images, links) and harmless formatting; everything else is shown
# as escaped text. bleach (what nbconvert's SanitizeHTML uses) does the cleaning; links only to http(s) and
# mailto, images also from data: URIs (the cell's attachments).
_SAFE_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s",
    "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "u", "ul", "var"})


def _link_attribute(tag: str, name: str, value: str) -> bool:
    """A link's title, class, id, and its target unless that is a data: URI (a page of its own)."""
    return name in ("class", "id", "title") or (name == "href" and not value.strip().lower().startswith("data:"))


_SAFE_ATTRIBUTES = {"*": ["class", "id", "title"], "a": _link_attribute, "img": ["src", "alt", "title", "width",
                    "height"], "td": ["align", "colspan", "rowspan"], "th": ["align", "colspan", "rowspan"],
                    "ol": ["start"]}
_SAFE_PROTOCOLS = ("http", "https", "mailto", "data")
# grade ids are plain names (nbgrader's CheckCellMetadata); the feedback template prints them unescaped.
_GRADE_ID = re.compile(r"[A-Za-z0-9_.\-]+")


# html5lib (under bleach) takes time quadratic in the formatting elements left open: one raw cell of 71 kB of
# `<b title=i>x<p>` took 100 s to clean, on the grading host after the kernel's budget (attack of 2026-12-06).
# Text with more tags than any answer needs is shown escaped, whole, without parsing it; so is every cell of a
# notebook once its cells together have used NOTEBOOK_TAGS (many cells just under the cell's limit).
# Length too: mistune renders the markdown before any tag is counted, at about 33 s of CPU per MB of `&#`
# (attack of 2026-12-06); a cell longer than MAX_CLEANED_CHARS, or any once the notebook's cells together have
# used NOTEBOOK_CHARS, is shown escaped without rendering. Honest answers are a few kB; a lesson, about 100 kB.
MAX_CLEANED_TAGS = 2000
NOTEBOOK_TAGS = 20_000
MAX_CLEANED_CHARS = 64_000
NOTEBOOK_CHARS = 500_000


def notebook_budget() -> list[int]:
    """What one notebook's cells may use together: [tags, characters], decreased as they are cleaned."""
    return [NOTEBOOK_TAGS, NOTEBOOK_CHARS]


def _escaped(text: str) -> str:
    import html

    return f"<pre>{html.escape(text)}</pre>"


def _within(budget: list[int] | None, tags: int, chars: int) -> bool:
    """Whether text of ``tags`` tags and ``chars`` characters may be parsed; if so, charged to ``budget``."""
    if tags > MAX_CLEANED_TAGS or chars > MAX_CLEANED_CHARS:
        return False
    if budget is not None:
        if tags > budget[0] or chars > budget[1]:
            return False
        budget[0] -= tags
        budget[1] -= chars
    return True


def clean_html(text: str, budget: list[int] | None = None, rendered: bool = False) -> str:
    """``text`` with only the tags and attributes above; anything else (a <script>, an onerror) as escaped text.
    Text with more than MAX_CLEANED_TAGS tags or MAX_CLEANED_CHARS characters, or more than what is left of
    ``budget`` (the notebook's, ``notebook_budget()``, decreased here), is escaped whole. ``rendered``: markdown
    that ``safe_markdown`` rendered, its length already charged as source."""
    if not _within(budget, text.count("<"), 0 if rendered else len(text)):
        return _escaped(text)
    import bleach

    return bleach.clean(text, tags=_SAFE_TAGS, attributes=_SAFE_ATTRIBUTES, protocols=_SAFE_PROTOCOLS,
                        strip=False, strip_comments=True)


def safe_markdown(source: str, attachments: dict | None = None, budget: list[int] | None = None) -> str:
    """Markdown as the page would render it (nbconvert's own renderer), cleaned, on one line inside a <div>:
    the feedback template runs markdown cells through markdown2html again, which passes a one-line HTML
    block through unchanged (a newline inside <pre> is kept as &#10;)."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    from nbconvert.filters.markdown_mistune import InvalidNotebook

    if not _within(budget, 0, len(source)):
        cleaned = _escaped(source)
    else:
        try:
            rendered = MarkdownWithMath(renderer=IPythonRenderer(escape=False, attachments=attachments or {})).render(
                source)
        except InvalidNotebook:  # an image that names a missing attachment (a cell copied without its image)
            rendered = _escaped(source)
        cleaned = clean_html(rendered, budget, rendered=True)
    cleaned = cleaned.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "&#10;")
    return f'<div class="course-feedback-text">{cleaned}</div>'


class FeedbackOnly(NbGraderPreprocessor):
    """Feedback: test cells keep their visible part and their verdict; every other cell loses its outputs.
    Only the student's own text and the verdicts reach the page, and none of it can run there."""

    hidden_note = Unicode("# (hidden tests: not shown)").tag(config=True)

    def preprocess(self, nb, resources):
        # Widget state the kernel created (nbclient stores it in the notebook's metadata and the HTML page
        # renders it) is output too, and may have been made after a hidden test ran. Of the notebook's metadata
        # only what highlighting reads stays.
        nb.metadata = NotebookNode({key: nb.metadata[key] for key in ("kernelspec", "language_info")
                                    if isinstance(nb.metadata.get(key), dict)})
        self._tags = notebook_budget()  # clean_html's and safe_markdown's budget for this notebook
        nb, resources = super().preprocess(nb, resources)
        # The kernel reports each cell's execution count and may choose any integer (one that spells a hidden
        # line): the page numbers the code cells itself, in order.
        number = 0
        for cell in nb.cells:
            if cell.cell_type == "code":
                number += 1
                cell.execution_count = number
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        # Cell metadata the page shows: nbgrader's (grade id, points, score, the instructor's comment) and a raw
        # cell's format; tags, ids of tools and anything the kernel or the student added go.
        grading = cell.metadata.get("nbgrader")
        kept = {"nbgrader": grading} if isinstance(grading, dict) else {}
        if cell.cell_type == "raw" and isinstance(cell.metadata.get("raw_mimetype"), str):
            kept["raw_mimetype"] = cell.metadata["raw_mimetype"]
        cell.metadata = NotebookNode(kept)
        if isinstance(grading, dict):
            if "grade_id" in grading and not _GRADE_ID.fullmatch(str(grading["grade_id"])):
                grading["grade_id"] = re.sub(r"[^A-Za-z0-9_.\-]", "_", str(grading["grade_id"]))
            if isinstance(grading.get("comment"), str):
                grading["comment"] = safe_markdown(grading["comment"], budget=self._tags)
        if cell.cell_type == "markdown":
            cell.source = safe_markdown(cell.source, cell.pop("attachments", None), self._tags)
            return cell, resources
        if cell.cell_type == "raw":
            cell.source = clean_html(cell.source, self._tags)
            return cell, resources
        if cell.cell_type != "code":
            return cell, resources
        if utils.is_grade(cell) and not utils.is_solution(cell):
            if HIDDEN_BEGIN in cell.source:
                cell.source = visible_part(cell.source).rstrip() + "\n" + self.hidden_note
            kept = []
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and output.get("ename") == "TestFailed":
                    output["traceback"] = [f"TestFailed: {output.get('evalue', '')}"]
                    kept.append(output)
                elif output.get("output_type") == "stream" and output.get("name") == "stdout" and \
                        str(output.get("text", "")).startswith("✓ passed"):
                    kept.append(output)
            cell.outputs = kept
        else:
            cell.outputs = []
        return cell, resources


class SafeForInstructor(NbGraderPreprocessor):
    """Autograde (last, before the grades are saved): the instructor's graded copy runs nothing in a browser.

    nbgrader's formgrader shows that copy with a plain HTMLExporter (no cleaning, no Content-Security-Policy),
    in the instructor's browser on the Jupyter server's origin. So the student's markdown and raw cells are
    cleaned as on the feedback page (``safe_markdown``, ``clean_html``), outputs lose every kind a browser
    would run or render as a page (HTML, JavaScript, SVG, markdown, widget views), and the notebook loses the
    widget state the kernel left. Outputs lose their metadata too (an image's width or file name lands in the
    <img> tag). Text, images and the test's values (in the cell's metadata: the report reads them) stay."""

    ACTIVE = ("text/html", "application/javascript", "text/javascript", "image/svg+xml", "text/markdown",
              "application/vnd.jupyter.widget-view+json", "application/vnd.jupyter.widget-state+json")

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)
        self._tags = notebook_budget()
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type in ("markdown", "raw") and not utils.is_locked(cell):  # the instructor's own stay
            cell.source = safe_markdown(cell.source, cell.pop("attachments", None), self._tags) \
                if cell.cell_type == "markdown" else clean_html(cell.source, self._tags)
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if "metadata" in output:  # an image's width or filename is written into the <img> tag unquoted
                output["metadata"] = NotebookNode()
            data = output.get("data")
            if isinstance(data, dict) and any(kind in data for kind in self.ACTIVE):
                for kind in self.ACTIVE:
                    data.pop(kind, None)
                if not data:
                    data["text/plain"] = "[grader: output a browser would run or render as a page, removed]"
        return cell, resources
