#!/usr/bin/env bash
# Install the pinned browser libraries (frontend/package-lock.json) and copy their
# self-contained browser bundles into engine/web/static/vendor/ (git-ignored).
#
# Produces (load in this order, before /static/js/csr.js):
#   engine/web/static/vendor/reflect-metadata.js  - Reflect.getMetadata polyfill (needed by tsyringe inside x509.js)
#   engine/web/static/vendor/x509.js              - @peculiar/x509 IIFE bundle, exposes global `x509`
#
# Idempotent: does nothing when every vendor file is newer than package-lock.json.
# Set FORCE=1 to rebuild anyway.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FRONTEND="$ROOT/frontend"
VENDOR="$ROOT/engine/web/static/vendor"
LOCK="$FRONTEND/package-lock.json"

# destination name -> source path inside frontend/node_modules
declare -A FILES=(
    [reflect-metadata.js]="reflect-metadata/Reflect.js"
    [x509.js]="@peculiar/x509/build/x509.js"
)

up_to_date() {
    [ -f "$LOCK" ] || return 1
    local f
    for f in "${!FILES[@]}"; do
        [ "$VENDOR/$f" -nt "$LOCK" ] || return 1
    done
    return 0
}

if [ "${FORCE:-0}" != "1" ] && up_to_date; then
    echo "build-frontend: vendor bundles up to date"
    exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "build-frontend: npm not found" >&2; exit 1; }

cd "$FRONTEND"
if [ -f "$LOCK" ]; then
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
else
    npm install --no-audit --no-fund --loglevel=error >/dev/null
fi

mkdir -p "$VENDOR"
for f in "${!FILES[@]}"; do
    src="$FRONTEND/node_modules/${FILES[$f]}"
    [ -f "$src" ] || { echo "build-frontend: missing $src" >&2; exit 1; }
    cp "$src" "$VENDOR/$f"
    touch "$VENDOR/$f"   # cp keeps no mtime here, but be explicit: newer than the lock
done
echo "build-frontend: copied ${!FILES[*]} to ${VENDOR#"$ROOT"/}"
