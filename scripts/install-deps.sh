#!/usr/bin/env bash
# Installs the Debian packages Motorcade needs for one purpose, only those missing:
#   scripts/install-deps.sh test    what the test suite runs (openssl, Chromium)
#   scripts/install-deps.sh start   what the platform runs (nothing beyond Deno yet)
# Needs root (or sudo) only when something is missing; otherwise says exactly what to install.
set -euo pipefail
purpose=${1:-test}
case "$purpose" in
  test) need=("openssl:openssl" "chromium:chromium") ;;
  start) need=() ;;
  *) echo "usage: scripts/install-deps.sh test|start" >&2; exit 2 ;;
esac

missing=()
for pair in "${need[@]+"${need[@]}"}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "Motorcade needs these Debian packages for '$purpose': ${missing[*]}" >&2
    echo "This user cannot install them; as root run: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
echo "Installing Debian packages for '$purpose': ${missing[*]}" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >&2
