#!/bin/sh
# mmdebstrap --customize-hook for the Python base: $1 is the new root. Like the official
# python:3.11-slim image: pip, setuptools and wheel in /usr/local (so the Dockerfile's
# `python -m pip uninstall pip setuptools wheel` works) and no EXTERNALLY-MANAGED marker.
set -eu
chroot "$1" sh -eu -c '
  W=/usr/share/python-wheels
  PIPWHL=$(ls $W/pip-*.whl)
  python3 "$PIPWHL/pip" install --no-index --no-cache-dir --break-system-packages \
      --no-warn-script-location "$PIPWHL" $W/setuptools-*.whl $W/wheel-*.whl
'
rm -f "$1/usr/lib/python3.11/EXTERNALLY-MANAGED"
rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin
