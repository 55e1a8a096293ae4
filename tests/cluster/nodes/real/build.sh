#!/usr/bin/env bash
# Build (or reuse) everything the real node runs, into a cache folder keyed by version:
#   kubelet                          k8s.io/kubernetes (./go: the release the control plane pins)
#   containerd, containerd-shim-runc-v2, ctr    github.com/containerd/containerd/v2 (module mode)
#   crane                            github.com/google/go-containerregistry/cmd/crane (module mode)
#   pause, testapp, htpasswd         ../images/apps (the kit's own small static programs)
#   runc, CNI plugins, docker-registry   Debian packages: `apt-get download` + `dpkg-deb -x`
#                                    into the cache (nothing is installed on the system)
#   ${CRASHWATCH_NODE_CACHE:-<repo>/.cache/realnode}/<KUBE_VERSION>/{bin,deb}
# A warm cache makes this a no-op (the stamp matches). Prints the cache dir last.
#
#   tests/cluster/nodes/real/build.sh            build what is missing, print the dir
#   tests/cluster/nodes/real/build.sh --print    print the dir only
#   tests/cluster/nodes/real/build.sh --regen    rewrite go/go.mod from the control plane's (maintainers)
set -euo pipefail
{

CONTAINERD_VERSION=v2.4.2
CRANE_VERSION=v0.22.1
DEBS=(runc containernetworking-plugins docker-registry)

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CLUSTER="$(cd "$HERE/../.." && pwd)"
REPO="$(cd "$CLUSTER/../.." && pwd)"
KUBE_VERSION="$(sed -n 's/^KUBE_VERSION=\(v[0-9.]*\).*/\1/p' "$CLUSTER/controlplane/build.sh")"
CACHE_ROOT="${CRASHWATCH_NODE_CACHE:-$REPO/.cache/realnode}"
OUT="$CACHE_ROOT/$KUBE_VERSION"
APPS="$CLUSTER/images/apps"

command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
log() { echo "[realnode] $*" >&2; }

regen() {
  {
    sed -n '1,3p' "$HERE/go/go.mod"
    echo "module crashwatch.dev/realnode"; echo; echo "go 1.26.0"; echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"; echo
    echo "tool k8s.io/kubernetes/cmd/kubelet"; echo
    echo "replace ("; sed -n '/^replace (/,/^)/p' "$CLUSTER/controlplane/go/go.mod" | grep '=>'; echo ")"
  } > "$HERE/go/go.mod.new"
  mv "$HERE/go/go.mod.new" "$HERE/go/go.mod"
  (cd "$HERE/go" && rm -f go.sum && go mod tidy)
}

case "${1:-}" in
  --print) echo "$OUT"; exit 0 ;;
  --regen) regen; exit 0 ;;
  "") ;;
  *) echo "usage: $0 [--print|--regen]" >&2; exit 2 ;;
esac

# The node's kubelet must be the control plane's release: both modules pin the same one.
NODE_KUBE="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2} $1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$HERE/go/go.mod")"
if [[ "$NODE_KUBE" != "$KUBE_VERSION" ]]; then
  echo "[realnode] node/go/go.mod pins k8s.io/kubernetes $NODE_KUBE, the control plane $KUBE_VERSION: run $0 --regen" >&2
  exit 1
fi

SRC_HASH="$(cat "$HERE/go/go.mod" "$HERE/go/go.sum" "$APPS/go.mod" "$APPS/go.sum" \
  "$APPS"/*/main.go | sha256sum | cut -c1-16)"
STAMP="kube=$KUBE_VERSION containerd=$CONTAINERD_VERSION crane=$CRANE_VERSION src=$SRC_HASH debs=${DEBS[*]}"
BINARIES=(kubelet containerd containerd-shim-runc-v2 ctr crane pause testapp htpasswd)

have_all() {
  [[ -f "$OUT/.stamp" && "$(head -1 "$OUT/.stamp")" == "$STAMP" ]] || return 1
  local b
  for b in "${BINARIES[@]}"; do [[ -x "$OUT/bin/$b" ]] || return 1; done
  [[ -x "$OUT/deb/usr/sbin/runc" && -x "$OUT/deb/usr/lib/cni/bridge" \
     && -x "$OUT/deb/usr/bin/docker-registry" ]]
}

if have_all; then echo "$OUT"; exit 0; fi
command -v go >/dev/null 2>&1 || { log "Go >= 1.26 is required (not in PATH or /usr/local/go/bin)"; exit 1; }

mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build.lock"
flock 9
if have_all; then echo "$OUT"; exit 0; fi

START=$(date +%s)
TMP="$(mktemp -d "$CACHE_ROOT/.build.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/bin" "$TMP/deb" "$TMP/debs"
log "building $STAMP into $OUT"

# Debian packages, unpacked, not installed (their versions go into the stamp file's 2nd line).
(
  cd "$TMP/debs"
  if ! apt-get download "${DEBS[@]}" >/dev/null 2>&1; then
    log "apt-get download failed; refreshing the package lists once"
    if [[ $(id -u) == 0 ]]; then apt-get update -qq; else sudo apt-get update -qq; fi
    apt-get download "${DEBS[@]}" >/dev/null
  fi
  for f in *.deb; do dpkg-deb -x "$f" "$TMP/deb"; done
)
DEB_VERSIONS="$(cd "$TMP/debs" && ls *.deb | tr '\n' ' ')"

BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
MINOR="${KUBE_VERSION#v1.}"; MINOR="${MINOR%%.*}"
KV_LDFLAGS=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  KV_LDFLAGS+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$MINOR"
  KV_LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$BUILD_DATE"
done

log "go build kubelet $KUBE_VERSION (cold: several minutes; the control plane's GOCACHE helps)"
(cd "$HERE/go" && nice go build -ldflags "-s -w$KV_LDFLAGS" -o "$TMP/bin/kubelet" k8s.io/kubernetes/cmd/kubelet)
log "go install containerd $CONTAINERD_VERSION (containerd, containerd-shim-runc-v2, ctr)"
# CGO off: the btrfs snapshotter drops out by itself; overlayfs is what the node uses.
GOBIN="$TMP/bin" nice go install \
  -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" \
  "github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION" \
  "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" \
  "github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION"
log "go install crane $CRANE_VERSION"
GOBIN="$TMP/bin" nice go install -ldflags "-s -w" \
  "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
log "go build pause testapp htpasswd"
(cd "$APPS" && nice go build -ldflags "-s -w" -o "$TMP/bin/" ./pause ./testapp ./htpasswd)

rm -rf "$OUT"
mkdir -p "$OUT"
mv "$TMP/bin" "$TMP/deb" "$OUT/"
printf '%s\n%s\n' "$STAMP" "$DEB_VERSIONS" > "$OUT/.stamp"
log "built in $(( $(date +%s) - START ))s: kubelet $("$OUT/bin/kubelet" --version 2>&1 | awk '{print $2}'), containerd $("$OUT/bin/containerd" --version | awk '{print $3}'), $DEB_VERSIONS"
echo "$OUT"
exit 0
}
