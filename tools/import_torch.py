#!/usr/bin/python3
"""Load a cim HDF5 model file (docs/FORMAT.md) into PyTorch, and run it as cim does.

Usage: import_torch.py FILE.h5 [--eval] [--data DIR] [--json] [--out MODEL.pt]

  --eval        accuracy on the Fashion-MNIST test set in FP32 and at every precision
                the file stores (cim eval's rows), in PyTorch
  --out M.pt    torch.save {"model", "quant", "architecture", "dataset", "input_shape"},
                which export_torch.py writes back to the same cim file

Importable:
  model, meta = load(path)        nn.Sequential (FP32, eval mode) and the file's
                                  attributes; meta["quant"] is None for an FP32 file,
                                  else the dict export_torch.export() takes
  qmodel = quantized(model, meta["quant"], p)
                                  the fake-quant network of precision p (0 the high,
                                  1 the low one), computing what cim's fake-quant
                                  inference computes (below)
  evaluate(model, x, y)           correct predictions
  evaluate_file(path)             {"FP32": (correct, n), "W8A8": ..., "W4A4": ...}

Quantization, precision p, as in cim's quant/quantizer.c and nn/quantize.c:
  weights: q = clamp(round(w / s0), -Q0, Q0), Q0 = 2^(weight_bits[0]-1) - 1, w / s0 in
    float32, round half to even (torch.round). p = 1, d = weight_bits[0] - weight_bits[1]:
    nested sign(q) * (|q| >> d), nested-round clamp(round(q / 2^d), -Q1, Q1), both worth
    s0 * 2^d a code; independent: its own step s1. The value is code * step in float32.
  inputs of every Linear/Conv2d (the pixels included): a = clamp(round(x / s_in), 0,
    2^A0 - 1), at p = 1 a >> (A0 - A1), worth s_in * 2^(A0 - A1).
  bias, ReLU and max pooling stay FP32.
Only the order of float32 summation differs from cim's sgemm.
"""
import json
import os
import sys

import h5py
import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402
from usage import Parser  # noqa: E402


class CimFileError(Exception):
    """A file that is not a cim model this tool reads; the message is one line."""


def _text(v):
    return v.decode() if isinstance(v, (bytes, np.bytes_)) else str(v)


def load(path):
    """(nn.Sequential in eval mode, meta) of a cim model file."""
    if not os.path.isfile(path):
        raise CimFileError(f"{path}: cannot open: no such file")
    if not h5py.is_hdf5(path):
        raise CimFileError(f"{path}: not an HDF5 file")
    f = h5py.File(path, "r")
    with f:
        if _text(f.attrs.get("format", "")) != "cim-model":
            raise CimFileError(f"{path}: /: format is not 'cim-model'")
        if int(f.attrs.get("format_version", 0)) != 1:
            raise CimFileError(f"{path}: /: format_version {f.attrs.get('format_version')}; "
                               "this tool reads 1")
        meta = {"architecture": _text(f.attrs["architecture"]),
                "dataset": _text(f.attrs.get("dataset", "")),
                "input_shape": tuple(int(v) for v in f.attrs["input_shape"]),
                "num_classes": int(f.attrs["num_classes"]), "quant": None}
        mods, wscales, iscales = [], [], []
        flat = False
        for name in sorted(f["layers"]):
            g = f["layers"][name]
            kind, act = _text(g.attrs["type"]), _text(g.attrs["activation"])
            if kind in ("dense", "conv2d"):
                w = torch.from_numpy(np.asarray(g["weight"][()], dtype=np.float32))
                b = torch.from_numpy(np.asarray(g["bias"][()], dtype=np.float32))
                if kind == "dense":
                    if not flat:
                        mods.append(nn.Flatten())
                        flat = True
                    m = nn.Linear(w.shape[1], w.shape[0])
                else:
                    k, s, p = (int(g.attrs[a]) for a in ("kernel", "stride", "padding"))
                    m = nn.Conv2d(w.shape[1], w.shape[0], k, stride=s, padding=p)
                with torch.no_grad():
                    m.weight.copy_(w)
                    m.bias.copy_(b)
                mods.append(m)
                if "weight_scale" in g:
                    wscales.append(torch.from_numpy(np.asarray(g["weight_scale"][()],
                                                               dtype=np.float32)))
                    iscales.append(np.float32(g.attrs["input_scale"]))
            elif kind == "maxpool":
                k, s = int(g.attrs["kernel"]), int(g.attrs["stride"])
                mods.append(nn.MaxPool2d(k, stride=s))
            else:
                raise CimFileError(f"{path}: /layers/{name}: type '{kind}' is unknown")
            if act == "relu":
                mods.append(nn.ReLU())
        if "quant" in f:
            q = f["quant"].attrs
            meta["quant"] = {
                "scheme": _text(q["scheme"]),
                "weight_bits": [int(v) for v in np.atleast_1d(q["weight_bits"])],
                "activation_bits": [int(v) for v in np.atleast_1d(q["activation_bits"])],
                "per_channel": bool(int(q["per_channel"])),
                "weight_scales": wscales, "input_scales": iscales}
            for a in ("weight_range", "activation_range"):
                if a in q:
                    meta["quant"][a] = _text(q[a])
            if "percentile" in q:
                meta["quant"]["percentile"] = float(q["percentile"])
    return nn.Sequential(*mods).eval(), meta


