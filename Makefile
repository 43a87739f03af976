# Revisit — build, test and benchmark entry points. Every target installs what it lacks.
#   make test    every test (installs the system libraries and a small Python env if absent)
#   make bench   release build; benchmarks beside ../shared/bench references, as ratios
#   make sample  regenerate Fixtures/sample (the demo's default data) with the committed seed
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

SUDO := $(shell [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null && echo sudo)
SYSTEM_PACKAGES := libxml2-dev libcsv-dev libopenblas-dev libdnnl-dev libxgboost-dev libnlopt-dev libssl-dev pkg-config
# Python used by tests that check interoperability (Python's `safetensors` reading our files).
TEST_VENV := .build-py/venv
TEST_PYTHON := $(CURDIR)/$(TEST_VENV)/bin/python
# Python with pyspark, and Java, for the Spark local-mode test (Docs/ScaleOut.md).
SPARK_VENV := .build-py/spark-venv
SPARK_PYTHON := $(CURDIR)/$(SPARK_VENV)/bin/python
BENCH_DATA := .bench-data
SHARED := ../shared

.PHONY: deps python-env spark-env bench-spark test test-kernels format format-check demo demo-reduced nightly-sim man completions bench bench-import bench-import-10m quality fuzz sample clean

## deps: install the system libraries (libxml2, libcsv, OpenBLAS, oneDNN, XGBoost, NLopt, OpenSSL, pkg-config) when any is absent.
deps:
	@command -v swift >/dev/null || { echo "error: swift not found; install Swift 6.1+ (expected at /opt/swift/usr/bin)" >&2; exit 1; }
	@if ! command -v pkg-config >/dev/null || ! pkg-config --exists openblas libxml-2.0 xgboost nlopt libcrypto || [ ! -f /usr/include/csv.h ] \
	    || [ ! -f /usr/include/oneapi/dnnl/dnnl.h ] \
	    || ! command -v python3 >/dev/null; then \
	  echo "make deps: installing $(SYSTEM_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $(SYSTEM_PACKAGES) \
	    $$(command -v python3 >/dev/null || echo python3 python3-venv python3-pip); \
	fi

## python-env: a venv (reusing system numpy when present) with numpy and safetensors.
python-env: deps
	@if ! $(TEST_PYTHON) -c "import numpy, safetensors" 2>/dev/null; then \
	  echo "make python-env: creating $(TEST_VENV) with numpy and safetensors"; \
	  python3 -m venv --system-site-packages $(TEST_VENV) && \
	  $(TEST_VENV)/bin/pip install -q --disable-pip-version-check numpy safetensors; \
	fi

## spark-env: Java (Debian's openjdk-17-jre-headless) when absent, and a venv with pyspark, for
## the Spark driver (Tools/spark) and its local-mode test.
spark-env: deps
	@command -v java >/dev/null || { echo "make spark-env: installing openjdk-17-jre-headless"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq openjdk-17-jre-headless; }
	@if ! $(SPARK_PYTHON) -c "import pyspark" 2>/dev/null; then \
	  echo "make spark-env: creating $(SPARK_VENV) with pyspark"; \
	  python3 -m venv $(SPARK_VENV) && $(SPARK_VENV)/bin/pip install -q --disable-pip-version-check pyspark; \
	fi

## format: the tree in the project's style (.swift-format: swift-format, 4 spaces, 120 columns).
FORMATTED := Modules Tools Tests Package.swift
format:
	swift format --in-place --recursive $(FORMATTED)

## format-check: fails, naming the lines, when a file is not as `make format` leaves it.
format-check:
	@swift format lint --strict --recursive $(FORMATTED) || { echo "make format-check: run 'make format' (CONTRIBUTING.md, Style)" >&2; exit 1; }

## test: the format check, every test with the Python interop checks required (not optional),
## then the demo in its reduced form (debug build, seconds) so the whole pipeline is known to run.
test: deps python-env spark-env format-check
	REVISIT_PYTHON=$(TEST_PYTHON) REVISIT_SPARK_PYTHON=$(SPARK_PYTHON) REVISIT_REQUIRE_PYTHON=1 swift test
	$(MAKE) --no-print-directory test-kernels
	$(MAKE) --no-print-directory demo-reduced

## test-kernels: the numeric suites (every PyTorch-parity, gradient and allocation test) again on
## the other kernel paths: oneDNN capped at AVX2 (DNNL_MAX_CPU_ISA, the AVX2 kernels on an
## AVX-512 machine) and the products on OpenBLAS (REVISIT_GEMM=openblas). Seconds, once built.
KERNEL_SUITES := TensorsTests|LayersTests|ModelsTests|LossesTests|OptimizersTests
test-kernels: deps
	DNNL_MAX_CPU_ISA=AVX2 swift test --filter '$(KERNEL_SUITES)'
	REVISIT_GEMM=openblas swift test --filter '$(KERNEL_SUITES)'

## demo: import → train → score → backtest on Fixtures/sample, release build (a few minutes on 2 cores).
DEMO_DIR := .build/demo
DEMO_TOOLS := importer trainer scorer evaluator
demo: deps
	for tool in $(DEMO_TOOLS); do swift build -c release --product $$tool || exit 1; done
	bash Tools/demo/demo.sh "$$(swift build -c release --show-bin-path)" $(DEMO_DIR)

## demo-reduced: the same steps with the debug build and tiny settings (what CI runs).
demo-reduced: deps
	for tool in $(DEMO_TOOLS); do swift build --product $$tool || exit 1; done
	bash Tools/demo/demo.sh "$$(swift build --show-bin-path)" $(DEMO_DIR)-reduced --reduced

## man: a man page per tool (and per evaluator subcommand) from the argument-parser definitions,
## into .build/man/man1 (`man -l .build/man/man1/trainer.1`, or `MANPATH=$PWD/.build/man: man trainer`).
MAN_TOOLS := importer trainer scorer evaluator synth
man: deps
	swift build --product generate-manual
	for tool in $(MAN_TOOLS); do swift build --product $$tool || exit 1; done
	@mkdir -p .build/man/man1
	for tool in $(MAN_TOOLS); do \
	  "$$(swift build --show-bin-path)/generate-manual" "$$(swift build --show-bin-path)/$$tool" --multi-page --section 1 -o .build/man/man1 || exit 1; \
	done
	@rm -f .build/man/man1/*.help.1; ls .build/man/man1

## completions: bash, zsh and fish completion scripts for every tool into .build/completions
## (Docs/CLI.md, "Shell completions", says where to put them).
completions: deps
	for tool in $(MAN_TOOLS); do swift build --product $$tool || exit 1; done
	@mkdir -p .build/completions
	@for tool in $(MAN_TOOLS); do \
	  bin="$$(swift build --show-bin-path)/$$tool"; \
	  "$$bin" --generate-completion-script bash > .build/completions/$$tool.bash && \
	  "$$bin" --generate-completion-script zsh > .build/completions/_$$tool && \
	  "$$bin" --generate-completion-script fish > .build/completions/$$tool.fish || exit 1; \
	done; ls .build/completions

## nightly-sim: Docs/nightly-retrain.sh night after night on a simulated ERP (NIGHTS, default 35),
## with a broken export on night 11; the trend it leaves is .build/nightly-sim/state/reports/trend.
NIGHTLY_TOOLS := synth importer trainer scorer evaluator
NIGHTS ?= 35
nightly-sim: deps
	for tool in $(NIGHTLY_TOOLS); do swift build -c release --product $$tool || exit 1; done
	bash Tools/nightly/simulate.sh "$$(swift build -c release --show-bin-path)" .build/nightly-sim $(NIGHTS)

## bench: release build, then Swift / reference / Swift in one run, printed as ratios.
bench: deps
	swift build -c release --product revisit-bench
	@mkdir -p $(BENCH_DATA)
	@PY=$$($(SHARED)/bench/setup.sh) && \
	BIN=$$(swift build -c release --show-bin-path)/revisit-bench && \
	echo "== sgemm: Revisit (1/2), numpy reference, Revisit (2/2)" && \
	$$BIN gemm --json $(BENCH_DATA)/gemm-swift-1.json && \
	GEMM_JSON=$(BENCH_DATA)/gemm-numpy.json $$PY $(SHARED)/bench/gemm_reference.py && \
	$$BIN gemm --pool $(BENCH_DATA)/gemm-swift-1.json --reference $(BENCH_DATA)/gemm-numpy.json && \
	echo "== CNN-LSTM training and inference: Revisit (1/2), PyTorch --threads 2, Revisit (2/2)" && \
	$$BIN train --json $(BENCH_DATA)/train-swift-1.json && \
	$$PY $(SHARED)/bench/torch_reference.py --threads 2 --reps 5 --json $(BENCH_DATA)/torch.json && \
	$$BIN train --pool $(BENCH_DATA)/train-swift-1.json --reference $(BENCH_DATA)/torch.json
	$(MAKE) --no-print-directory bench-import

## bench-import: the importer on the 1M-row CSV and XML exports beside pandas, polars and lxml
## (../shared/bench/import_reference.py), Revisit / references / Revisit, as ratios.
bench-import: deps
	swift build -c release --product importer
	@PY=$$($(SHARED)/bench/setup.sh) && bash Tools/bench-import/bench_import.sh "$$(swift build -c release --show-bin-path)" $(BENCH_DATA) $$PY 3

## bench-spark: a generated 1M-customer dataset scored through Spark in local mode (2 workers)
## beside the scorer alone, rows/s and peak memory per step (not in CI; ~15 min, ~3 GB of disk).
SPARK_TOOLS := synth importer trainer scorer
SPARK_CUSTOMERS ?= 1000000
SPARK_REPS ?= 9999
bench-spark: spark-env
	for tool in $(SPARK_TOOLS); do swift build -c release --product $$tool || exit 1; done
	$(SPARK_PYTHON) Tools/spark/bench.py --bin "$$(swift build -c release --show-bin-path)" --work $(BENCH_DATA)/spark \
	  --customers $(SPARK_CUSTOMERS) --reps $(SPARK_REPS) --json $(BENCH_DATA)/spark.json

## bench-import-10m: a generated 10M-row export under --memory 1G and 256M, peak RSS, and the
## same rows shuffled giving the same data files (not in CI; several minutes, ~2 GB of disk).
bench-import-10m: deps
	swift build -c release --product importer
	@PY=$$($(SHARED)/bench/setup.sh) && bash Tools/bench-import/bench_import_10m.sh "$$(swift build -c release --show-bin-path)" $(BENCH_DATA) $$PY

## quality: Revisit's backtest beside BG/NBD, LightGBM and a PyTorch GRU on the CDNOW sample (a real
## purchase log), all folds; `make quality QUICK=1` runs the reference's 6 quick folds. Docs/Quality.md.
QUALITY_TOOLS := importer evaluator revisit-bench
quality: deps
	for tool in $(QUALITY_TOOLS); do swift build -c release --product $$tool || exit 1; done
	bash Tools/quality/quality.sh "$$(swift build -c release --show-bin-path)" $(BENCH_DATA)/quality $(if $(QUICK),--quick,)

## fuzz: the CSV and XML readers under libFuzzer + AddressSanitizer with the invariant oracle,
## FUZZ_SECONDS each (default 600), side by side; any finding fails. CONTRIBUTING.md has the figures.
FUZZ_SECONDS ?= 600
FUZZ_BUILD := .build-fuzz
fuzz: deps
	for tool in fuzz-csv fuzz-xml; do \
	  swift build -c debug --scratch-path $(FUZZ_BUILD) -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING --product $$tool || exit 1; \
	done
	bash Tools/fuzz/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

## sample: the bundled simulated export (Docs/Synth.md). Same command, same bytes.
SAMPLE_SEED := 20180305
sample: deps
	swift build --product synth
	$$(swift build --show-bin-path)/synth --out Fixtures/sample --seed $(SAMPLE_SEED) --customers 1000 --reps 20 \
	  --start 2018-03-05 --weeks 104 --no-xml
	@du -sh Fixtures/sample

clean:
	rm -rf .build .build-py .build-fuzz $(BENCH_DATA)
