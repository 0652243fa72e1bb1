# Two commands do everything on a fresh machine: `make lab` and `make test`.
# Every target bootstraps .venv on first use (python3 -m venv + pip install).
# Other parts of the project add their targets in mk/*.mk.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.course-installed
# Maintainers keep the real GLUE MRPC files beside the project (../shared);
# when they are there, lessons, tests and benchmarks read them. Learners set
# COURSE_DATA_DIR themselves or get the Hub / the built-in paraphrase set.
SHARED_MRPC := $(wildcard $(abspath ../shared/data/mrpc))
ifneq ($(SHARED_MRPC),)
export COURSE_DATA_DIR ?= $(SHARED_MRPC)
endif
# Offline and smoke settings for the test suite: no cell may wait on the Hub.
TEST_ENV := COURSE_SMOKE=1 HF_HUB_OFFLINE=1 TQDM_DISABLE=1 TOKENIZERS_PARALLELISM=false

.PHONY: help install lab test run doctor sync strip clean
.DEFAULT_GOAL := help

help:
	@echo "make lab      open the lessons in JupyterLab (sets everything up on first use)"
	@echo "make test     the whole test suite (unit, notebooks in smoke mode, grading, browser)"
	@echo "make run      execute every lesson headless into build/ (COURSE_SMOKE=1 for a quick run)"
	@echo "make doctor   what this machine can do: versions, GPU, fp16/bf16, Hub, offline weights, data"
	@echo "make release / autograde / feedback / grades / report   the nbgrader round trip (grading/README.md)"
	@echo "make bench    benchmarks into build/benchmarks.md"
	@echo "make sync     copy English code cells into the Korean lessons; make strip: clear notebook outputs"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[offline,dev]"
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

test: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -p tools.site.nbval_capture tests notebooks --nbval-lax --nbval-current-env --nbval-cell-timeout=900 --junitxml=build/test-results.xml

run: $(STAMP)
	TQDM_DISABLE=1 $(PY) tools/run_lessons.py notebooks/en notebooks/ko

doctor: $(STAMP)
	$(PY) -m course_utils.doctor

sync: $(STAMP)
	$(PY) tools/sync_code_cells.py

strip: $(STAMP)
	$(PY) tools/strip_notebooks.py

clean:
	rm -rf build notebooks/*/test-trainer* notebooks/*/*_trainer notebooks/*/*-trainer notebooks/*/08-* notebooks/*/trainer_output

-include mk/*.mk
