#!/usr/bin/env bash
# Build (or reuse) the local control plane's binaries:
#   kube-apiserver, kube-controller-manager, kube-scheduler  from k8s.io/kubernetes
#   etcd                                                     from go.etcd.io/etcd/server/v3
#   kwok                                                     from sigs.k8s.io/kwok
# all through the Go module proxy, into a cache folder keyed by version:
#   ${CRASHWATCH_CP_CACHE:-<repo>/.cache/controlplane}/<KUBE_VERSION>/
# A warm cache makes this a no-op that takes well under a second. Prints the bin dir last.
#
#   tests/cluster/controlplane/build.sh            build what is missing, print the bin dir
#   tests/cluster/controlplane/build.sh --print    print the bin dir only (no build)
#   tests/cluster/controlplane/build.sh --regen    rewrite go/go.mod for KUBE_VERSION (maintainers only)
set -euo pipefail
# The whole script is one brace group, so bash parses it before running it: editing or
# checking out a new version while a build runs cannot derail the running one.
{

KUBE_VERSION=v1.36.3   # k8s.io/kubernetes release; staging modules pinned to v0.36.3 in go/go.mod
KWOK_VERSION=v0.8.0    # sigs.k8s.io/kwok (built against k8s.io/* v0.36.x)
# etcd: whatever go.etcd.io/etcd/server/v3 k8s.io/kubernetes itself requires (read from go/go.mod)

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
GOMOD_DIR="$HERE/go"
CACHE_ROOT="${CRASHWATCH_CP_CACHE:-$REPO/.cache/controlplane}"
BIN_DIR="$CACHE_ROOT/$KUBE_VERSION"

if ! command -v go >/dev/null 2>&1; then
  export PATH="$PATH:/usr/local/go/bin"
fi
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0

# plane.py generates its PKI with the openssl CLI: install it if this machine lacks it.
if ! command -v openssl >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >&2
  else
    echo "[controlplane] openssl is required (apt-get install openssl)" >&2; exit 1
  fi
fi

log() { echo "[controlplane] $*" >&2; }

regen() {
  local mod staging minor="${KUBE_VERSION#v1.}"
  mod="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  staging="$(grep -E '=> \./staging' "$mod" | awk '{print $1}')"
  {
    echo "// Wrapper module that builds the local control plane's binaries from k8s.io/kubernetes."
    echo "// Every staging module is pinned to the v0.x.y that matches the release (the upstream"
    echo "// go.mod points them at ./staging, which a dependency's replace directives cannot do)."
    echo "// Regenerate with tests/cluster/controlplane/build.sh --regen after changing KUBE_VERSION there."
    echo "module crashwatch.dev/controlplane"
    echo
    echo "go 1.26.0"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "tool ("
    printf '\t%s\n' k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler go.etcd.io/etcd/server/v3
    echo ")"
    echo
    echo "replace ("
    for m in $staging; do printf '\t%s => %s v0.%s\n' "$m" "$m" "$minor"; done
    echo ")"
  } > "$GOMOD_DIR/go.mod"
  (cd "$GOMOD_DIR" && rm -f go.sum && go mod tidy)
}

case "${1:-}" in
  --print) echo "$BIN_DIR"; exit 0 ;;
  --regen) regen; exit 0 ;;
  "") ;;
  *) echo "usage: $0 [--print|--regen]" >&2; exit 2 ;;
esac

ETCD_VERSION="$(awk '$1 == "go.etcd.io/etcd/server/v3" {print $2}' "$GOMOD_DIR/go.mod")"
GOSUM_HASH="$(cat "$GOMOD_DIR/go.mod" "$GOMOD_DIR/go.sum" | sha256sum | cut -c1-16)"  # content only
STAMP="kube=$KUBE_VERSION etcd=$ETCD_VERSION kwok=$KWOK_VERSION mod=$GOSUM_HASH"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler etcd kwok)

have_all() {
  [[ -f "$BIN_DIR/.stamp" && "$(cat "$BIN_DIR/.stamp")" == "$STAMP" ]] || return 1
  local b
  for b in "${BINARIES[@]}"; do [[ -x "$BIN_DIR/$b" ]] || return 1; done
}

if have_all; then
  echo "$BIN_DIR"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "[controlplane] Go >= 1.26 is required to build the binaries (not found in PATH or /usr/local/go/bin)" >&2
  exit 1
fi

# One builder at a time per cache (two `make test` in parallel must not both build).
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build.lock"
flock 9
if have_all; then echo "$BIN_DIR"; exit 0; fi

START=$(date +%s)
TMP="$(mktemp -d "$CACHE_ROOT/.build.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
log "building $STAMP into $BIN_DIR (cold ~11 min on 2 cores; with a warm GOCACHE it is mostly linking)"
log "go: $(go version)"

BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
MINOR="${KUBE_VERSION#v1.}"; MINOR="${MINOR%%.*}"
KV_LDFLAGS=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  KV_LDFLAGS+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$MINOR"
  KV_LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$BUILD_DATE"
done

(
  cd "$GOMOD_DIR"
  go mod download
  log "go build kube-apiserver kube-controller-manager kube-scheduler"
  go build -ldflags "-s -w$KV_LDFLAGS" -o "$TMP/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler
  log "go build etcd $ETCD_VERSION"
  go build -ldflags "-s -w" -o "$TMP/etcd" go.etcd.io/etcd/server/v3
)
log "go install kwok $KWOK_VERSION"
# kwok is its own module with its own (k8s.io/* v0.36) requirements: build it in module mode
# at its release, not inside the wrapper, so its dependency graph is exactly upstream's.
GOBIN="$TMP" go install \
  -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$KUBE_VERSION" \
  "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"

mkdir -p "$BIN_DIR"
for b in "${BINARIES[@]}"; do mv -f "$TMP/$b" "$BIN_DIR/$b"; done
echo "$STAMP" > "$BIN_DIR/.stamp"
log "built in $(( $(date +%s) - START ))s: $("$BIN_DIR/kube-apiserver" --version)"
echo "$BIN_DIR"
exit 0
}
