#!/usr/bin/env bash
# Install everything tokenring needs on Debian 12, idempotently: the apt
# packages listed in scripts/apt/*.txt, then each scripts/setup.d/*.sh
# (npm packages and the like). Uses sudo when not root.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
mapfile -t pkgs < <(cat scripts/apt/*.txt | sed 's/#.*//' | awk 'NF' | sort -u)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Debian's prometheus package tries to start a service; there may be no init.
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for s in scripts/setup.d/*.sh; do
  [ -e "$s" ] && bash "$s"
done
exit 0
