#!/usr/bin/python3
"""PyTorch reference for the cim training-throughput benchmark.

Measures CPU training throughput (images/s of whole optimizer steps) and
inference throughput (batch-1000 forward passes) for the same small networks
that `cim bench` trains, so the two can be compared side by side.

Run with Debian's interpreter, which carries python3-torch:
    /usr/bin/python3 bench/torch_train.py --model lenet5 --batch 128 --threads 2 --json
Exit status: 0 ok, 2 bad options, 77 torch not importable (a "skip" for test drivers).
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import fmnist  # noqa: E402  (tools/fmnist.py: the IDX reader cim's Python tools share)
from usage import Parser  # noqa: E402  (one-line usage errors, exit 2)

RANDOM_POOL = 8192
INFER_BATCH = 1000
INFER_WARMUP = 3


def parse_args(argv):
    p = Parser(description="PyTorch training/inference throughput reference.")
    p.add_argument("--model", choices=("lenet5", "mlp"), default="lenet5")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    if a.batch < 1:
        p.error("--batch must be >= 1")
    if a.threads < 1:
        p.error("--threads must be >= 1")
    if not a.seconds > 0:
        p.error("--seconds must be > 0")
    if a.warmup < 0:
        p.error("--warmup must be >= 0")
    return a


def load_pool(torch, seed):
    """Return (images N x 1 x 28 x 28 float32, labels N int64, source name): the
    training set as cim reads it (tools/fmnist.py), else a seeded random pool."""
    try:
        x, y = fmnist.load("train")
    except fmnist.DataError:
        g = torch.Generator().manual_seed(seed)
        images = torch.rand((RANDOM_POOL, 1, 28, 28), generator=g)
        labels = torch.randint(0, 10, (RANDOM_POOL,), generator=g)
        return images, labels, "random"
    return torch.from_numpy(x).contiguous(), torch.from_numpy(y), "fashion-mnist"


def build_model(nn, name):
    if name == "lenet5":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10),
        )
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 256), nn.ReLU(),
        nn.Linear(256, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


class Batches:
    """Consecutive mini-batches over a per-epoch shuffled index, last partial batch dropped."""

    def __init__(self, torch, images, labels, batch, seed):
        self.torch = torch
        self.images = images
        self.labels = labels
        self.batch = batch
        self.gen = torch.Generator().manual_seed(seed)
        self.n = images.shape[0]
        self.perm = torch.randperm(self.n, generator=self.gen)
        self.pos = 0

    def next(self):
        if self.pos + self.batch > self.n:
            # Reshuffling happens inside the timed region, as it does in the C loop.
            self.perm = self.torch.randperm(self.n, generator=self.gen)
            self.pos = 0
        idx = self.perm[self.pos:self.pos + self.batch]
        self.pos += self.batch
        # The gather copies the batch out of the pool; it is deliberately part
        # of the step so both sides pay for assembling their input.
        return self.images.index_select(0, idx), self.labels.index_select(0, idx)


def measure_train(torch, model, opt, loss_fn, batches, warmup, seconds):
    def step():
        x, y = batches.next()
        # set_to_none skips a memset per parameter; it is the default from
        # torch 2.0 on and every parameter receives a gradient each step, so
        # the update is identical to zeroing.
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    model.train()
    for _ in range(warmup):
        step()
    steps = 0
    t0 = time.perf_counter()
    while True:
        loss = step()
        steps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            break
    return steps, elapsed, float(loss.detach())


def measure_infer(torch, model, images, seconds):
    n = min(INFER_BATCH, images.shape[0])
    x = images[:n].contiguous()
    model.eval()
    with torch.no_grad():
        for _ in range(INFER_WARMUP):
            model(x)
        passes = 0
        t0 = time.perf_counter()
        while True:
            model(x)
            passes += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds:
                break
    return passes * n / elapsed


def main(argv):
    args = parse_args(argv)
    # Debian's torch is built against OpenBLAS-pthread, whose own thread pool
    # knows nothing of torch's OpenMP pool: with both at 2 threads on 2 cores
    # the spinning OpenMP workers starve the BLAS threads and the MLP trains
    # ~3x slower. Keeping BLAS single-threaded leaves --threads in charge of
    # the cores (OpenMP: oneDNN conv, elementwise ops, optimizer); it must be
    # set before torch loads OpenBLAS, and an explicit environment value wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        import torch
        import torch.nn as nn
    except Exception as e:  # ImportError, or a broken install raising OSError
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        sys.stderr.write("torch_train.py: torch not importable (%s); skipping\n" % why)
        return 77

    # Inter-op threads can only be set before any parallel work has run, and
    # not at all once some other module has touched the pool; in that case we
    # keep the default rather than fail the benchmark.
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    images, labels, source = load_pool(torch, args.seed)
    if args.batch > images.shape[0]:
        sys.stderr.write("torch_train.py: error: --batch %d exceeds the %d-image pool\n"
                         % (args.batch, images.shape[0]))
        return 2

    model = build_model(nn, args.model).float()
    if args.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    batches = Batches(torch, images, labels, args.batch, args.seed)

    steps, elapsed, last_loss = measure_train(torch, model, opt, loss_fn, batches,
                                              args.warmup, args.seconds)
    train_ips = steps * args.batch / elapsed
    infer_ips = measure_infer(torch, model, images, args.seconds)

    if args.json:
        print(json.dumps({
            "framework": "pytorch",
            "version": torch.__version__,
            "model": args.model,
            "batch": args.batch,
            "threads": torch.get_num_threads(),
            "train_images_per_s": round(train_ips, 1),
            "infer_images_per_s": round(infer_ips, 1),
            "optimizer": args.optimizer,
            "data": source,
            "train_steps": steps,
            "blas_threads": os.environ["OPENBLAS_NUM_THREADS"],
        }))
    else:
        print("pytorch %s %s batch %d threads %d (blas %s) %s on %s: train %.0f img/s "
              "(%d steps, last loss %.3f), infer %.0f img/s"
              % (torch.__version__, args.model, args.batch, torch.get_num_threads(),
                 os.environ["OPENBLAS_NUM_THREADS"], args.optimizer, source,
                 train_ips, steps, last_loss, infer_ips))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
