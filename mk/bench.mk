# Benchmarks (measurements, not tests): `make bench` runs all four and writes build/benchmarks.md.
#   make bench                          full runs (finetune_mrpc alone takes ~10 minutes on 2 free cores)
#   make bench BENCH_ARGS=--quick       a fast sanity run of each
#   make bench MRPC_DIR=/path/to/mrpc   GLUE MRPC folder for finetune_mrpc (train.tsv, dev.tsv, test.tsv)
# Each benchmark's stdout goes to build/bench/NAME.log; benchmarks/report.py turns them into the report.

MRPC_DIR ?= ../shared/data/mrpc
BENCH_ARGS ?=
BENCH_LOGS := build/bench
BENCH_ENV := TQDM_DISABLE=1 TOKENIZERS_PARALLELISM=false

.PHONY: bench

bench: $(STAMP)
	rm -rf $(BENCH_LOGS) && mkdir -p $(BENCH_LOGS)
	$(BENCH_ENV) $(PY) benchmarks/padding.py --data-dir $(MRPC_DIR) $(BENCH_ARGS) > $(BENCH_LOGS)/padding.log
	$(BENCH_ENV) $(PY) benchmarks/trainer_vs_loop.py --data-dir $(MRPC_DIR) $(BENCH_ARGS) > $(BENCH_LOGS)/trainer_vs_loop.log
	$(BENCH_ENV) $(PY) benchmarks/grad_accum.py --data-dir $(MRPC_DIR) $(BENCH_ARGS) > $(BENCH_LOGS)/grad_accum.log
	$(BENCH_ENV) $(PY) benchmarks/finetune_mrpc.py --data-dir $(MRPC_DIR) $(BENCH_ARGS) > $(BENCH_LOGS)/finetune_mrpc.log
	$(PY) benchmarks/report.py $(BENCH_LOGS) > build/benchmarks.md
	@echo "Wrote build/benchmarks.md"
