# Set-up contract: `make demo` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export TF_CPP_MIN_LOG_LEVEL ?= 2
# The developer and CI machines keep MNIST beside the project; use it when it is there.
ifneq ($(wildcard ../shared/data/mnist.npz),)
export NEURONSELECT_DATA ?= $(abspath ../shared/data)
endif

.PHONY: install test test-fast demo bench bench-extra bench-quick clean

# KerasHub for its tests, without tensorflow-text: that pulls the full `tensorflow` wheel (572 MB)
# next to tensorflow-cpu, and no test needs its tokenizers. Users get it with `.[hub]`.
HUB := keras-hub==0.32.0
HUB_DEPS := regex rich "kagglehub!=1.0.1" "kagglesdk==0.1.28" sentencepiece tokenizers

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps $(HUB)
	$(BIN)/python -m pip install --quiet $(HUB_DEPS)
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# The quick loop: everything but the tests marked slow (multi-epoch training, subprocesses,
# property sweeps, full-size Keras applications, the benchmarks' run_all --quick). CI runs
# make test.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not slow"

demo: $(STAMP)
	$(BIN)/neuronselect demo --out saved_models/demo --overwrite

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

bench-extra: $(STAMP)
	$(BIN)/python -m benchmarks.run_all --extra

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks.run_all --quick

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
