#!/usr/bin/env bash
# Installs the system tools the real-node tier needs beyond the Go toolchain (which builds the
# kubelet, containerd, crane and the test programs: tests/cluster/nodes/real/build.sh):
#   mmdebstrap   root filesystems of the test images and of crashwatch's Python base, from
#                Debian packages (tests/cluster/images/build.sh)
#   buildah      crashwatch's image from the unchanged Dockerfile, without a container engine
#                (tests/cluster/operator/build-image.sh, --isolation chroot)
#   javac        compiles the JVM test app (a JDK is on this machine kind; else Debian's)
#   iproute2, kubectl   the node's address and bridge; `kubectl apply -k` (on this machine kind)
# runc, the CNI plugins and docker-registry are NOT installed: build.sh unpacks their Debian
# packages into the cache. Idempotent: a no-op when everything is present.
set -euo pipefail
need=()
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
command -v buildah >/dev/null 2>&1 || need+=(buildah)
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
