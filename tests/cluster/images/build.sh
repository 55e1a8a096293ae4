#!/usr/bin/env bash
# Build (or reuse) the root filesystems of the test images from Debian packages, with
# mmdebstrap (bookworm, minbase), as tar files the registries' images are made of:
#   base-py311.tar   python:3.11-slim look-alike: the base crashwatch's own Dockerfile builds on
#   apps.tar         real software that fails for real: nginx, Django (the "shop" app), psql
#   jvm.tar          OpenJDK 17 (headless JRE) with the PostgreSQL JDBC driver
# into ${CRASHWATCH_NODE_CACHE:-<repo>/.cache/realnode}/rootfs/, each with a stamp of its
# package list and hooks; a matching stamp makes it a no-op. Prints the dir last.
# Needs root and mmdebstrap (tests/tools/ensure-realnode-tools.sh installs it).
set -euo pipefail
{
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
OUT="${CRASHWATCH_NODE_CACHE:-$REPO/.cache/realnode}/rootfs"
SUITE=bookworm
log() { echo "[images] $*" >&2; }

# name -> packages (comma-separated)
declare -A PACKAGES=(
  [base-py311]="python3,python3-venv,python-is-python3,ca-certificates,python3-wheel-whl"
  [apps]="nginx-light,python3,python3-django,postgresql-client"
  [jvm]="openjdk-17-jre-headless,libpostgresql-jdbc-java"
)
declare -A HOOKS=([base-py311]="$HERE/rootfs/base-customize.sh")

mkdir -p "$OUT"
exec 9>"$OUT/.build.lock"
flock 9

for name in base-py311 apps jvm; do
  hook="${HOOKS[$name]:-}"
  stamp="suite=$SUITE pkgs=${PACKAGES[$name]} hook=$( [[ -z $hook ]] || sha256sum < "$hook" | cut -c1-16 )"
  if [[ -f "$OUT/$name.tar" && -f "$OUT/$name.stamp" && "$(cat "$OUT/$name.stamp")" == "$stamp" ]]; then
    continue
  fi
  command -v mmdebstrap >/dev/null || { log "mmdebstrap is required (tests/tools/ensure-realnode-tools.sh)"; exit 1; }
  log "mmdebstrap $name: ${PACKAGES[$name]}"
  start=$(date +%s)
  args=(--variant=minbase --quiet --format=tar
        # merged /usr without the usrmerge package (which drags perl in)
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
        --include="${PACKAGES[$name]}"
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
        --dpkgopt='path-exclude=/usr/share/locale/*'
        # OpenJDK's postinst registers man pages with update-alternatives: the directory must be
        # there even though no man page is unpacked into it
        --essential-hook='mkdir -p "$1"/usr/share/man/man1'
        --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin')
  [[ -n $hook ]] && args+=(--customize-hook="$hook")
  # Debian's mirror now and then refuses a download for a minute (make demo, 2026-11-29:
  # "E: apt download failed" three times, the same build fine a minute later): try again
  # twice, 30 s apart, before giving up.
  for attempt in 1 2 3; do
    if nice mmdebstrap "${args[@]}" "$SUITE" "$OUT/$name.tar.tmp"; then
      break
    fi
    rm -f "$OUT/$name.tar.tmp"
    (( attempt < 3 )) || { log "mmdebstrap $name failed 3 times"; exit 1; }
    log "mmdebstrap $name failed (attempt $attempt of 3); again in 30 s"
    sleep 30
  done
  mv "$OUT/$name.tar.tmp" "$OUT/$name.tar"
  echo "$stamp" > "$OUT/$name.stamp"
  log "$name: $(du -h "$OUT/$name.tar" | cut -f1) in $(( $(date +%s) - start ))s"
done
echo "$OUT"
exit 0
}
