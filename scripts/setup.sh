#!/usr/bin/env bash
# Install the Debian packages cim needs (only those missing), then configure and
# build into build/ (warnings are errors). Quick when everything is in place.
# Usage: scripts/setup.sh [BUILD_DIR [MESON_OPTIONS...]]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  meson ninja-build pkg-config gcc libc6-dev   # build
  libgsl-dev libopenblas-dev                   # RNG and statistics; BLAS
  librandom123-dev                             # counter-based RNG (crossbar noise)
  libhdf5-dev hdf5-tools                       # model files; h5dump
  zlib1g-dev libjansson-dev                    # gzip'd IDX data; JSON
  check libsubunit-dev valgrind                # tests; memcheck (tests/meson.build)
  iverilog verilator                           # RTL simulation and lint (rtl tier)
  clang                                        # libFuzzer targets (tests/fuzz, slow tier)
  yosys opensta qflow-tech-osu018              # synthesis flow (rtl/flow, slow tier)
  libplplot-dev plplot-driver-cairo            # figures (PNG through cairo)
  fonts-dejavu-core                            # the figures' font
  libopenmpi-dev openmpi-bin                   # cim sweep over processes (mpirun)
  dataset-fashion-mnist                        # the data set
  python3-torch python3-h5py python3-numpy     # PyTorch interop tools (tools/) and their test
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}; run as root or install them first" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

build=${1:-build}
shift || true
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --werror "$@" >&2
fi
ninja -C "$build" >&2
