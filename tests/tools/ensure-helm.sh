#!/usr/bin/env bash
# Build (or reuse) helm from its Go module, for the chart's tests (tests/deploy/test_helm.py,
# and checkov's helm framework in tests/deploy/test_checkov.py):
#   ${CRASHWATCH_TOOLS_CACHE:-<repo>/.cache/tools}/helm-<HELM_VERSION>/helm
# A warm cache makes this a no-op that takes well under a second. Prints the bin dir last.
#   tests/tools/ensure-helm.sh           build what is missing, print the bin dir
#   tests/tools/ensure-helm.sh --print   print the bin dir only (no build)
# Cold, a few minutes of compiling (617 s on 2 busy cores); bump HELM_VERSION and the next
# run rebuilds.
set -euo pipefail
{

HELM_VERSION=v4.3.2   # helm.sh/helm/v4; charts are apiVersion v2, which Helm 3 reads too

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_ROOT="${CRASHWATCH_TOOLS_CACHE:-$REPO/.cache/tools}"
BIN_DIR="$CACHE_ROOT/helm-$HELM_VERSION"
STAMP="helm=$HELM_VERSION"

case "${1:-}" in
  --print) echo "$BIN_DIR"; exit 0 ;;
  "") ;;
  *) echo "usage: $0 [--print]" >&2; exit 2 ;;
esac

have() { [[ -x "$BIN_DIR/helm" && -f "$BIN_DIR/.stamp" && "$(cat "$BIN_DIR/.stamp")" == "$STAMP" ]]; }
if have; then echo "$BIN_DIR"; exit 0; fi

if ! command -v go >/dev/null 2>&1; then export PATH="$PATH:/usr/local/go/bin"; fi
if ! command -v go >/dev/null 2>&1; then
  echo "[helm] Go >= 1.26 is required to build helm $HELM_VERSION (not in PATH or /usr/local/go/bin)" >&2
  exit 1
fi
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0

# One builder at a time per cache (two `make test` in parallel must not both build).
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.helm.lock"
flock 9
if have; then echo "$BIN_DIR"; exit 0; fi

START=$(date +%s)
TMP="$(mktemp -d "$CACHE_ROOT/.helm.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
echo "[helm] go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION ($(go version))" >&2
# The version goes in by -ldflags as in helm's own Makefile (without it `helm version` says
# only "v4.3", and checkov reads the version to decide whether helm works).
GOBIN="$TMP" go install -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
  "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
mkdir -p "$BIN_DIR"
mv -f "$TMP/helm" "$BIN_DIR/helm"
echo "$STAMP" > "$BIN_DIR/.stamp"
echo "[helm] built in $(( $(date +%s) - START ))s: $("$BIN_DIR/helm" version --short)" >&2
echo "$BIN_DIR"
exit 0
}
