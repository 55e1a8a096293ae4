# crashwatch: the two commands that matter are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: venv demo demo-kwok demo-offline test lint test-unit test-alerts test-e2e test-deploy tools pytools controlplane \
	realnode realnode-tools test-realnode \
	lock bench bench-cluster bench-alerts ksm helm sharding-vectors clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

## demo: the motivating incidents failing for real on a real node (kubelet, containerd, runc),
## crashwatch running in the cluster from its own image (examples/realnode_demo.py; root, one
## real node per machine; builds or reuses what `make realnode` builds)
demo: venv realnode tools
	$(BIN)/python examples/realnode_demo.py

## demo-kwok: the same incidents on kwok nodes, a simulated kubelet writing the failures and
## crashwatch as a local process (examples/live_demo.py; no root, no real node)
demo-kwok: venv controlplane tools
	$(BIN)/python examples/live_demo.py

## demo-offline: diagnose the bundled example snapshot, no cluster needed
demo-offline: venv
	$(BIN)/crashwatch diagnose -o table --logs-dir examples/logs $(addprefix -f ,$(sort $(wildcard examples/*.json examples/*.yaml)))

## lint: ruff and mypy --strict
lint: venv
	$(BIN)/ruff check $(wildcard operator tests bench examples)
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
	bash tests/cluster/controlplane/build.sh

## test-e2e: end-to-end tests against a real local control plane (tests/cluster/README.md)
test-e2e: venv controlplane tools
	$(BIN)/pytest -q tests/e2e

## realnode-tools: mmdebstrap and buildah (Debian), for the real-node tier's images
realnode-tools:
	bash tests/tools/ensure-realnode-tools.sh

## realnode: build or reuse the real node (kubelet, containerd, crane, runc, CNI plugins,
## docker-registry) in .cache/realnode/<k8s-version>/ and the test images' Debian root
## filesystems in .cache/realnode/rootfs/ (tests/cluster/README.md)
realnode: controlplane realnode-tools
	bash tests/cluster/nodes/real/build.sh
	bash tests/cluster/images/build.sh

## test-realnode: the seed incidents on a real kubelet and containerd, crashwatch running
## in the cluster from its own image (root; one real node per machine at a time)
test-realnode: venv realnode
	$(BIN)/pytest -q -m realnode tests/realnode

## test: everything CI runs
test: lint test-unit test-alerts test-deploy test-e2e test-realnode

## pytools: Python tools too heavy for the dev extras (checkov), in .cache/tools-venv
pytools:
	bash tests/tools/ensure-pytools.sh

## helm: build (or reuse) helm from its Go module into .cache/tools/helm-<version>/, for the
## chart's tests (tests/tools/ensure-helm.sh; minutes cold, well under a second warm)
helm:
	bash tests/tools/ensure-helm.sh

## test-deploy: the Dockerfile (hadolint, its structure, the wheel it installs), the
## manifests under deploy/ (checkov), the Helm chart against the kustomize overlays, the
## Grafana dashboard (its queries parsed by promtool)
test-deploy: venv tools pytools helm
	$(BIN)/pytest -q tests/deploy

## lock: regenerate the image's hashed lock files from pyproject.toml with pip-tools (in a
## throwaway venv, .cache/lock-venv): requirements.lock (runtime dependencies) and
## requirements-build.lock (the build backend). Existing pins are kept unless asked:
## `make lock LOCK_ARGS=--upgrade` (or `LOCK_ARGS="--upgrade-package kopf"`).
## Run it with CPython 3.11 on Linux, the image's platform.
PIP_TOOLS_VERSION := 7.6.2
LOCK_PYTHON ?= python3.11
LOCK_VENV   := .cache/lock-venv
LOCK_ARGS   ?=
PIP_COMPILE := env -u PIP_FIND_LINKS CUSTOM_COMPILE_COMMAND="make lock" \
	$(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	--no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

$(LOCK_VENV)/.pip-tools-$(PIP_TOOLS_VERSION):
	rm -rf $(LOCK_VENV)
	$(LOCK_PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q pip-tools==$(PIP_TOOLS_VERSION)
	touch $@

lock: $(LOCK_VENV)/.pip-tools-$(PIP_TOOLS_VERSION)
	$(PIP_COMPILE) --output-file requirements.lock pyproject.toml
	$(PIP_COMPILE) --all-build-deps --only-build-deps --output-file requirements-build.lock \
		pyproject.toml

## bench: diagnosis-engine benchmark (prints figures; never part of pass/fail)
bench: venv
	$(BIN)/python bench/bench_diagnose.py

## bench-cluster: crashwatch run beside kube-state-metrics at 1,000 and 10,000 pods on the
## local control plane (about 17 minutes; prints a table, keeps it in bench/results/)
bench-cluster: venv controlplane ksm
	$(BIN)/python bench/bench_cluster.py

## bench-alerts: time to a useful alert: crashwatch's shipped rules vs kubernetes-mixin's over
## kube-state-metrics in one real Prometheus, twelve failure kinds at once on the local control
## plane (about 27 minutes; prints a table, keeps it in bench/results/alerts.md and .json)
bench-alerts: venv controlplane ksm tools
	$(BIN)/python bench/bench_alerts.py

## sharding-vectors: regenerate tests/sharding/vectors.json, the shard hash's test vectors, with
## the Kubernetes sharding package itself (tests/sharding/go; tests/unit/test_sharding.py checks
## crashwatch against them, and that Go still prints them)
sharding-vectors:
	cd tests/sharding/go && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
		go run . > ../vectors.json.tmp && mv ../vectors.json.tmp ../vectors.json

## ksm: build kube-state-metrics from its Go module (for bench-cluster and bench-alerts)
ksm:
	bench/build-ksm.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
