#!/usr/bin/env bash
# Installs Debian's chromium when /usr/bin/chromium is missing: the browser tests and the production
# smoke test drive it. Used by `make test` and `.ci/run` alike. apt as root, sudo otherwise.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "chromium: $CHROMIUM is missing and this user can't install it (not root, no passwordless sudo)." >&2
  echo "chromium: install it once with: sudo apt-get install chromium" >&2
  exit 1
fi
command -v apt-get >/dev/null 2>&1 || { echo "chromium: $CHROMIUM is missing and there is no apt-get here" >&2; exit 1; }

echo "chromium: installing Debian's chromium (the browser tests need it)"
"${as_root[@]}" apt-get update -q >/dev/null || { echo "chromium: apt-get update failed" >&2; exit 1; }
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q --no-install-recommends chromium >/dev/null \
  || { echo "chromium: apt-get install chromium failed" >&2; exit 1; }
[ -x "$CHROMIUM" ] || { echo "chromium: installed, but $CHROMIUM is still missing" >&2; exit 1; }
echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo installed)"
