#!/usr/bin/env bash
# Set up massage-assistant on Debian/Ubuntu: system packages, then a virtual
# environment in .venv with the package installed. Safe to run again.
#   bash scripts/setup.sh          # what a user needs
#   bash scripts/setup.sh --dev    # plus what the tests need
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

packages=(espeak-ng libespeak-ng1 libportaudio2 python3-venv)
if [ "$dev" = 1 ]; then
  packages+=(pulseaudio pulseaudio-utils libasound2-plugins pocketsphinx-testdata)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "Installing system packages: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
extra=""
[ "$dev" = 1 ] && extra="[dev]"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".${extra}"
