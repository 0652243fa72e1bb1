"""GLUE MRPC's columns and labels: what the local files, the Hub copy and the built-in paraphrase set share."""
from __future__ import annotations

LABEL_NAMES = ["not_equivalent", "equivalent"]


def mrpc_features():
    """GLUE MRPC's features: sentence1, sentence2, label (ClassLabel), idx."""
    from datasets import ClassLabel, Features, Value

    return Features({"sentence1": Value("string"), "sentence2": Value("string"),
                     "label": ClassLabel(names=LABEL_NAMES), "idx": Value("int32")})
