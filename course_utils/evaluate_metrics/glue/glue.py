"""A local copy of the GLUE metric for MRPC, loaded with ``evaluate.load(path, "mrpc")``.

Used by lessons 3-6 when the Hub (where ``evaluate.load("glue", "mrpc")``
lives) is unreachable. Same keys and values as the Hub's module for MRPC
(accuracy, f1), computed with scikit-learn as that module does. Written by
hand only because the Hub's module cannot be fetched offline.
"""
# evaluate's import checker needs one dependency per line.
import datasets
import evaluate
from sklearn.metrics import f1_score

_DESCRIPTION = "GLUE MRPC metric: accuracy and F1 of the positive (equivalent) class."
_KWARGS = "predictions: list of 0/1 predictions; references: list of 0/1 labels. Returns accuracy, f1."


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class Glue(evaluate.Metric):
    def _info(self):
        if self.config_name not in ("mrpc", "qqp"):
            raise KeyError(f"This local GLUE metric supports 'mrpc' and 'qqp', not {self.config_name!r}.")
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("int64"),
                                        "references": datasets.Value("int64")}),
            format="numpy",
        )

    def _compute(self, predictions, references):
        accuracy = float((predictions == references).mean())
        return {"accuracy": accuracy, "f1": float(f1_score(y_true=references, y_pred=predictions))}
