# Two commands do everything on a fresh machine: `make lab` and `make test`.
# Every target sets up .venv on first use from the lock, requirements/*.txt,
# one set per audience: `make lab` the learner's (lessons, quizzes,
# JupyterLab), the instructor targets add nbgrader, `make test` adds the test
# tools. Other parts of the project add their targets in mk/*.mk; a target
# that needs more than the learner's set names $(GRADING_STAMP) or $(TEST_STAMP).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
LOCK_DIR := requirements
# One stamp per installed set; a set includes the ones before it (lab < grading < test).
LAB_STAMP := $(VENV)/.course-lab
GRADING_STAMP := $(VENV)/.course-grading
TEST_STAMP := $(VENV)/.course-test
STAMP := $(LAB_STAMP)
# Maintainers keep the real GLUE MRPC files beside the project (../shared);
# when they are there, lessons, tests and benchmarks read them. Learners set
# COURSE_DATA_DIR themselves or get the Hub / the built-in paraphrase set.
SHARED_MRPC := $(wildcard $(abspath ../shared/data/mrpc))
ifneq ($(SHARED_MRPC),)
export COURSE_DATA_DIR ?= $(SHARED_MRPC)
endif
# Offline and smoke settings for the test suite: no cell may wait on the Hub.
TEST_ENV := COURSE_SMOKE=1 HF_HUB_OFFLINE=1 TQDM_DISABLE=1 TOKENIZERS_PARALLELISM=false

.PHONY: help install lab test test-integration test-bench run doctor sync strip clean lock test-latest system-packages system-check ci-lint
.DEFAULT_GOAL := help

help:
	@echo "make lab      open the lessons in JupyterLab (sets up the learner's .venv on first use)"
	@echo "make test     the test suite (unit, notebooks in smoke mode, grading, browser, site); make test-integration: the deployment flows"
	@echo "make test-bench   the benchmarks' quick runs that train (CI runs them beside make test)"
	@echo "make test-integration   JupyterHub with both exchanges, and a term of late work (CI runs it after make test)"
	@echo "make run      execute every lesson headless into build/ (COURSE_SMOKE=1 for a quick run)"
	@echo "make doctor   what this machine can do: versions against the lock, GPU, fp16/bf16, Hub, weights, data, grading sandbox"
	@echo "make policy / release / collect / autograde / regrade / feedback / grades / report   the nbgrader round trip (grading/README.md)"
	@echo "make bench    benchmarks into build/benchmarks.md"
	@echo "make sync     copy English code cells into the Korean lessons, write the repository URL of pyproject.toml into badges and Colab cells; make strip: clear notebook outputs"
	@echo "make system-packages   the Debian packages make test needs (apt-get, as root or with sudo)"
	@echo "make lock     refresh requirements/*.txt to the newest releases (then run make test)"
	@echo "make test-latest   the suite in build/latest-venv with the newest releases, ignoring the lock"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# tools/install.py: the locked set, torch as a CPU build on Linux without an NVIDIA GPU.
$(LAB_STAMP): $(LOCK_DIR)/lab.txt pyproject.toml | $(PY)
	$(PY) tools/install.py lab
	touch $@

$(GRADING_STAMP): $(LOCK_DIR)/grading.txt pyproject.toml | $(PY)
	$(PY) tools/install.py grading
	touch $(LAB_STAMP) $@

$(TEST_STAMP): $(LOCK_DIR)/test.txt pyproject.toml | $(PY)
	$(PY) tools/install.py test
	touch $(LAB_STAMP) $(GRADING_STAMP) $@

install: $(LAB_STAMP)

# tools/lab.py: jupyter lab on notebooks/ (COURSE_LANG=ko: notebooks/ko, another language: notebooks/en); as root,
# one line first says how to go on. LAB_ARGS goes to jupyter lab as it is: make lab LAB_ARGS=--allow-root.
LAB_ARGS ?=
lab: $(LAB_STAMP)
	$(PY) tools/lab.py $(LAB_ARGS)

