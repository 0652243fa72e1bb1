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


def test_answers_and_choice_order_survive_a_kernel_restart(tmp_path, monkeypatch):
    # No COURSE_LEARNER / JUPYTERHUB_USER: the order comes from the id file kept beside the responses.
    monkeypatch.delenv("COURSE_LEARNER", raising=False)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    first = _run(
        tmp_path,
        "from course_utils import quiz\n"
        "view = quiz.build('02_trainer_api')\n"
        "first = view.views[0]\n"
        "first.selector.value = first.question.correct_ids[0]\n"
        "first.submit.click()  # the Submit button's own handler, in the kernel\n"
        "print(first.feedback.value)",
        "acc = quiz.build('loop.accelerate').views[0]\n"
        "quiz.answer('loop.accelerate', [acc.shown.letter_of(i) for i in acc.question.correct_ids])",
        "quiz.print_questions('chapter', lang='en')",
    )
    assert 'data-result="correct"' in _stdout(first.cells[0])
    printed_before = _stdout(first.cells[2])
    saved = json.loads((tmp_path / "quiz_responses.json").read_text(encoding="utf-8"))["answers"]
    from course_utils import quiz

    bank = quiz.load_bank()
    key, acc_keys = bank.questions["trainer.processing_class"].correct_ids, bank.questions["loop.accelerate"].correct_ids
    assert saved["trainer.processing_class"]["choices"] == key and saved["loop.accelerate"]["choices"] == acc_keys

    nb = _run(  # a new kernel: nothing in memory, only the files
        tmp_path,
        "from course_utils import quiz\n"
        "print(quiz.load_responses())",
        "view = quiz.build('chapter')\n"
        "by_id = {v.question.id: v for v in view.views}\n"
        "print(by_id['trainer.processing_class'].selector.value, [c.value for c in by_id['loop.accelerate'].checks])",
        "quiz.show('02_trainer_api')",
        "quiz.print_questions('chapter', lang='en')",
    )
    assert _stdout(nb.cells[0]).strip() == str({"loop.accelerate": acc_keys, "trainer.processing_class": key})
    acc_shown = quiz.shown(bank.questions["loop.accelerate"], (tmp_path / ".quiz_learner_id").read_text().strip())
    assert _stdout(nb.cells[1]).strip() == f"{key[0]} {[c.correct for c in acc_shown.choices]}"
    assert _stdout(nb.cells[3]) == printed_before  # the same learner, the same order and letters
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
    n_single = sum(not q.numeric and not q.multiple for q in bank.select("02_trainer_api"))
    assert len(radios) == n_single
    picked = radios[0]["_options_labels"][radios[0]["index"]]
    assert picked.split(") ", 1)[1] == "It names the model's tokenizer: the Trainer saves it with each checkpoint and, by default, pads batches with it."
    assert f"  {picked}" in printed_before  # the same letter as in the printed quiz
    assert [r["index"] for r in radios[1:]] == [None] * (n_single - 1)
    feedback = [m["state"]["value"] for m in shown_models
                if m["model_name"] == "HTMLModel" and "course-quiz-feedback" in m["state"].get("_dom_classes", [])]
    assert 'data-result="correct"' in feedback[0] and feedback[1] == ""