def label(quant, p):
    """cim's name of precision p: "FP32" for None, else "W8A8" and the like."""
    if quant is None or p is None:
        return "FP32"
    return f"W{quant['weight_bits'][p]}A{quant['activation_bits'][p]}"


def fake_weight(w, s, quant, p):
    """The fake-quant weight of precision p from FP32 w and its steps s [P, R]."""
    wb, scheme = quant["weight_bits"], quant["scheme"]
    view = (-1,) + (1,) * (w.dim() - 1)   # one step per output channel, or one for all
    s = s.reshape(1, -1) if s.dim() <= 1 else s  # [R]: the high precision's steps
    hi = 1 if p == 1 and scheme == "independent" else 0
    step = s[hi].reshape(view)
    qmax = 2 ** (wb[hi] - 1) - 1
    q = torch.clamp(torch.round(w / step), -qmax, qmax)
    if p == 0 or scheme == "independent":
        return q * step
    d = wb[0] - wb[1]
    if scheme == "nested":
        q = torch.sign(q) * torch.div(q.abs(), 2 ** d, rounding_mode="floor")
    else:  # nested-round: exact in float32, |q| < 2^15
        lo = 2 ** (wb[1] - 1) - 1
        q = torch.clamp(torch.round(q / 2 ** d), -lo, lo)
    return q * (step * 2 ** d)


class ActQuant(nn.Module):
    """The unsigned input code of a layer: clamp(round(x / s), 0, 2^bits - 1), its top
    bits - drop bits, worth s * 2^drop each."""

    def __init__(self, scale, bits, drop=0):
        super().__init__()
        self.scale, self.bits, self.drop = float(np.float32(scale)), bits, drop

    def forward(self, x):
        s = torch.tensor(self.scale, dtype=x.dtype)
        a = torch.clamp(torch.round(x / s), 0, 2 ** self.bits - 1)
        if self.drop:
            a = torch.div(a, 2 ** self.drop, rounding_mode="floor")
        return a * (s * 2 ** self.drop)

    def extra_repr(self):
        return f"scale={self.scale!r}, bits={self.bits}, drop={self.drop}"


def input_steps(quant):
    """The float32 input steps of quant: its input_scales, else activation_clips /
    (2^activation_bits[0] - 1) in float32 (as cim turns a PACT clip into a step)."""
    if "input_scales" in quant:
        return [np.float32(v) for v in quant["input_scales"]]
    qmax = np.float32(2 ** quant["activation_bits"][0] - 1)
    return [np.float32(np.float32(c) / qmax) for c in quant["activation_clips"]]


