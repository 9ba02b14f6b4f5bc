# refcodec developer targets. `make install` creates .venv (codec, CLI, vectors, verification, tests: no torch);
# `make install-train` adds the `train` extra (PyTorch: training and the decoder-vs-PyTorch tests). Every other
# target uses the venv; tests that need torch skip with a reason without it.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install install-train test test-fast bench fuzz vectors vectors-check firmware firmware-qemu eval demo clean

install: $(BIN)/refcodec

$(BIN)/refcodec: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test,eval]"
	touch $@

install-train: $(BIN)/.train-installed

$(BIN)/.train-installed: $(BIN)/refcodec
	$(BIN)/pip install -q -e ".[test,eval,train]"
	touch $@

test: install
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not slow"

bench: install
	$(BIN)/python bench/run_all.py

FUZZ_SECONDS ?= 60
FUZZ_SEED ?= 0
fuzz: install
	$(BIN)/python -m refcodec.fuzz --seconds $(FUZZ_SECONDS) --seed $(FUZZ_SEED)

vectors: install
	$(BIN)/refcodec vectors make

vectors-check: install
	$(BIN)/refcodec vectors check

firmware: install
	$(MAKE) -C firmware REFCODEC=$(abspath $(BIN))/refcodec

# Cortex-M4F (qemu -M mps2-an386) and Cortex-M55 (-M mps3-an547) builds of firmware/ with the default model
# (firmware/arm/build/m4|m55/refcodec_fw.elf), then every vector reproduced on both cores under QEMU.
# Needs gcc-arm-none-eabi, libnewlib-arm-none-eabi, qemu-system-arm (firmware/arm/README.md).
firmware-qemu: install
	$(MAKE) -C firmware/arm all REFCODEC=$(abspath $(BIN))/refcodec
	REFCODEC_REQUIRE_QEMU=1 $(BIN)/pytest tests/test_firmware_qemu.py

eval: install
	mkdir -p results
	$(BIN)/refcodec eval ../shared/datasets/kodak --size 224 --json results/eval_kodak.json --plot results/eval_kodak.png
	$(BIN)/python -m refcodec.eval.report results/eval_kodak.json
	$(BIN)/refcodec eval ../shared/datasets/kodak --size 224 --trim 4 --json results/eval_kodak_trim4.json
	$(BIN)/python -m refcodec.eval.report results/eval_kodak_trim4.json

DEMO_IN := vectors/kodim23_224/input.png
demo: install
	mkdir -p demo-out
	$(BIN)/refcodec plan --size 224x224
	$(BIN)/refcodec encode $(DEMO_IN) -o demo-out/example.mcuc --dump-layers demo-out/layers --force
	$(BIN)/refcodec info demo-out/example.mcuc
	$(BIN)/refcodec truncate demo-out/example.mcuc -o demo-out/example-k4.mcuc --channels 4 --force
	$(BIN)/refcodec decode demo-out/example.mcuc -o demo-out/example-k12.png --force
	$(BIN)/refcodec decode demo-out/example-k4.mcuc -o demo-out/example-k4.png --force
	@echo "demo: streams, layer dumps and decoded PNGs in demo-out/"

clean:
	rm -rf build dist *.egg-info .pytest_cache firmware/build firmware/arm/build demo-out
