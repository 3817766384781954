#!/usr/bin/python3
"""The crossbar model of cim/xbar.h in PyTorch, written as Python simulators write it.

A reference for `cim bench --only xbar`: the same model and the same case, computed
the vectorized PyTorch way: weights bit-sliced into float conductance tensors,
inputs applied bit-serially, the column currents of every array as matmuls, a
per-column ADC by floor/clamp, Gaussian noise from torch's generator.

Usage: /usr/bin/python3 bench/xbar_torch.py [FILE.h5] [--ideal] [--images N]
           [--threads N] [--batch B] [--per-slice] [--seed S] [--json]
           [--predictions OUT.txt] [--data DIR]

The standard case (cli/cmd_bench.c, bench_xbar): precision 0 (W8A8) of FILE (default
data/weights/lenet5-fmnist.h5), 128x128 arrays, differential column pairs, 2-bit
cells, 1-bit DAC, on/off 100, 6-bit ADC over the full-scale range, programming noise
0.02 and read noise 0.01 (additive, in units of Gmax). --ideal: no noise and a
lossless ADC, which gives exactly cim's integer result (docs/FORMAT.md, "Integer
inference"), so every prediction equals `cim infer FILE` and `cim eval`'s.

The model, as cim/xbar.c computes it (currents in level units: one conductance step
times one DAC step; Gmax = 1, Gmin = 1 / on_off):
  cells       |q| of a weight code in 4 slices of 2 bits, the positive column of a
              pair holding it for q > 0, the negative one for q < 0; a cell at
              level l has G = Gmin + l / 3 (1 - Gmin), programmed once as
              max(G + 0.02 N(0,1), 0) (cim/device.c);
  reads       per row tile of 128 inputs and input bit s, the column current
              I = sum_r x_r G_r (level units), plus read noise 0.01 Gmax N(0,1) per
              driven cell, drawn per column from its variance: sd 0.01 sqrt(sum x_r)
              (cim/xbar.c, xbar_matmul);
  ADC         code = clamp(floor(I / 2^e + 1/2), 0, 2^b - 1) with b = 6 and the step
              2^e = 2^(9 - 6): the full scale of a 128-row column, 128 (3 + Gmin
              leakage) = 388 level units, needs 9 bits lossless (cim/adc.c,
              cim_xbar_adc_bits_lossless); --ideal: b = 9, e = 0;
  periphery   acc = sum over tiles, input bits s and weight slices j of
              2^(s + 2 j + e) (code_pos - code_neg), then the integer pipeline's
              requantization to the next layer's 8-bit input code.
Time covers the inference only, not loading, quantizing or programming.
"""
import argparse
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn

    import fmnist          # tools/
    import import_torch    # tools/, needs h5py
except ImportError as e:
    sys.stderr.write(f"xbar_torch.py: skip: cannot import {e.name or e} (Debian: python3-torch, "
                     "python3-numpy, python3-h5py; run with /usr/bin/python3)\n")
    sys.exit(77)

ROWS, CELL_BITS, DAC_BITS, ON_OFF = 128, 2, 1, 100.0


def requant(m, bias, abits):
    """(m0, shift, bias) of nn_int_requant_init() (nn/integer.c), in Python ints."""
    smax = 61 - abits
    if bias != 0.0:
        smax = max(min(smax, 61 - math.frexp(bias)[1]), 0)
    f, e = math.frexp(m)
    m0 = round(math.ldexp(f, 31))             # Python rounds floats half to even
    if m0 == 1 << 31:
        m0, e = 1 << 30, e + 1
    shift = 31 - e
    if shift < 0:
        m0, shift = (1 << 31) - 1, 0
    elif shift > smax:
        drop = shift - smax
        if drop > 32:
            m0 = 0
        else:
            q, rem, half = m0 >> drop, m0 & ((1 << drop) - 1), 1 << (drop - 1)
            m0 = q + (rem > half or (rem == half and q & 1))
        shift = smax
    lim = 1 << 61
    bq = max(min(round(math.ldexp(bias, shift)), lim), -lim)
    return m0, shift, bq


