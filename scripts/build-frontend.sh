#!/usr/bin/env bash
# Install the pinned browser libraries (frontend/package-lock.json) and copy their
# self-contained browser bundles into engine/web/static/vendor/ (git-ignored).
#
# Produces (load in this order, before /static/js/csr.js):
#   engine/web/static/vendor/reflect-metadata.js  - Reflect.getMetadata polyfill (needed by tsyringe inside x509.js)
#   engine/web/static/vendor/x509.js              - @peculiar/x509 IIFE bundle, exposes global `x509`
#   engine/web/static/vendor/modeler.js (+ modeler.css, font files) - the process owner's BPMN modeler
#       (bpmn-js, properties panel with the Sertel groups, bpmnlint + Sertel plugin, token simulation,
#       differ), bundled by esbuild from frontend/src/modeler.js; exposes global `SertelBpmn`.
# Also installs (not copied: never served) axe-core, read by the browser tests from
# frontend/node_modules/axe-core/axe.min.js (tests/browser/axe.py).
#
# Idempotent: does nothing when every vendor file is newer than package-lock.json and frontend/src.
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

BUNDLES=(modeler.js modeler.css)

up_to_date() {
    [ -f "$LOCK" ] || return 1
    [ -d "$FRONTEND/node_modules/bpmn-js" ] || return 1
    [ -f "$FRONTEND/node_modules/axe-core/axe.min.js" ] || return 1
    local f
    for f in "${!FILES[@]}" "${BUNDLES[@]}"; do
        [ "$VENDOR/$f" -nt "$LOCK" ] || return 1
    done
    # a source newer than the modeler bundle means a rebuild
    [ -z "$(find "$FRONTEND/src" -newer "$VENDOR/modeler.js" -type f -print -quit)" ] || return 1
    return 0
}

if [ "${FORCE:-0}" != "1" ] && up_to_date; then
    echo "build-frontend: vendor bundles up to date"
    exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "build-frontend: npm not found" >&2; exit 1; }

cd "$FRONTEND"
if [ -f "$LOCK" ] && [ "${FORCE:-0}" != "1" ] && [ -d node_modules/bpmn-js ] && [ -f node_modules/axe-core/axe.min.js ] \
    && [ node_modules/.package-lock.json -nt "$LOCK" ]; then
    :  # installed tree already matches the lockfile
elif [ -f "$LOCK" ]; then
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

# The modeler bundle (fonts referenced by the CSS land next to it as files).
rm -f "$VENDOR"/modeler.* "$VENDOR"/bpmn-*.eot "$VENDOR"/bpmn-*.woff* "$VENDOR"/bpmn-*.ttf "$VENDOR"/bpmn-*.svg
node_modules/.bin/esbuild src/modeler.js --bundle --format=iife --global-name=SertelBpmn --minify \
    --target=es2020 --jsx=automatic --jsx-import-source=@bpmn-io/properties-panel/preact \
    --loader:.svg=dataurl --loader:.woff=file --loader:.woff2=file --loader:.eot=file --loader:.ttf=file \
    --legal-comments=eof --log-level=warning --outfile="$VENDOR/modeler.js"
touch "$VENDOR/modeler.js" "$VENDOR/modeler.css"
echo "build-frontend: bundled ${VENDOR#"$ROOT"/}/modeler.js and modeler.css"
