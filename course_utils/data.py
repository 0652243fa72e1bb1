"""GLUE MRPC from wherever it can be had, always as a ``DatasetDict``.

Used by every lesson's set-up: ``raw_datasets = load_mrpc()``.
Order: a folder the learner names (argument or COURSE_DATA_DIR, GLUE TSV
files as in ``../shared/data/mrpc/``); else the Hub (``load_dataset("glue",
"mrpc")``); else the course's paraphrase set. One line says which was used.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

from . import messages
from .errors import CourseError
from .features import LABEL_NAMES, mrpc_features  # noqa: F401  (data's public names)

TSV_FILES = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}
TSV_COLUMNS = {"Quality": "label", "#1 String": "sentence1", "#2 String": "sentence2"}
SMOKE_SIZES = {"train": 64, "validation": 32, "test": 32}


def _read_tsv(path: Path) -> dict[str, list]:
    """One GLUE MRPC TSV file (BOM, tabs, quotes kept as text) into columns."""
    if not path.is_file():
        raise CourseError(messages.text("data_tsv_missing", path=path, files=", ".join(TSV_FILES.values())))
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in TSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CourseError(messages.text("data_tsv_column_missing", path=path, column=missing[0],
                                            found=reader.fieldnames))
        rows = {"sentence1": [], "sentence2": [], "label": [], "idx": []}
        for line, record in enumerate(reader, start=2):
            label = (record["Quality"] or "").strip()
            if label not in ("0", "1"):
                raise CourseError(messages.text("data_tsv_bad_label", path=path, line=line, label=label))
            rows["sentence1"].append(record["#1 String"] or "")
            rows["sentence2"].append(record["#2 String"] or "")
            rows["label"].append(int(label))
            rows["idx"].append(len(rows["idx"]))
    if not rows["label"]:
        raise CourseError(messages.text("data_tsv_no_rows", path=path))
    return rows


def read_mrpc_folder(folder: str | os.PathLike):
    """GLUE MRPC TSV files in ``folder`` as a DatasetDict like load_dataset's."""
    from datasets import Dataset, DatasetDict

    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise CourseError(messages.text("data_folder_missing", folder=folder))
    return DatasetDict({split: Dataset.from_dict(_read_tsv(folder / name), features=mrpc_features())
                        for split, name in TSV_FILES.items()})


def check_pair_dataset(datasets, text_columns=("sentence1", "sentence2"), label_column="label", num_labels=2):
    """Raise one clear CourseError if a DatasetDict is not ready for pair classification.

    Checks: every split has rows, the text and label columns exist, and labels
    lie in 0..num_labels-1 (-1, GLUE's hidden test label, is allowed).
    """
    for split, dataset in datasets.items():
        if len(dataset) == 0:
            raise CourseError(messages.text("data_split_empty", split=split))
        for column in (*text_columns, label_column):
            if column not in dataset.column_names:
                raise CourseError(messages.text("data_split_no_column", split=split, column=column,
                                                columns=dataset.column_names))
        bad = sorted({int(v) for v in dataset[label_column] if not (-1 <= int(v) < num_labels)})
        if bad:
            raise CourseError(messages.text("data_split_bad_label", split=split, label=bad[0], top=num_labels - 1,
                                            n=max(bad) + 1))
    return datasets


def load_mrpc(data_dir: str | os.PathLike | None = None):
    """GLUE MRPC as a DatasetDict (train/validation/test), from the best source here."""
    from .environment import hub_reachable

    folder = data_dir or os.environ.get("COURSE_DATA_DIR")
    if folder:
        datasets = read_mrpc_folder(folder)
        messages.say("data_local", path=Path(folder).expanduser())
    elif hub_reachable():
        from datasets import load_dataset

        datasets = load_dataset("glue", "mrpc")
        messages.say("data_hub")
    else:
        from .paraphrase import paraphrase_dataset

        datasets = paraphrase_dataset()
        messages.say("data_paraphrase")
    return check_pair_dataset(datasets)


def smoke_subset(datasets, sizes: dict[str, int] | None = None, seed: int = 42):
    """In smoke mode, a shuffled few examples per split; otherwise ``datasets`` unchanged."""
    from .environment import is_smoke

    if not is_smoke():
        return datasets
    sizes = sizes or SMOKE_SIZES
    small = datasets.__class__({
        split: ds.shuffle(seed=seed).select(range(min(len(ds), sizes.get(split, 32))))
        for split, ds in datasets.items()
    })
    messages.say("smoke_subset", sizes="/".join(str(len(small[s])) for s in small))
    return small