# system-check first: it names a missing Debian package before anything is installed or run.
# Two pytest commands: everything but the site on TEST_WORKERS xdist workers (--dist loadfile keeps each
# file, and so each lesson's kernel, on one worker), then the site, built from the lessons just executed
# (tools/site/nbval_capture.py leaves a ledger of them). TEST_WORKERS=0 runs the first part in one process.
# Three workers on 2 cores: the browser, Hub and grading tests wait on processes and sockets, and a third
# worker fills those waits (vmstat over a clean-clone run: 0 % idle). The benchmarks' quick runs that train
# are in `make test-bench`; the two whole deployment flows (JupyterHub with both exchanges, a term of late
# work and regrades, tests marked `integration`) are in `make test-integration`, which .ci/run runs after
# `make test` (387 of the 3,200 worker-seconds of the last clean-clone make test, 18.6 minutes; 157 CPU-seconds
# when run alone).
# One torch/OpenMP thread per process: two workers with two spinning OpenMP threads each on 2 cores made a
# lesson-6 training run 8.7 times slower (251 s against 29 s, one run after the other at load 3.4–3.9).
TEST_WORKERS ?= 3
test: system-check $(TEST_STAMP)
	$(TEST_ENV) OMP_NUM_THREADS=1 $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -p tools.site.nbval_capture tests notebooks \
		--ignore=tests/test_site.py -m "not bench_quick and not integration" --nbval-lax --nbval-current-env --nbval-cell-timeout=900 --durations=15 --junitxml=build/test-results.xml
	$(TEST_ENV) $(PY) -m pytest -p tools.site.nbval_capture tests/test_site.py --junitxml=build/test-results-site.xml

# The whole deployment flows (tests marked integration): JupyterHub with the file-system exchange and ngshare
# (needs root and make hub-deps), and a term with late work, an extension and a regrade; one xdist worker each.
test-integration: system-check $(TEST_STAMP)
	$(TEST_ENV) OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 --dist loadfile tests -m integration \
		--junitxml=build/test-results-integration.xml

# Each benchmark's quick run that trains (format and sanity, no timings): CI runs it as its own job.
test-bench: $(TEST_STAMP)
	$(TEST_ENV) $(PY) -m pytest tests/test_benchmarks_smoke.py -m bench_quick

# The instructor targets (mk/grading.mk) need nbgrader: the grading set.
release autograde feedback grades report: $(GRADING_STAMP)

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

# --- the lock, the drift guard, the system packages (README, "Installing") ---
LOCK_TOOLS := build/lock-tools
UV_VERSION := 0.13.9

CHECK_JSONSCHEMA_VERSION := 0.39.0

# Maintainer tools, outside .venv: uv resolves the lock; check-jsonschema checks the CI
# workflow against the GitHub workflow schema it carries (works offline).
$(LOCK_TOOLS)/bin/uv:
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)" "check-jsonschema==$(CHECK_JSONSCHEMA_VERSION)"

ci-lint: $(LOCK_TOOLS)/bin/uv
	$(LOCK_TOOLS)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

# Newest releases that fit pyproject.toml; commit the new files once `make test` passes with them.
lock: $(LOCK_TOOLS)/bin/uv
	$(LOCK_TOOLS)/bin/python tools/lock.py

# The whole suite in a separate environment with the newest release of every dependency;
# build/latest/summary.md names what breaks and the versions involved.
test-latest: system-check
	$(TEST_ENV) $(PYTHON) tools/test_latest.py

# Debian packages `make test` needs: Chromium and its driver (browser tests), CJK fonts
# (readable Korean screenshots), a colour emoji font (the 🤗 in lesson titles: an empty box without it),
# bubblewrap (the grading sandbox).
SYSTEM_PACKAGES := chromium chromium-driver fonts-noto-cjk fonts-noto-color-emoji bubblewrap

system-packages:
	tools/system_packages.sh install $(SYSTEM_PACKAGES)

system-check:
	@tools/system_packages.sh check $(SYSTEM_PACKAGES)