class Layer:
    """One dense/conv2d layer: its crossbar cells, ADC and output stage."""

    def __init__(self, mod, ws, s_in, s_next, abits, wbits, a):
        w = mod.weight.detach().reshape(mod.weight.shape[0], -1)      # [O, K] float32
        s = ws[0].reshape(-1, 1) if ws.dim() > 1 else ws.reshape(-1, 1)
        qmax = 2 ** (wbits - 1) - 1
        # w / s in float32, elementwise (a scalar divisor may become a reciprocal)
        s = s.expand_as(w).contiguous()
        self.q = torch.clamp(torch.round(w / s), -qmax, qmax).to(torch.int64)
        self.conv = isinstance(mod, nn.Conv2d)
        if self.conv:
            self.k, self.stride, self.pad = mod.kernel_size[0], mod.stride[0], mod.padding[0]
        O, K = self.q.shape
        self.O, self.K = O, K
        # cells [K, O, S, 2] (positive, negative column), cim's column order
        S = (wbits - 1 + CELL_BITS - 1) // CELL_BITS
        L = 2 ** CELL_BITS - 1
        mag = self.q.abs()
        lv = torch.stack([(mag >> (CELL_BITS * j)) & L for j in range(S)], -1)   # [O, K, S]
        lv = torch.stack([lv * (self.q > 0)[..., None], lv * (self.q < 0)[..., None]], -1)
        lv = lv.permute(1, 0, 2, 3).reshape(K, O * S * 2).double()
        gmin = 1.0 / ON_OFF
        self.unit = L / (1.0 - gmin)           # level units per Gmax
        self.g0 = L / (ON_OFF - 1.0)           # Gmin in level units (the leakage)
        g = gmin + lv / L * (1.0 - gmin)
        if a.prog_noise > 0:
            g = torch.clamp(g + a.prog_noise * torch.randn(g.shape, dtype=torch.float64), min=0.0)
        cells = (g * self.unit - self.g0).float()                    # minus Gmin, as cim
        self.tiles = [cells[r:r + ROWS].contiguous() for r in range(0, K, ROWS)]
        # --per-slice: each tile's cells of weight slice j, both columns of the pairs
        self.tile_slices = [[t.reshape(-1, O, S, 2)[:, :, j].reshape(-1, 2 * O).contiguous()
                             for j in range(S)] for t in self.tiles]
        # ADC: lossless bits of a full column, then the kept top bits
        full = ROWS * (2 ** DAC_BITS - 1) * (L + self.g0)
        lossless = next(b for b in range(1, 62) if 2.0 ** b - 1 >= full)
        bits = lossless if a.ideal else a.adc_bits
        self.e = max(lossless - bits, 0)
        self.qmax = float(2 ** bits - 1)
        self.read_sd = 0.0 if a.ideal else a.read_noise * self.unit
        # periphery weights per column: +-2^(2 j + e)
        fw = torch.tensor([[2.0 ** (CELL_BITS * j + self.e), -2.0 ** (CELL_BITS * j + self.e)]
                           for j in range(S)], dtype=torch.float32)
        self.fw = fw.reshape(S * 2)
        self.S, self.in_slices = S, abits
        self.per_slice = a.per_slice
        # output stage: requantization to the next layer's code, or logits
        step = ws[0].double() if ws.dim() > 1 else ws.double()
        acc_step = step * float(s_in)                                 # [O] double
        b = mod.bias.detach().double()
        if s_next is None:
            self.oscale, self.obias, self.rq = acc_step, b, None
        else:
            rq = [requant(float(acc_step[o]) / float(s_next), float(b[o]) / float(s_next),
                          abits) for o in range(O)]
            self.rq = [torch.tensor(v, dtype=torch.int64) for v in zip(*rq)]
            self.aqmax = 2 ** abits - 1

    def vectors(self, x):
        """Input codes [N, ...] -> [V, K] vectors (im2col for conv) and the output shape."""
        if not self.conv:
            return x.reshape(x.shape[0], -1), None
        n, _, h, w = x.shape
        oh = (h + 2 * self.pad - self.k) // self.stride + 1
        ow = (w + 2 * self.pad - self.k) // self.stride + 1
        cols = F.unfold(x, self.k, padding=self.pad, stride=self.stride)   # [N, K, P]
        return cols.transpose(1, 2).reshape(-1, self.K), (n, oh, ow)

    def crossbar(self, v):
        """acc [V, O] (float64, integers) of the input codes v [V, K] on the arrays."""
        codes = v.to(torch.int32)
        bits = torch.stack([((codes >> s) & 1) for s in range(self.in_slices)]).float()
        acc = torch.zeros(v.shape[0], self.O, dtype=torch.float64)
        pow_s = torch.tensor([2.0 ** s for s in range(self.in_slices)], dtype=torch.float64)
        for t, cells in enumerate(self.tiles):
            x = bits[:, :, t * ROWS:t * ROWS + cells.shape[0]]          # [8, V, Kt]
            if self.per_slice:  # one matmul per (input slice, weight slice, tile)
                cur = torch.stack([torch.stack([x[s] @ cj for cj in self.tile_slices[t]], 1)
                                   for s in range(self.in_slices)])   # [8, V, S, 2 O]
                cur = cur.reshape(*cur.shape[:3], self.O, 2).transpose(2, 3)
                cur = cur.reshape(*cur.shape[:2], -1)                  # [8, V, ncol]
            else:               # the same products, batched into one matmul
                cur = x @ cells                                         # [8, V, ncol]
            sx = x.sum(-1, keepdim=True)                                # driven rows
            cur.add_(self.g0 * sx)                                      # Gmin leakage
            if self.read_sd > 0:
                cur.add_(torch.randn_like(cur).mul_(self.read_sd * sx.sqrt()))
            code = cur.mul_(2.0 ** -self.e).add_(0.5).floor_().clamp_(0.0, self.qmax)
            part = code.reshape(*code.shape[:2], self.O, 2 * self.S) @ self.fw   # [8, V, O]
            acc += torch.tensordot(pow_s, part.double(), dims=1)
        return acc

    def forward(self, x):
        v, shape = self.vectors(x)
        acc = self.crossbar(v)
        if self.rq is None:
            y = (acc * self.oscale + self.obias).float()
        else:
            m0, shift, bias = self.rq
            z = acc.to(torch.int64) * m0 + bias
            # per-output shifts: round half to even with each output's own shift
            one = torch.ones_like(shift)
            q = z >> shift
            rem = z & ((one << shift) - 1)
            half = torch.where(shift > 0, one << (shift - 1).clamp(min=0), 0 * one)
            up = (shift > 0) & ((rem > half) | ((rem == half) & ((q & 1) == 1)))
            y = torch.clamp(q + up.to(torch.int64), 0, self.aqmax).float()
        if shape is not None:
            n, oh, ow = shape
            y = y.reshape(n, oh * ow, self.O).transpose(1, 2).reshape(n, self.O, oh, ow)
        return y


