# crashwatch: the two commands that matter are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: venv demo test lint test-unit test-alerts test-e2e tools controlplane bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

## demo: diagnose the bundled example snapshots (the live demo lands with the operator)
demo: venv
	$(BIN)/crashwatch diagnose -o table --logs-dir examples/logs $(addprefix -f ,$(sort $(wildcard examples/*.json examples/*.yaml)))

## lint: ruff and mypy --strict
lint: venv
	$(BIN)/ruff check $(wildcard operator tests bench)
	$(BIN)/mypy

## test-unit: the fast, pure suite, and the blind evaluation set (eval/blind) as regression
test-unit: venv
	$(BIN)/pytest -q tests/unit tests/eval

## tools: system tools the tests run for real (promtool, prometheus from Debian)
tools:
	bash tests/tools/ensure-tools.sh

## test-alerts: the shipped alert rules under a real promtool
test-alerts: venv tools
	$(BIN)/pytest -q tests/alerts

## controlplane: build (or reuse, in well under a second) etcd, kube-apiserver,
## kube-controller-manager, kube-scheduler and kwok into .cache/controlplane/<k8s-version>/
controlplane:
	bash tests/cluster/build.sh

## test-e2e: end-to-end tests against a real local control plane (tests/cluster/README.md)
test-e2e: venv controlplane tools
	$(BIN)/pytest -q tests/e2e

## test: everything CI runs
test: lint test-unit test-alerts test-e2e

## bench: diagnosis-engine benchmark (prints figures; never part of pass/fail)
bench: venv
	$(BIN)/python bench/bench_diagnose.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
