#!/usr/bin/env bash
# Build crashwatch's image from the repository's Dockerfile, unchanged, with Debian's buildah
# (no container engine: --isolation chroot), on the Python 3.11 base the test kit made from
# Debian packages (images/build.sh, pushed as python-base:3.11), and push it.
#
#   tests/cluster/operator/build-image.sh REGISTRY [TAG]     e.g. 127.0.0.1:41234 dev
#
# Prints REGISTRY/crashwatch@sha256:... last. buildah's storage (overlay) and layer cache live
# in ${CRASHWATCH_NODE_CACHE:-<repo>/.cache/realnode}/buildah: a rebuild of unchanged sources
# takes seconds. Nothing under /etc/containers is read or written.
set -euo pipefail
REG=${1:?usage: build-image.sh REGISTRY [TAG]}
TAG=${2:-dev}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
CACHE="${CRASHWATCH_NODE_CACHE:-$REPO/.cache/realnode}/buildah"
command -v buildah >/dev/null || { echo "buildah is required (tests/tools/ensure-realnode-tools.sh)" >&2; exit 1; }
mkdir -p "$CACHE"
CONF="$(mktemp -d)"
trap 'rm -rf "$CONF"' EXIT
printf '[storage]\ndriver = "overlay"\nrunroot = "%s/run"\ngraphroot = "%s/storage"\n' "$CACHE" "$CACHE" > "$CONF/storage.conf"
printf 'unqualified-search-registries = []\n[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REG" > "$CONF/registries.conf"
printf '{"default": [{"type": "insecureAcceptAnything"}]}\n' > "$CONF/policy.json"
printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' > "$CONF/containers.conf"
export CONTAINERS_STORAGE_CONF="$CONF/storage.conf" CONTAINERS_REGISTRIES_CONF="$CONF/registries.conf" \
       CONTAINERS_CONF="$CONF/containers.conf"
# One build at a time per cache.
exec 9>"$CACHE/.lock"
flock 9
cd "$REPO"
# pip inside the build reaches PyPI through this machine's CA bundle: mounted read-only for
# the RUN steps only, never committed into a layer.
nice buildah bud --quiet --layers --isolation chroot --storage-driver overlay \
  --signature-policy "$CONF/policy.json" --tls-verify=false \
  -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
  --build-arg PYTHON_IMAGE="$REG/python-base:3.11" \
  --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  -t "$REG/crashwatch:$TAG" . >&2
buildah push --quiet --storage-driver overlay --signature-policy "$CONF/policy.json" \
  --tls-verify=false --digestfile "$CONF/digest" "$REG/crashwatch:$TAG" "docker://$REG/crashwatch:$TAG" >&2
echo "$REG/crashwatch@$(cat "$CONF/digest")"
