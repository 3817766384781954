"""Fashion-MNIST (or MNIST) from its original IDX files, as cim reads it.

The directory is the argument, else $CIM_DATA, else /usr/share/datasets/fashion-mnist
(Debian's dataset-fashion-mnist). Each file is NAME.gz, else NAME. Images come back as
float32 [N, 1, H, W] holding pixel / 255, the correctly rounded float32 quotient that
cim's data/dataset.c computes, so the 8-bit input code is exactly the pixel; labels as
int64 [N].

    from fmnist import load
    x, y = load("test")
"""
import gzip
import os

import numpy as np

DATA_DIR_DEFAULT = "/usr/share/datasets/fashion-mnist"
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class DataError(Exception):
    """A missing or malformed data file; the message is one line naming it."""


def data_dir(path=None):
    """The directory to read: path, else $CIM_DATA, else Debian's."""
    return path or os.environ.get("CIM_DATA") or DATA_DIR_DEFAULT


def read_idx(path):
    """The unsigned-byte array of one IDX file (gzip'd or plain)."""
    try:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] < 1:
        raise DataError(f"{path}: bad magic {raw[:4].hex(' ')}: expected 00 00 08 0r "
                        "(IDX unsigned bytes of rank r)")
    rank = raw[3]
    head = 4 + 4 * rank
    if len(raw) < head:
        raise DataError(f"{path}: truncated header: rank {rank} needs {head} bytes")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    count = int(np.prod(dims))
    if len(raw) - head != count:
        raise DataError(f"{path}: {len(raw) - head} data bytes; the header {dims} "
                        f"announces {count}")
    return np.frombuffer(raw, dtype=np.uint8, offset=head).reshape(dims)


def find(directory, name):
    """NAME.gz in directory, else NAME (as cim looks for them)."""
    gz = os.path.join(directory, name + ".gz")
    if os.path.exists(gz) or not os.path.exists(os.path.join(directory, name)):
        return gz
    return os.path.join(directory, name)


def load(split="test", directory=None):
    """Images float32 [N, 1, H, W] = pixel / 255 and labels int64 [N] of a split."""
    if split not in FILES:
        raise DataError(f"split '{split}': expected train or test")
    d = data_dir(directory)
    img_path, lab_path = (find(d, n) for n in FILES[split])
    img, lab = read_idx(img_path), read_idx(lab_path)
    if img.ndim != 3:
        raise DataError(f"{img_path}: rank {img.ndim}; expected 3 (count, height, width)")
    if lab.ndim != 1 or lab.shape[0] != img.shape[0]:
        raise DataError(f"{lab_path}: {lab.shape} labels; expected one per image "
                        f"({img.shape[0]})")
    x = img.astype(np.float32)[:, None, :, :] / np.float32(255)
    return x, lab.astype(np.int64)