def quantized(model, quant, p):
    """A new nn.Sequential running model at precision p of quant, as cim does.

    quant is what load() returns or export_torch.export() takes (weight_scales of
    shape [P, R], or [R] for the nested schemes; input_scales or activation_clips).
    """
    ab, steps = quant["activation_bits"], input_steps(quant)
    mods, k = [], 0
    for m in model:
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            mods.append(ActQuant(steps[k], ab[0], ab[0] - ab[p]))
            bias = m.bias is not None
            c = nn.Linear(m.in_features, m.out_features, bias) if isinstance(m, nn.Linear) \
                else nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride,
                               m.padding, bias=bias)
            with torch.no_grad():
                c.weight.copy_(fake_weight(m.weight, torch.as_tensor(quant["weight_scales"][k]),
                                           quant, p))
                if bias:
                    c.bias.copy_(m.bias)
            mods.append(c)
            k += 1
        else:
            mods.append(m)
    return nn.Sequential(*mods).eval()


@torch.no_grad()
def evaluate(model, x, y, batch=250):
    """Correct predictions of model on images x [N, C, H, W] and labels y [N] (arrays
    or tensors), batch images at a time (small batches stay in cache); the first
    largest logit wins, as in cim."""
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    correct = 0
    for i in range(0, len(x), batch):
        correct += int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    return correct


def evaluate_file(path, data_dir=None):
    """{precision label: (correct, images)} on the test set, FP32 then each precision."""
    model, meta = load(path)
    x, y = fmnist.load("test", data_dir)
    if tuple(x.shape[1:]) != meta["input_shape"]:
        raise CimFileError(f"{path}: model input {meta['input_shape']} does not match the "
                           f"{tuple(x.shape[1:])} images of {fmnist.data_dir(data_dir)}")
    res = {"FP32": (evaluate(model, x, y), len(y))}
    q = meta["quant"]
    for p in range(len(q["weight_bits"]) if q else 0):
        res[label(q, p)] = (evaluate(quantized(model, q, p), x, y), len(y))
    return res


def main(argv):
    ap = Parser(prog="import_torch.py",
                                 description="Load a cim HDF5 model into PyTorch; evaluate "
                                 "it in FP32 and at its stored precisions.")
    ap.add_argument("file", help="FILE.h5, a cim model file")
    ap.add_argument("--eval", action="store_true", help="accuracy on the test set")
    ap.add_argument("--data", help="Fashion-MNIST directory (default $CIM_DATA or "
                    f"{fmnist.DATA_DIR_DEFAULT})")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--out", help="MODEL.pt to torch.save the model and its steps to")
    a = ap.parse_args(argv)
    try:
        model, meta = load(a.file)
        res = evaluate_file(a.file, a.data) if a.eval else {}
        if a.out:
            saved = dict(meta, model=model)
            del saved["num_classes"]
            tmp = f"{a.out}.tmp-{os.getpid()}"
            try:
                torch.save(saved, tmp)
                os.replace(tmp, a.out)
            except BaseException as e:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                if isinstance(e, (OSError, RuntimeError)):  # torch.save raises both
                    why = getattr(e, "strerror", None) or str(e)
                    raise CimFileError(f"{a.out}: cannot write: {why}") from None
                raise
    except (CimFileError, fmnist.DataError, OSError, KeyError) as e:
        msg = f"{a.file}: missing {e}" if isinstance(e, KeyError) else str(e)
        print(f"import_torch.py: {msg}".splitlines()[0], file=sys.stderr)
        return 1
    if a.json:
        print(json.dumps({"file": a.file, "architecture": meta["architecture"],
                          "scheme": meta["quant"]["scheme"] if meta["quant"] else None,
                          "results": [{"precision": k, "correct": c, "accuracy": c / n}
                                      for k, (c, n) in res.items()]}))
    else:
        print(model)
        for k, (c, n) in res.items():
            print(f"{k:6s} {100.0 * c / n:.2f}%  ({c} of {n})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
