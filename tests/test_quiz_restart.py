"""Answers survive a kernel restart: one real kernel answers, a fresh kernel shows them preselected (nbclient)."""
from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.timeout(300)


def _run(folder, *cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    # The kernel starts in the notebook's folder, as in Jupyter, nbval and nbgrader.
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def _stdout(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def test_answers_survive_a_kernel_restart(tmp_path):
    _run(
        tmp_path,
        "from course_utils import quiz\n"
        "view = quiz.build('02_trainer_api')\n"
        "first = view.views[0]\n"
        "first.selector.value = 'b'\n"
        "first.submit.click()  # the Submit button's own handler, in the kernel\n"
        "print(first.feedback.value)",
        "quiz.answer('loop.accelerate', 'a,b')",
    )
    saved = json.loads((tmp_path / "quiz_responses.json").read_text(encoding="utf-8"))["answers"]
    assert saved["trainer.processing_class"]["letters"] == ["b"] and saved["loop.accelerate"]["letters"] == ["a", "b"]

    nb = _run(  # a new kernel: nothing in memory, only the file
        tmp_path,
        "from course_utils import quiz\n"
        "print(quiz.load_responses())",
        "view = quiz.build('chapter')\n"
        "by_id = {v.question.id: v for v in view.views}\n"
        "print(by_id['trainer.processing_class'].selector.value, [c.value for c in by_id['loop.accelerate'].checks])",
        "quiz.show('02_trainer_api')",
    )
    assert _stdout(nb.cells[0]).strip() == "{'loop.accelerate': ['a', 'b'], 'trainer.processing_class': ['b']}"
    assert _stdout(nb.cells[1]).strip() == "b [True, True, False, False]"
    shown = [o for o in nb.cells[2].outputs if o.output_type == "display_data"]
    assert len(shown) == 1 and "application/vnd.jupyter.widget-view+json" in shown[0].data
    assert not nb.cells[2].outputs[0].get("execution_count")  # display_data, not an execute_result
    # The state of the displayed widget, as the front end received it: the saved answer is
    # preselected and its feedback shown.
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]

    def tree(model_id):
        model = state[model_id]
        yield model
        for child in model["state"].get("children", []):
            yield from tree(child.removeprefix("IPY_MODEL_"))

    shown_models = list(tree(shown[0].data["application/vnd.jupyter.widget-view+json"]["model_id"]))
    radios = [m["state"] for m in shown_models if m["model_name"] == "RadioButtonsModel"]
    assert len(radios) == 4  # lesson 2 has four one-answer questions
    assert radios[0]["index"] == 1 and radios[0]["_options_labels"][1].startswith("b) It tells the Trainer")
    assert [r["index"] for r in radios[1:]] == [None, None, None]
    feedback = [m["state"]["value"] for m in shown_models
                if m["model_name"] == "HTMLModel" and "course-quiz-feedback" in m["state"].get("_dom_classes", [])]
    assert len(feedback) == 4 and 'data-result="correct"' in feedback[0] and feedback[1] == ""
