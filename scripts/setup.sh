#!/usr/bin/env bash
# Installs what engram-scale needs from Debian 12's packages (only what is
# missing) and builds it into build/. Run by the two front-door scripts.
# Arguments name further packages to install (the corpora of a study:
# linux-doc-6.1, linux-source-6.1).
set -euo pipefail

PACKAGES=(
  gcc pkg-config meson ninja-build
  libopenblas-dev libdnnl-dev libgsl-dev libyaml-dev libutf8proc-dev libjansson-dev zlib1g-dev libarchive-dev libcmocka-dev
  gnuplot-nox bible-kjv dict-gcide jq
  "$@"
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release >/dev/null
fi
ninja -C build >/dev/null
