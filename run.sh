#!/usr/bin/env bash
# Install what is missing, build, and run the main job on the embedded defaults:
# evaluate the shipped weights on the full Fashion-MNIST test set, digitally and
# on the default crossbar (128x128 arrays, 2-bit cells, 1-bit DAC, lossless ADC:
# the ideal crossbar, which reproduces the integer result exactly), then once
# with programming and read noise and a 6-bit ADC calibrated on training images.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh build
for net in lenet5 mlp; do
  build/cli/cim eval "data/weights/$net-fmnist.h5"
  build/cli/cim infer "data/weights/$net-fmnist.h5"
done
build/cli/cim infer data/weights/lenet5-fmnist.h5 --adc-bits 6 --adc-range max \
  --prog-noise 0.02 --read-noise 0.01
