"""Models built in PyTorch for tests/tools/test_torch.c.

  torch_scratch.py models DIR   exports, through export_torch.export(), a seeded
                                random nn.Sequential to DIR/scratch-fp32.h5 and the
                                same with steps as a user's QAT would give them
                                (per-channel max weight steps of shape [R], activation
                                clips) to DIR/scratch-q.h5, and prints their test-set
                                accuracy in PyTorch as JSON,
                                {"FP32": correct, "W8A8": correct, "W4A4": correct}
  torch_scratch.py bad DIR      writes DIR/bad.pt, a Sequential with a Sigmoid

The network uses the less common forms the exporter maps: a ReLU after the MaxPool2d
that follows a Conv2d, a stride-2 convolution, a Conv2d without bias, a Dropout.
"""
import json
import os
import sys

import torch
from torch import nn

TOOLS = os.path.join(os.environ.get("CIM_SRCDIR", os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", "..")), "tools")
sys.path.insert(0, TOOLS)
import export_torch  # noqa: E402
import fmnist  # noqa: E402
import import_torch  # noqa: E402


def scratch():
    torch.manual_seed(2385)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),      # 4x14x14
        nn.Conv2d(4, 8, 3, stride=2, bias=False), nn.MaxPool2d(2), nn.ReLU(),  # 8x3x3
        nn.Flatten(), nn.Linear(72, 32), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(32, 10)).eval()


@torch.no_grad()
def qat_like(model, x):
    """Steps a user's own QAT might give: max |w| / 127 per output channel, and the
    largest input of each Linear/Conv2d on some images as its clip."""
    clips, hooks = [], []
    weighted = [m for m in model if isinstance(m, (nn.Linear, nn.Conv2d))]
    for m in weighted:
        hooks.append(m.register_forward_pre_hook(
            lambda mod, inp: clips.append(float(inp[0].max()))))
    model(torch.from_numpy(x))
    for h in hooks:
        h.remove()
    scales = [m.weight.abs().flatten(1).amax(1) / 127 for m in weighted]
    return {"scheme": "nested", "weight_bits": [8, 4], "activation_bits": [8, 4],
            "per_channel": True, "weight_scales": scales, "activation_clips": clips,
            "weight_range": "max", "activation_range": "max"}


def main(mode, d):
    if mode == "bad":
        torch.save(nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.Sigmoid()),
                   os.path.join(d, "bad.pt"))
        return
    model = scratch()
    x, y = fmnist.load("test")
    quant = qat_like(model, x[:1000])
    export_torch.export(model, os.path.join(d, "scratch-fp32.h5"))
    export_torch.export(model, os.path.join(d, "scratch-q.h5"), quant, architecture="scratch")
    res = {"FP32": import_torch.evaluate(model, x, y)}
    for p in (0, 1):
        res[import_torch.label(quant, p)] = import_torch.evaluate(
            import_torch.quantized(model, quant, p), x, y)
    print(json.dumps(res))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