def build(path, a):
    """The layers of precision 0 of a quantized cim file, programmed."""
    model, meta = import_torch.load(path)
    quant = meta["quant"]
    if quant is None:
        raise import_torch.CimFileError(f"{path}: not a quantized model (no /quant)")
    wbits, abits = quant["weight_bits"][0], quant["activation_bits"][0]
    mods = list(model)
    weighted = [i for i, m in enumerate(mods) if isinstance(m, (nn.Linear, nn.Conv2d))]
    steps = quant["input_scales"]
    ops, w = [], 0
    for i, m in enumerate(mods):
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nxt = steps[w + 1] if w + 1 < len(weighted) else None
            ops.append(Layer(m, quant["weight_scales"][w], steps[w], nxt, abits, wbits, a))
            w += 1
        elif isinstance(m, nn.MaxPool2d):
            ops.append(m)                       # on codes, as nn/integer.c
        elif isinstance(m, nn.ReLU) and i > weighted[-1]:
            ops.append(m)                       # on logits; hidden ReLUs are the clamp at 0
    return ops, np.float32(steps[0]), 2 ** abits - 1


def infer(ops, s_in, aqmax, x):
    """Logits [N, classes] of images x [N, 1, H, W] (pixel / 255, float32)."""
    h = torch.clamp(torch.round(x / torch.full_like(x, s_in)), 0, aqmax)   # input codes
    for op in ops:
        h = op.forward(h) if isinstance(op, Layer) else op(h)
    return h


def main(argv):
    p = argparse.ArgumentParser(description="cim's crossbar model in PyTorch (bench reference)")
    p.add_argument("file", nargs="?", default=os.path.join(HERE, "..", "data", "weights",
                                                            "lenet5-fmnist.h5"))
    p.add_argument("--ideal", action="store_true", help="no noise, lossless ADC (exact)")
    p.add_argument("--images", type=int, default=10000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--per-slice", action="store_true",
                   help="one matmul per (input slice, weight slice, tile), not batched")
    p.add_argument("--adc-bits", type=int, default=6)
    p.add_argument("--prog-noise", type=float, default=0.02)
    p.add_argument("--read-noise", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", default=None)
    p.add_argument("--predictions", metavar="OUT", help="write one predicted class a line")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    if a.images < 1 or a.threads < 1 or a.batch < 1:
        p.error("--images, --threads and --batch must be >= 1")
    if a.ideal:
        a.prog_noise = a.read_noise = 0.0
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    try:
        x, y = fmnist.load("test", a.data)
        ops, s_in, aqmax = build(a.file, a)
    except (fmnist.DataError, import_torch.CimFileError, OSError) as e:
        sys.stderr.write(f"xbar_torch.py: {e}\n")
        return 1
    n = min(a.images, x.shape[0])
    x, y = torch.from_numpy(x[:n]), torch.from_numpy(y[:n])
    pred = torch.empty(n, dtype=torch.int64)
    with torch.no_grad():
        t0 = time.perf_counter()
        for f in range(0, n, a.batch):
            pred[f:f + a.batch] = infer(ops, s_in, aqmax, x[f:f + a.batch]).argmax(1)
        dt = time.perf_counter() - t0
    correct = int((pred == y).sum())
    if a.predictions:
        with open(a.predictions, "w") as f:
            f.write("".join(f"{int(c)}\n" for c in pred))
    case = ("ideal: no noise, lossless ADC" if a.ideal else
            f"W8A8, 128x128, 2-bit cells, 1-bit DAC, {a.adc_bits}-bit ADC, "
            f"prog {a.prog_noise:g}, read {a.read_noise:g}")
    r = {"file": a.file, "case": case, "images": n, "correct": correct,
         "accuracy": correct / n, "seconds": dt, "images_per_s": n / dt,
         "threads": a.threads, "batch": a.batch, "per_slice": a.per_slice, "seed": a.seed,
         "torch": torch.__version__}
    if a.json:
        print(json.dumps(r))
    else:
        print(f"{case}: accuracy {100 * r['accuracy']:.2f}% ({correct}/{n}), "
              f"{r['images_per_s']:.0f} images/s ({a.threads} threads)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
