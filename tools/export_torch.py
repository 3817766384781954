#!/usr/bin/python3
"""Write a PyTorch nn.Sequential into cim's HDF5 model format (docs/FORMAT.md).

Usage: export_torch.py MODEL.pt OUT.h5 [--arch NAME] [--input-shape C,H,W]

MODEL.pt is a torch.save of an nn.Sequential, or of a dict {"model": nn.Sequential,
"quant": {...}, "architecture": ..., "input_shape": ...} (what import_torch.py --out
writes). The modules cim maps: Linear (dense), Conv2d (square kernel, one stride and
padding, padding < kernel), MaxPool2d (square, no padding), ReLU (the activation of
the Linear or Conv2d before it; after a MaxPool2d that follows a Conv2d it moves
onto that Conv2d, as max and ReLU commute), Flatten (implicit in cim's dense layer;
required before a Linear on an image), and the inference no-ops Identity and Dropout.
Anything else is refused with one line naming the module, before any file is made.

Without "quant" the file is FP32 (`cim eval --ptq R` quantizes it after training).
"quant", from the user's own QAT, holds, with P = 1 or 2 precisions, high one first:
  scheme           "nested" (default), "nested-round" or "independent"
  weight_bits      [8, 4];  activation_bits  [8, 4]
  per_channel      True: one weight step per output channel; False: per tensor
  weight_scales    one per Linear/Conv2d, in order: its steps s, shape [R] (the high
                   precision; the nested schemes derive the low one as s * 2^d) or
                   [P, R], R = output channels or 1
  input_scales     one per Linear/Conv2d: the step of its input code (high
                   precision), or instead
  activation_clips one per Linear/Conv2d: the clip alpha of its input, step =
                   alpha / (2^activation_bits[0] - 1) in float32, as cim's PACT
  weight_range, activation_range, percentile   optional records

Importable: export(model, path, quant=None, ...). The file is written under a
temporary name in the target directory and renamed, so no partial file is left.
"""
import os
import sys
import tempfile

import h5py
import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from usage import Parser  # noqa: E402

SCHEMES = ("nested", "nested-round", "independent")
SUPPORTED = "Linear, Conv2d, ReLU, MaxPool2d, Flatten, Identity, Dropout"


class ExportError(Exception):
    """A model or parameter cim cannot hold; the message is one line."""


