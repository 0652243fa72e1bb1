"""nbgrader pieces that make autograde and feedback robust (grading/nbgrader_config.py, grading/README.md).

* ``SandboxKernelManager``: kernels talk over Unix sockets (ipc) in a private
  folder, so the sandboxed kernel needs no network (grading_sandbox.py binds
  only that folder).
* ``RobustExecute``: nbgrader's ``Execute`` that survives what a submission
  can do to its kernel: a crash (``os._exit``) or a cell that never returns
  marks the remaining cells as failed instead of aborting the notebook, so
  tests that passed before still count; output beyond a limit is dropped
  while it arrives (a flood cannot exhaust the grader's memory).
* ``HideHiddenTests``: feedback shows the visible tests and each failure's
  message, never the hidden tests' code nor a traceback that quotes it
  (nbgrader #917, #1363).

nbgrader 0.9.6 has none of these, so they are written by hand on top of its classes.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.preprocessors.clearhiddentests import ClearHiddenTests
from nbgrader import utils
from traitlets import Integer, Unicode


class SandboxKernelManager(AsyncKernelManager):
    """Kernel manager whose connection file and ipc sockets live in a private temporary folder."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._private_dir = tempfile.mkdtemp(prefix="course-kernel-")
        os.chmod(self._private_dir, 0o700)
        self.transport = "ipc"
        self.connection_file = os.path.join(self._private_dir, "kernel.json")
        self.ip = os.path.join(self._private_dir, "kernel-ipc")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._private_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class RobustExecute(Execute):
    """nbgrader's Execute, but one crashed or stuck kernel fails only the cells it could not run."""

    max_output_chars = Integer(100_000, help="Characters of output kept per cell; the rest is dropped.").tag(
        config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._kernel_lost = ""
        self._output_chars: dict[int, int] = {}
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, self.resources
        if self._kernel_lost:
            cell.outputs = [_error_output("KernelLost", f"not run: {self._kernel_lost}")]
            return cell, self.resources
        try:
            super().preprocess_cell(cell, resources, index)
            if any(out.get("ename") == "CellTimeoutError" for out in cell.outputs) and not self._kernel_answers():
                self._kernel_lost = f"an earlier cell ran longer than {self.timeout} s and could not be interrupted"
                self.log.warning("Cell %d timed out and the kernel did not stop; later cells are marked failed", index)
            return cell, self.resources
        except DeadKernelError:
            self._kernel_lost = "the kernel died in an earlier cell (os._exit, a crash or out of memory)"
            self.log.warning("Kernel died in cell %d; later cells are marked failed", index)
            cell.outputs.append(_error_output("DeadKernelError", "the kernel died while running this cell"))
        except CellTimeoutError:
            self._kernel_lost = f"an earlier cell ran longer than {self.timeout} s and could not be interrupted"
            self.log.warning("Cell %d timed out and the kernel did not stop; later cells are marked failed", index)
            cell.outputs.append(_error_output("CellTimeoutError", f"no reply within {self.timeout} s"))
        return cell, self.resources

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

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "error":  # errors decide the grade: always kept
            return super().output(outs, msg, display_id, cell_index)
        content = msg.get("content", {})
        size = len(str(content.get("text", ""))) + len(str(content.get("data", "")))
        used = self._output_chars.get(cell_index, 0)
        self._output_chars[cell_index] = used + size
        if used + size <= self.max_output_chars:
            return super().output(outs, msg, display_id, cell_index)
        if used < self.max_output_chars:  # the first message over the limit: keep its head, then a note
            if msg["msg_type"] == "stream":
                content["text"] = str(content.get("text", ""))[: self.max_output_chars - used]
                super().output(outs, msg, display_id, cell_index)
            outs.append(NotebookNode(output_type="stream", name="stderr",
                                     text=f"\n[grader: output beyond {self.max_output_chars} characters dropped]\n"))
        return None


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback: remove hidden test code from test cells and tracebacks, keep the failure message."""

    begin = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end = Unicode("END HIDDEN TESTS").tag(config=True)
    hidden_note = Unicode("# (hidden tests: not shown)").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
            return cell, resources
        hidden_lines = self._hidden_lines(cell.source)
        if self.begin in cell.source:
            clearer = ClearHiddenTests(begin_test_delimeter=self.begin, end_test_delimeter=self.end)
            clearer._remove_hidden_test_region(cell)
            cell.source = cell.source.rstrip() + "\n" + self.hidden_note
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                # the traceback quotes the failing lines (hidden tests included): keep name and message only
                evalue = re.sub(r"\x1b\[[0-9;]*m", "", str(output.get("evalue", "")))
                if any(line in evalue for line in hidden_lines):
                    evalue = "(message hidden: it quoted a hidden test)"
                output["evalue"] = evalue
                output["traceback"] = [f"{output.get('ename', 'Error')}: {evalue}"]
                kept.append(output)
            elif not any(line in str(output) for line in hidden_lines):
                kept.append(output)
        if "outputs" in cell:
            cell.outputs = kept
        return cell, resources

    def _hidden_lines(self, source: str) -> list[str]:
        """Lines of the hidden region worth searching for in outputs (short ones would match anything)."""
        lines, inside = [], False
        for line in source.splitlines():
            if self.begin in line:
                inside = True
            elif self.end in line:
                inside = False
            elif inside and len(line.strip()) >= 12:
                lines.append(line.strip())
        return lines


class RebuildFromSource(NbGraderPreprocessor):
    """Autograde: rebuild the submission on the instructor's source notebook.

    Every cell of the source comes back in its place with its source-notebook
    metadata (read-only cells, visible and hidden tests, points), except the
    answers: each solution cell is the student's first cell with that id (or the
    stub if they deleted it). Cells the student added stay right after the cell
    they followed, as plain cells: their nbgrader metadata is removed, so a
    duplicated, renamed or forged test cell can neither add nor remove points.
    Test and set-up cell sources come from the gradebook (what was released).

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
        solution_ids = {grade_id for grade_id, cell in zip(template_ids, source.cells)
                        if grade_id and utils.is_solution(cell)}
        answers: dict[str, NotebookNode] = {}
        submitted: dict[str, str] = {}
        extras: dict[str | None, list[NotebookNode]] = {}
        anchor = None
        for cell in nb.cells:
            grade_id = self._grade_id(cell)
            if grade_id in template_ids and grade_id not in answers and (
                    grade_id not in solution_ids or cell.cell_type == source.cells[template_ids.index(grade_id)].cell_type):
                anchor = grade_id
                submitted[grade_id] = cell.source
                if grade_id in solution_ids:
                    answers[grade_id] = cell
                continue
            cell.metadata.pop("nbgrader", None)  # added, duplicated or renamed: a plain cell
            for key in ("deletable", "editable"):
                cell.metadata.pop(key, None)
            extras.setdefault(anchor, []).append(cell)
        cells: list = []
        # Cells added above everything run after the first set-up cell, never before the course's own code.
        first_code = next((i for i, c in enumerate(source.cells) if c.cell_type == "code"), -1)
        if first_code < 0:
            cells.extend(extras.get(None, []))
        for position, (grade_id, template) in enumerate(zip(template_ids, source.cells)):
            if grade_id in answers:
                cell = answers[grade_id]
                cell.metadata["nbgrader"] = dict(template.metadata["nbgrader"])
            else:
                cell = nbformat.from_dict(dict(template))
                if grade_id in released:
                    cell.source = released[grade_id]
                elif grade_id in solution_ids:
                    cell.source = ""
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
                if grade_id and grade_id not in solution_ids and submitted.get(grade_id) != cell.source:
                    self.log.warning("Cell %s was %s: restored from the gradebook", grade_id,
                                     "changed" if grade_id in submitted else "missing")
            cells.append(cell)
            if position == first_code:
                cells.extend(extras.get(None, []))
            if grade_id:
                cells.extend(extras.get(grade_id, []))
        nb.cells = cells
        nb.metadata["kernelspec"] = source.metadata.get("kernelspec", nb.metadata.get("kernelspec", {}))
        return nb, resources

    @staticmethod
    def _grade_id(cell) -> str | None:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        return grade_id if isinstance(grade_id, str) else None


class StrictTestOutputs(NbGraderPreprocessor):
    """Autograde: a test cell scores by one rule, error or no error.

    nbgrader reads partial credit from the first ``execute_result`` of a test
    cell, before any error, and gives 0 for any stderr text. A submission's
    function, called by a test, can publish such a result itself (e.g. through
    ``get_ipython().displayhook``) and a library warning on stderr would cost a
    right answer its points; so both are removed from test cells before
    SaveAutoGrades. Partial credit comes from one test cell per part instead.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            cell.outputs = [out for out in cell.outputs if out.get("output_type") != "execute_result"
                            and not (out.get("output_type") == "stream" and out.get("name") == "stderr")]
        return cell, resources
