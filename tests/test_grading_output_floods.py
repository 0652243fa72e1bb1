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


def _nested(levels: int, leaf=1):
    value = leaf
    for n in range(levels):
        value = [value] if n % 2 else {"k": value}
    return value


def test_the_depth_check_keeps_its_verdicts_and_holds_one_iterator_per_level():
    """The depth check runs on every message a kernel sends, before any size check. It kept one (item, depth)
    pair per element: a kernel's list of 20 million zeros (a 40 MB message) made the grader's process on the
    host grow by 1.5 GB (attack of 2026-12-06). It now holds one iterator per level of nesting."""
    import tracemalloc

    from course_utils.grading.preprocessors import MAX_OUTPUT_DEPTH, _shallow

    limit = MAX_OUTPUT_DEPTH
    assert _shallow(_nested(limit), limit) is True and _shallow(_nested(limit + 1), limit) is False  # the leaf counts
    assert _shallow(_nested(limit + 1, leaf=[]), limit) is False  # an empty list one level too deep counts too
    assert _shallow([1] * 1000 + [_nested(limit)], limit) is False and _shallow(_nested(10_000), limit) is False
    assert _shallow({"data": {"text/plain": "x"}, "metadata": {}}, limit) and _shallow(7, 0) and not _shallow(7, -1)
    zeros = {"data": {"application/json": [0] * 5_000_000}}
    tracemalloc.start()
    try:
        assert _shallow(zeros, limit)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"the depth check held {peak >> 20} MB for a flat list"
