#!/usr/bin/env bash
# Installs the system tools the test suite runs for real: promtool and prometheus
# (Debian's `prometheus` package). Idempotent; a no-op when they are present.
set -euo pipefail
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# The package may try to start a system service; crashwatch's tests start their own.
($SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true)
command -v promtool >/dev/null
