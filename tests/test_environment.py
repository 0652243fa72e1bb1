"""course_utils.environment, precision, messages, errors and doctor."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import nbformat
import pytest
from nbclient import NotebookClient

import course_utils as cu
from course_utils import messages


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_hub_falls_back_within_3_seconds(fresh_probe, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    start = time.perf_counter()
    assert fresh_probe.hub_reachable() is False
    assert time.perf_counter() - start < 3
    for name in fresh_probe._OFFLINE_VARIABLES:
        assert os.environ[name] == "1"
    import datasets
    import huggingface_hub

    assert huggingface_hub.constants.HF_HUB_OFFLINE is True
    assert datasets.config.HF_HUB_OFFLINE is True


def test_real_endpoint_probe_answers_within_3_seconds(fresh_probe):
    start = time.perf_counter()
    fresh_probe.hub_reachable()
    assert time.perf_counter() - start < 3.5


def test_probe_is_cached_and_respects_offline_variable(fresh_probe, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert fresh_probe.hub_reachable() is False
    assert fresh_probe.hub_status_reason() == "HF_HUB_OFFLINE=1"
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert fresh_probe.hub_reachable() is False  # cached: no second probe


def test_after_the_probe_hub_calls_fail_fast_instead_of_retrying(fresh_probe, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    fresh_probe.hub_reachable()
    from datasets import load_dataset

    start = time.perf_counter()
    with pytest.raises(Exception):
        load_dataset("glue", "mrpc")
    assert time.perf_counter() - start < 10  # an unreachable Hub without offline mode costs ~48 s


def test_setup_prints_one_line_each_and_seeds(capsys, monkeypatch):
    import torch

    monkeypatch.setenv("COURSE_SMOKE", "1")
    env = cu.setup(lang="en", seed=7)
    first = torch.rand(3)
    cu.setup(lang="en", seed=7)
    assert torch.equal(first, torch.rand(3))
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6 and lines[0].startswith("Hugging Face Hub")
    assert env.smoke and env.device in {"cpu", "cuda", "mps"} and env.language == "en"


def test_precision_on_this_machine_never_asks_for_fp16_without_cuda():
    import torch

    support = cu.precision_support()
    assert set(support) == {"fp16", "bf16"}
    if not torch.cuda.is_available():
        assert support["fp16"] is False
        kwargs = cu.mixed_precision_kwargs()
        from course_utils.device import detect_device

        if detect_device()[0] == "cpu" and support["bf16"]:
            assert kwargs == {"bf16": True, "use_cpu": True}
            from transformers import TrainingArguments

            assert TrainingArguments("/tmp/precision-check", report_to="none", **kwargs).bf16  # accepted on a CPU
        else:
            assert kwargs == {}
    else:
        assert cu.mixed_precision_kwargs() in ({"fp16": True}, {"bf16": True})


def test_messages_exist_in_both_languages_and_differ():
    for key, entry in messages.MESSAGES.items():
        assert set(entry) == {"en", "ko"}, key
    assert messages.text("hub_online", lang="ko") != messages.text("hub_online", lang="en")


def test_unknown_language_is_one_clear_error():
    with pytest.raises(cu.CourseError, match="Unknown language 'fr'"):
        cu.set_language("fr")


def test_lesson_language_follows_the_notebook_folder(tmp_path, monkeypatch):
    from course_utils.language import lesson_language

    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    (tmp_path / "ko").mkdir()
    monkeypatch.chdir(tmp_path / "ko")
    assert lesson_language() == "ko"
    monkeypatch.setenv("JPY_SESSION_NAME", "/x/notebooks/en/01_preprocessing.ipynb")
    assert lesson_language() == "en"


def test_course_error_in_a_notebook_is_one_line_and_still_an_error(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import course_utils as cu\nenv = cu.setup()"),
                nbformat.v4.new_code_cell("cu.read_mrpc_folder('/no/such/folder')")]
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    error = nb.cells[1].outputs[-1]
    assert error.output_type == "error" and error.ename == "CourseError"
    assert error.traceback == ["CourseError: MRPC folder /no/such/folder does not exist. Set COURSE_DATA_DIR "
                               "(or data_dir=) to a folder with train.tsv, dev.tsv and test.tsv in GLUE MRPC format."]


@pytest.mark.parametrize("lang, title", [("en", "Course doctor"), ("ko", "강좌 점검")])
def test_doctor_reports_everything_it_promises(lang, title, shared_mrpc):
    env = {**os.environ, "COURSE_LANG": lang, "COURSE_DATA_DIR": str(shared_mrpc)}
    out = subprocess.run([sys.executable, "-m", "course_utils.doctor"], env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert out.startswith(title)
    hub = "Hugging Face Hub" if lang == "en" else "Hugging Face 허브"
    for needle in ("torch ", "transformers ", "fp16", "bf16", hub, "sha256", "3668", "make bench"):
        assert needle in out, needle
    if lang == "ko":  # every label and value a learner reads is Korean (versions and paths aside)
        for needle in ("버전", "고정 버전", "장치", "혼합 정밀도", "오프라인 가중치", "로컬 MRPC", "크기 모드",
                       "채점 샌드박스"):
            assert needle in out, needle
        assert re.search(r"fp16 (지원|지원 안 함), bf16 (지원|지원 안 함)\.", out), out
        assert not re.search(r"\b(fp16|bf16) (yes|no)\b", out) and " installed" not in out, out


# Korean: no particle guessed after a value; make doctor in Korean ------------------------------------------------

PARTICLE_AFTER_VALUE = re.compile(r"\}(이|가|을|를|은|는|으로|로|과|와)\b"
                                  r"|\}\([가-힣]\)|\}(이)?라는")  # also "{x}(으)로" and "{x}라는"
# Keys whose particle after a placeholder is proved right for every value it can take: none so far.
PARTICLE_PROVED = {}


def test_no_korean_message_guesses_a_particle_after_a_value():
    """"{n}이" is right for 3 (삼이) and wrong for 2 (이이): a particle after a value depends on how the value is
    read, so the Korean texts put a noun, a colon or 입니다 there instead (은(는), 이(가) included)."""
    bad = {key: entry["ko"] for key, entry in messages.MESSAGES.items()
           if PARTICLE_AFTER_VALUE.search(entry["ko"]) and key not in PARTICLE_PROVED}
    assert not bad, bad


def test_the_particle_check_catches_what_it_should():
    for text in ("{effective}이 아닙니다", "{name}은(는) 지원합니다", "{qid!r}를 쓰세요", "{backup}(으)로",
                 "{path}으로", "{a}와 {b}", "{qid!r}라는 문제"):
        assert PARTICLE_AFTER_VALUE.search(text), text
    for text in ("{n}개가", "{k}가지", "{path}에서", "{n}입니다", "{lock}의 버전", "폴더({want!r})가",
                 "{name}(COURSE_CHECKPOINT에서 지정)"):
        assert not PARTICLE_AFTER_VALUE.search(text), text


def test_korean_messages_use_the_glossary():
    """The lessons say 허브 in Korean prose (also in "Hugging Face 허브"; "Hugging Face Hub" may stay as a label), and
    작업 is only a task (glossary), never a process or job."""
    for key, entry in messages.MESSAGES.items():
        ko = entry["ko"]
        assert "작업" not in ko, key
        assert "Hub" not in ko.replace("Hugging Face Hub", ""), key
        assert "데이터 세트" not in ko and "체크 포인트" not in ko, key


def test_doctor_rows_in_korean(monkeypatch, tmp_path):
    from course_utils import doctor

    monkeypatch.setenv("COURSE_LANG", "ko")
    lock = tmp_path / "lock.txt"
    lock.write_text("no-such-dist-here==1.0\n", encoding="utf-8")
    assert doctor.lock_differences(lock) == (1, ["no-such-dist-here - (고정 버전 1.0)"])
    monkeypatch.setattr(doctor, "LOCK_DIR", tmp_path)  # no lock beside this install
    assert doctor.lock_row() == "이 설치본에는 고정 버전 파일이 함께 있지 않습니다(Colab처럼 패키지로 설치한 경우)"
    (tmp_path / f"{doctor.installed_set()}.txt").write_text("no-such-dist-here==1.0\n", encoding="utf-8")
    assert doctor.lock_row().startswith("1개 중 1개가 requirements/")
    (tmp_path / f"{doctor.installed_set()}.txt").write_text("", encoding="utf-8")
    assert doctor.lock_row() == f"requirements/{doctor.installed_set()}.txt에 고정된 버전 0개가 모두 설치됨"
    import course_utils.grading.sandbox as sandbox

    monkeypatch.setattr(sandbox, "preflight", lambda: None)
    assert doctor.grading_sandbox_status() == (True, messages.text("doctor_sandbox_ready", lang="ko"))
    assert doctor.grading_sandbox_status()[1].startswith("이 컴퓨터에서 채점 샌드박스가 시작됩니다")
