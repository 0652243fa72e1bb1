# Benchmarks (measurements, not tests): `make bench` runs them all and writes build/benchmarks.md.
#   make bench                          full runs (finetune_mrpc ~10 minutes, lesson_times every lesson in full
#                                       mode, grading_throughput 40 students: an hour or more on 2 free cores)
#   make bench BENCH_ARGS=--quick       a fast sanity run of each
#   make bench MRPC_DIR=/path/to/mrpc   GLUE MRPC folder (train.tsv, dev.tsv, test.tsv)
#   make bench-grading                  only the grader's throughput (GRADING_BENCH_ARGS="--students 40")
# Each benchmark's stdout goes to build/bench/NAME.log; benchmarks/report.py turns them into the report.

MRPC_DIR ?= ../shared/data/mrpc
BENCH_ARGS ?=
GRADING_BENCH_ARGS ?= $(BENCH_ARGS)
BENCH_LOGS := build/bench
BENCH_ENV := TQDM_DISABLE=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1

.PHONY: bench bench-grading

bench: $(TEST_STAMP)
	rm -rf $(BENCH_LOGS) && mkdir -p $(BENCH_LOGS)
	$(BENCH_ENV) $(PY) benchmarks/padding.py --data-dir $(MRPC_DIR) $(BENCH_ARGS) > $(BENCH_LOGS)/padding.log
	$(BENCH_ENV) $(PY) benchmarks/trainer_vs_loop.py --data-dir $(MRPC_DIR) $(BENCH_ARGS) > $(BENCH_LOGS)/trainer_vs_loop.log
	$(BENCH_ENV) $(PY) benchmarks/grad_accum.py --data-dir $(MRPC_DIR) $(BENCH_ARGS) > $(BENCH_LOGS)/grad_accum.log
	$(BENCH_ENV) $(PY) benchmarks/finetune_mrpc.py --data-dir $(MRPC_DIR) $(BENCH_ARGS) > $(BENCH_LOGS)/finetune_mrpc.log
	# A failed lesson or submission is in its table/JSON line; the report is written anyway.
	-$(BENCH_ENV) $(PY) benchmarks/lesson_times.py --data-dir $(MRPC_DIR) $(BENCH_ARGS) > $(BENCH_LOGS)/lesson_times.log
	-$(BENCH_ENV) $(PY) benchmarks/grading_throughput.py $(GRADING_BENCH_ARGS) > $(BENCH_LOGS)/grading_throughput.log
	$(PY) benchmarks/report.py $(BENCH_LOGS) > build/benchmarks.md
	@grep '^|' $(BENCH_LOGS)/lesson_times.log || true
	@tail -n 1 $(BENCH_LOGS)/grading_throughput.log || true
	@echo "Wrote build/benchmarks.md"

bench-grading: $(TEST_STAMP)
	mkdir -p $(BENCH_LOGS)
	$(BENCH_ENV) $(PY) benchmarks/grading_throughput.py $(GRADING_BENCH_ARGS) | tee $(BENCH_LOGS)/grading_throughput.log
