# Colab as it really is (issue 24): its published runtime in requirements/colab-runtime/, and the lessons
# checked against it. Not part of `make test`: CI runs `make test-colab` as a job of its own.
#   make colab-snapshot   refresh requirements/colab-runtime/ from googlecolab/backend-info on GitHub
#                         (COLAB_BACKEND_INFO=/path/to/a/clone reads a local clone instead)
#   make test-colab       1. the first cell's install resolved for Colab (Python 3.13, Linux) against its freeze:
#                            what it upgrades, its download size, every preinstalled package it would break
#                            (tools/colab_resolve.py; fails on a break the course can avoid)
#                         2. every lesson, en and ko, in smoke mode in build/colab-venv with Colab's kernel
#                            stack, widgets and ML libraries, first cell included (tools/colab_runtime.py)
#   make test-colab COLAB_LESSONS="01 02"   part 2 for some lessons only
# uv comes from the maintainer tools (build/lock-tools, the Makefile's $(LOCK_TOOLS)); written out here
# because mk/*.mk is read before the Makefile defines LOCK_TOOLS.
COLAB_VENV := build/colab-venv
COLAB_UV := build/lock-tools/bin/uv
COLAB_LESSONS ?=
COLAB_BACKEND_INFO ?=
COLAB_ENV := TQDM_DISABLE=1 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=1

.PHONY: colab-snapshot test-colab test-colab-resolve test-colab-runtime

colab-snapshot:
	$(PYTHON) tools/colab_snapshot.py $(if $(COLAB_BACKEND_INFO),--git-dir $(COLAB_BACKEND_INFO))

test-colab: test-colab-resolve test-colab-runtime

test-colab-resolve: $(COLAB_UV) $(LAB_STAMP)
	$(PY) tools/colab_resolve.py --uv $(COLAB_UV)

test-colab-runtime:
	$(PYTHON) tools/colab_runtime.py setup
	$(COLAB_ENV) $(COLAB_VENV)/bin/python tools/colab_runtime.py run $(COLAB_LESSONS)
