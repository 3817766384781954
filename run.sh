#!/usr/bin/env bash
# Install what is missing, build, and run the main job on the embedded defaults:
# evaluate the shipped weights on the full Fashion-MNIST test set.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh build
for net in lenet5 mlp; do
  build/cli/cim eval "data/weights/$net-fmnist.h5"
done
