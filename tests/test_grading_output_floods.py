"""RobustExecute against floods of tiny messages a student's kernel can send (no kernel needed: the messages are
fed to process_message as nbclient would)."""
from __future__ import annotations


def test_a_flood_of_invalid_outputs_leaves_one_note_per_cell():
    """A kernel the student controls can send a million tiny error messages nbformat refuses (an int as ename):
    each used to add a grader note, unbudgeted, until the notebook outgrew the run; now one note per cell."""
    from nbformat.v4 import new_code_cell

    from course_utils.grading.preprocessors import RobustExecute

    ex = RobustExecute()
    ex._kernel_lost, ex._lost_kind = "", "KernelLost"  # what preprocess() sets before the first cell
    ex._output_chars, ex._notebook_chars, ex._payloads, ex._noted = {}, 0, {}, set()
    cell = new_code_cell("flood()")
    for n in range(500):
        ex.process_message({"msg_type": "error", "header": {"msg_type": "error"}, "parent_header": {"msg_id": "m"},
                            "content": {"ename": n, "evalue": "e", "traceback": []}}, cell, 0)
    assert [o.get("text", "") for o in cell.outputs] == ["[grader: an output that is not valid notebook output, dropped]\n"]
