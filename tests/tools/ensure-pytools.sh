#!/usr/bin/env bash
# Installs Python-packaged tools whose dependency trees are too large for the dev extras
# into their own venv, .cache/tools-venv (kept out of git by .gitignore's .cache/):
#   checkov  static checks of the Kubernetes manifests under deploy/ (tests/deploy).
# Idempotent: when the pinned versions are present it only checks a stamp file and exits.
# Bump a version here and the next run reinstalls. Override the interpreter with PYTHON=.
set -euo pipefail
cd "$(dirname "$0")/../.."

CHECKOV_VERSION="3.3.30"
VENV="${TOOLS_VENV:-.cache/tools-venv}"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.installed-checkov-$CHECKOV_VERSION"

if [ -f "$STAMP" ] && [ -x "$VENV/bin/checkov" ]; then
    exit 0
fi

rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip
"$VENV/bin/pip" install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION"
"$VENV/bin/checkov" --version >/dev/null
touch "$STAMP"
