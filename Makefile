# One entry point. `make run`: set up everything missing, build in release, render the demo.
# `make test`: every Rust and Python test (plus the wasm32 build check of the core).

VENV      := .venv
PY        := $(VENV)/bin/python
MATURIN   := $(VENV)/bin/maturin
CLI       := target/release/realtime_backend
SHARED_DIR ?= $(abspath ../shared)
export SHARED_DIR

.PHONY: run setup build build-python test test-rust test-python check-shared check-wasm bench fmt clean

run: setup build
	@mkdir -p out
	$(CLI) render examples/demo_session.json -o out/demo_session.wav
	@echo "wrote out/demo_session.wav (play it with: aplay out/demo_session.wav)"

setup: $(MATURIN)
	scripts/install-system-deps.sh

$(MATURIN):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q "maturin>=1.7,<2" numpy pytest

build: build-python
	cargo build --release -p audio-cli

# Builds the one native extension into the venv (editable install of the python/ packages).
build-python: $(MATURIN)
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH $(MATURIN) develop --release -q

test: setup build-python test-rust check-wasm test-python

test-rust: check-shared
	cargo test --workspace --exclude audio-python

test-python: build-python check-shared
	$(PY) -m pytest -q python/tests

check-shared:
	@test -d "$(SHARED_DIR)/tracks" || { echo "test data not found: SHARED_DIR=$(SHARED_DIR) (set SHARED_DIR to the shared folder)"; exit 2; }

check-wasm:
	cargo build -p audio-core --target wasm32-unknown-unknown --no-default-features

bench: build
	cargo bench -p audio-core
	$(PY) benches/render_bench.py

fmt:
	cargo fmt --all

clean:
	cargo clean
	rm -rf out $(VENV)