def _pair(v, what, where):
    """One int from an int or a pair of equal ints (cim is square everywhere)."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2 or v[0] != v[1]:
            raise ExportError(f"{where}: {what} {tuple(v)}; cim needs it equal in both "
                              "directions")
        v = v[0]
    if not isinstance(v, int):
        raise ExportError(f"{where}: {what} {v!r}; expected an integer")
    return v


def _f32(t):
    return np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float32)


def layers_of(model, input_shape, where="model"):
    """cim layer records (dicts) of an nn.Sequential, in order, and its output size.

    Raises ExportError naming the first module cim cannot map.
    """
    if not isinstance(model, nn.Sequential):
        raise ExportError(f"{where}: a {type(model).__name__}; expected an nn.Sequential")
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ExportError(f"{where}: input shape {shape}; expected C,H,W each at least 1")
    layers = []
    flat = False
    for i, mod in enumerate(model):
        at = f"{where}: module {i} ({type(mod).__name__})"
        if isinstance(mod, (nn.Identity, nn.Dropout)):
            continue
        if isinstance(mod, nn.Flatten):
            if mod.start_dim != 1 or mod.end_dim != -1:
                raise ExportError(f"{at}: start_dim {mod.start_dim}, end_dim {mod.end_dim}; "
                                  "expected 1 and -1")
            flat = True
            continue
        if isinstance(mod, nn.ReLU):
            last = layers[-1] if layers else None
            if last is not None and last["type"] == "maxpool" and len(layers) > 1 and \
                    layers[-2]["type"] == "conv2d" and layers[-2]["activation"] == "none":
                last = layers[-2]  # relu(maxpool(y)) == maxpool(relu(y))
            if last is None or last["type"] == "maxpool" or last["activation"] != "none":
                raise ExportError(f"{at}: a ReLU must follow a Linear or Conv2d (cim's layer "
                                  "activation)")
            last["activation"] = "relu"
            continue
        if isinstance(mod, nn.Linear):
            n_in = int(np.prod(shape))
            if not flat and shape[1:] != (1, 1):
                raise ExportError(f"{at}: input of shape {shape}; put an nn.Flatten before it")
            if mod.in_features != n_in:
                raise ExportError(f"{at}: in_features {mod.in_features}; the previous layer "
                                  f"gives {n_in}")
            b = mod.bias if mod.bias is not None else torch.zeros(mod.out_features)
            layers.append({"type": "dense", "activation": "none", "units": mod.out_features,
                           "weight": _f32(mod.weight), "bias": _f32(b), "module": i})
            shape, flat = (mod.out_features, 1, 1), True
            continue
        if isinstance(mod, nn.Conv2d):
            if flat:
                raise ExportError(f"{at}: after a Flatten; cim's conv2d needs an image")
            k = _pair(mod.kernel_size, "kernel_size", at)
            s = _pair(mod.stride, "stride", at)
            p = _pair(mod.padding, "padding", at) if not isinstance(mod.padding, str) else -1
            if p < 0 or p >= k:
                raise ExportError(f"{at}: padding {mod.padding!r}; expected an integer 0 to "
                                  f"{k - 1}")
            if _pair(mod.dilation, "dilation", at) != 1 or mod.groups != 1 or \
                    mod.padding_mode != "zeros":
                raise ExportError(f"{at}: dilation {mod.dilation}, groups {mod.groups}, "
                                  f"padding_mode {mod.padding_mode}; expected 1, 1, zeros")
            if mod.in_channels != shape[0]:
                raise ExportError(f"{at}: in_channels {mod.in_channels}; the input has "
                                  f"{shape[0]}")
            oh, ow = (shape[1] + 2 * p - k) // s + 1, (shape[2] + 2 * p - k) // s + 1
            if oh < 1 or ow < 1:
                raise ExportError(f"{at}: a {k}x{k} kernel does not fit a "
                                  f"{shape[1]}x{shape[2]} input")
            b = mod.bias if mod.bias is not None else torch.zeros(mod.out_channels)
            layers.append({"type": "conv2d", "activation": "none",
                           "channels": mod.out_channels, "kernel": k, "stride": s,
                           "padding": p, "weight": _f32(mod.weight), "bias": _f32(b),
                           "module": i})
            shape = (mod.out_channels, oh, ow)
            continue
        if isinstance(mod, nn.MaxPool2d):
            if flat:
                raise ExportError(f"{at}: after a Flatten; cim's maxpool needs an image")
            k = _pair(mod.kernel_size, "kernel_size", at)
            s = _pair(mod.stride if mod.stride is not None else k, "stride", at)
            if _pair(mod.padding, "padding", at) != 0 or \
                    _pair(mod.dilation, "dilation", at) != 1 or mod.ceil_mode:
                raise ExportError(f"{at}: padding {mod.padding}, dilation {mod.dilation}, "
                                  f"ceil_mode {mod.ceil_mode}; expected 0, 1, False")
            oh, ow = (shape[1] - k) // s + 1, (shape[2] - k) // s + 1
            if oh < 1 or ow < 1:
                raise ExportError(f"{at}: a {k}x{k} window does not fit a "
                                  f"{shape[1]}x{shape[2]} input")
            layers.append({"type": "maxpool", "activation": "none", "kernel": k, "stride": s,
                           "padding": 0})
            shape = (shape[0], oh, ow)
            continue
        raise ExportError(f"{at}: unsupported; expected one of {SUPPORTED}")
    if not layers:
        raise ExportError(f"{where}: no layer cim can run (expected Linear or Conv2d)")
    for l in layers:
        if "weight" in l and not (np.isfinite(l["weight"]).all() and
                                  np.isfinite(l["bias"]).all()):
            raise ExportError(f"{where}: module {l['module']}: a parameter is NaN or "
                              "infinite; parameters must be finite")
    if len(layers) > 32:
        raise ExportError(f"{where}: {len(layers)} layers; cim handles at most 32")
    return layers, int(np.prod(shape))


def _quant_steps(quant, layers, where):
    """Checked /quant attributes and, per weighted layer, its [P, R] steps and input step."""
    scheme = quant.get("scheme", "nested")
    wb = [int(b) for b in quant["weight_bits"]]
    ab = [int(b) for b in quant["activation_bits"]]
    per_channel = bool(quant.get("per_channel", False))
    P = len(wb)
    if scheme not in SCHEMES:
        raise ExportError(f"{where}: quant scheme '{scheme}'; expected one of "
                          + ", ".join(SCHEMES))
    if P not in (1, 2) or len(ab) != P:
        raise ExportError(f"{where}: weight_bits {wb}, activation_bits {ab}; expected 1 or 2 "
                          "precisions, the same number of each")
    if any(b < 2 or b > 16 for b in wb) or any(b < 1 or b > 16 for b in ab):
        raise ExportError(f"{where}: weight_bits {wb}, activation_bits {ab}; expected "
                          "2..16 and 1..16")
    if P == 2 and (wb[1] > wb[0] or ab[1] > ab[0]):
        raise ExportError(f"{where}: precision W{wb[1]}A{ab[1]} exceeds W{wb[0]}A{ab[0]}; "
                          "the high precision comes first")
    weighted = [l for l in layers if "weight" in l]
    ws = list(quant["weight_scales"])
    if "input_scales" in quant:
        ins = [np.float32(v) for v in quant["input_scales"]]
    elif "activation_clips" in quant:
        qmax = np.float32(2 ** ab[0] - 1)
        ins = [np.float32(np.float32(v) / qmax) for v in quant["activation_clips"]]
    else:
        raise ExportError(f"{where}: quant has neither input_scales nor activation_clips")
    if len(ws) != len(weighted) or len(ins) != len(weighted):
        raise ExportError(f"{where}: {len(ws)} weight_scales and {len(ins)} input steps for "
                          f"{len(weighted)} Linear/Conv2d modules; expected one each")
    steps = []
    for l, s, a in zip(weighted, ws, ins):
        at = f"{where}: module {l['module']}"
        rows = l["weight"].shape[0] if per_channel else 1
        s = np.asarray(s.detach().cpu() if torch.is_tensor(s) else s, dtype=np.float32)
        if s.ndim <= 1:
            s = s.reshape(1, -1)
            if P == 2:
                if scheme == "independent":
                    raise ExportError(f"{at}: weight_scales of shape [{s.shape[1]}]; the "
                                      "independent scheme needs [2, R]")
                s = np.concatenate([s, s * np.float32(2.0 ** (wb[0] - wb[1]))])
        if s.shape != (P, rows):
            raise ExportError(f"{at}: weight_scales of shape {list(s.shape)}; expected "
                              f"[{P}, {rows}] or [{rows}]")
        if not (np.isfinite(s).all() and (s > 0).all()) or not (np.isfinite(a) and a > 0):
            raise ExportError(f"{at}: steps must be positive and finite")
        if P == 2 and scheme != "independent" and \
                not (s[1] == s[0] * np.float32(2.0 ** (wb[0] - wb[1]))).all():
            raise ExportError(f"{at}: weight_scales row 1 is not row 0 times "
                              f"2^{wb[0] - wb[1]}, as the {scheme} scheme defines it")
        steps.append((s, a))
    return {"scheme": scheme, "wb": wb, "ab": ab, "per_channel": per_channel}, steps


def _put_str(obj, name, value, utf8=False):
    """Attribute name of obj: a scalar fixed-length null-terminated string sized to
    the value, ASCII or UTF-8, as cim writes them (h5py's own are null-padded)."""
    b = value.encode()
    t = h5py.h5t.C_S1.copy()
    t.set_size(len(b) + 1)
    t.set_strpad(h5py.h5t.STR_NULLTERM)
    t.set_cset(h5py.h5t.CSET_UTF8 if utf8 else h5py.h5t.CSET_ASCII)
    obj.attrs.create(name, np.array(b, dtype=f"S{len(b) + 1}"), dtype=h5py.Datatype(t))


def export(model, path, quant=None, input_shape=(1, 28, 28), architecture="torch",
           dataset="fashion-mnist", command="", source=None):
    """Write model (an nn.Sequential; FP32 values) and optional quant to path.

    Raises ExportError (nothing written) for a module or parameter cim cannot hold,
    its message led by source (the model's file, say), else path; OSError when the
    file cannot be written (no file left).
    """
    where = source or path
    layers, classes = layers_of(model, input_shape, where)
    if len(architecture.encode()) > 31 or len(dataset.encode()) > 31:
        raise ExportError(f"{where}: architecture and dataset names take at most 31 bytes")
    q, steps = _quant_steps(quant, layers, where) if quant is not None else (None, None)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=d)
    os.close(fd)
    try:
        with h5py.File(tmp, "w", libver="earliest") as f:
            _put_str(f, "format", "cim-model")
            f.attrs["format_version"] = np.int32(1)
            _put_str(f, "architecture", architecture)
            _put_str(f, "dataset", dataset)
            f.attrs["input_shape"] = np.asarray(input_shape, dtype=np.int32)
            f.attrs["num_classes"] = np.int32(classes)
            g = f.create_group("layers")
            k = 0
            for i, l in enumerate(layers):
                lg = g.create_group(f"{i:03d}_{l['type']}")
                _put_str(lg, "type", l["type"])
                _put_str(lg, "activation", l["activation"])
                for a in ("units", "channels", "kernel", "stride", "padding"):
                    if a in l:
                        lg.attrs[a] = np.int32(l[a])
                if "weight" in l:
                    lg.create_dataset("weight", data=l["weight"])
                    lg.create_dataset("bias", data=l["bias"])
                    if q is not None:
                        lg.create_dataset("weight_scale", data=steps[k][0])
                        lg.attrs["input_scale"] = np.float32(steps[k][1])
                        k += 1
            if q is not None:
                qg = f.create_group("quant")
                _put_str(qg, "scheme", q["scheme"])
                qg.attrs["precisions"] = np.int32(len(q["wb"]))
                qg.attrs["weight_bits"] = np.asarray(q["wb"], dtype=np.int32)
                qg.attrs["activation_bits"] = np.asarray(q["ab"], dtype=np.int32)
                qg.attrs["per_channel"] = np.int32(q["per_channel"])
                for a in ("weight_range", "activation_range"):
                    if quant.get(a):
                        _put_str(qg, a, str(quant[a]))
                if quant.get("percentile") is not None:
                    qg.attrs["percentile"] = np.float64(quant["percentile"])
            if command:
                _put_str(f.create_group("training"), "command", command, utf8=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv):
    ap = Parser(prog="export_torch.py",
                                 description="Write a torch.save'd nn.Sequential (and its "
                                 "quantization steps) as a cim HDF5 model file.")
    ap.add_argument("model", help="MODEL.pt: an nn.Sequential or {'model': ..., 'quant': ...}")
    ap.add_argument("out", help="OUT.h5, the cim model file to write")
    ap.add_argument("--arch", help="architecture label (default: the saved one, else 'torch')")
    ap.add_argument("--input-shape", help="C,H,W of one sample (default: saved, else 1,28,28)")
    a = ap.parse_args(argv)
    try:
        try:
            obj = torch.load(a.model, map_location="cpu", weights_only=False)
        except Exception as e:  # pickle, zip and I/O errors alike
            why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise ExportError(f"{a.model}: cannot load with torch.load: {why}") from None
        saved = obj if isinstance(obj, dict) else {"model": obj}
        if "model" not in saved:
            raise ExportError(f"{a.model}: a dict without 'model'; expected an nn.Sequential "
                              "or {'model': ..., 'quant': ...}")
        shape = saved.get("input_shape", (1, 28, 28))
        if a.input_shape:
            try:
                shape = tuple(int(v) for v in a.input_shape.split(","))
            except ValueError:
                shape = ()
            if len(shape) != 3:
                print(f"export_torch.py: --input-shape '{a.input_shape}': expected C,H,W",
                      file=sys.stderr)
                return 2
        export(saved["model"], a.out, saved.get("quant"), shape,
               a.arch or saved.get("architecture", "torch"),
               saved.get("dataset", "fashion-mnist"),
               "export_torch.py " + " ".join(argv), a.model)
    except (ExportError, OSError, KeyError, TypeError, ValueError) as e:
        if isinstance(e, ExportError):
            msg = str(e)
        elif isinstance(e, OSError):
            msg = f"{a.out}: cannot write: {e.strerror or e}"
        else:
            msg = f"{a.model}: bad quantization parameters: {type(e).__name__} {e}"
        print(f"export_torch.py: {msg}".splitlines()[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
