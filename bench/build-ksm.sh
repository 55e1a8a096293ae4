#!/usr/bin/env bash
# Build (or reuse) kube-state-metrics from its Go module, for bench/bench_cluster.py.
#   bench/build-ksm.sh            build if missing; print the binary's path last
# The binary goes to ${CRASHWATCH_CP_CACHE:-<repo>/.cache/controlplane}/ksm-<version>/.
# v2.20.0 is built against client-go v0.36.3, the same release as the local control plane.
set -euo pipefail
KSM_VERSION=$(grep -oE 'k8s.io/kube-state-metrics/v2 v[0-9.]+' "$(dirname "${BASH_SOURCE[0]}")/ksm/go.mod" | head -1 | cut -d" " -f2)

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
OUT="${CRASHWATCH_CP_CACHE:-$REPO/.cache/controlplane}/ksm-$KSM_VERSION"
BIN="$OUT/kube-state-metrics"

if [[ ! -x "$BIN" ]]; then
  if ! command -v go >/dev/null 2>&1; then
    export PATH="$PATH:/usr/local/go/bin"
  fi
  export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
  echo "[ksm] go build k8s.io/kube-state-metrics/v2@$KSM_VERSION (bench/ksm/go.mod; cold: a few minutes)" >&2
  mkdir -p "$OUT"
  (cd "$HERE/ksm" && go build -trimpath -o "$BIN.tmp" k8s.io/kube-state-metrics/v2) >&2
  mv "$BIN.tmp" "$BIN"
fi
echo "$BIN"
