#!/usr/bin/env bash
# Install the system packages Sertel needs (idempotent, quick when nothing is missing).
#   chromium      - headless browser for tests/browser (playwright uses /usr/bin/chromium)
#   poppler-utils - pdfsig, for verifying signed PDFs
#   openssl       - CLI used by PKI tooling/tests
#   softhsm2      - PKCS#11 token the HSM key backend is tested against
# Run as root (CI runs as root); falls back to sudo when available.
set -euo pipefail

PACKAGES=(chromium poppler-utils openssl libnss3-tools softhsm2)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup-system: all system packages present (${PACKAGES[*]})"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "setup-system: missing ${missing[*]} and not root (no sudo available)" >&2
    exit 1
fi

echo "setup-system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-system: done"
