"""IDX files (the MNIST family's format) and Fashion-MNIST.

IDX layout: two zero bytes, a type byte, the number of dimensions d, then d big-endian uint32
sizes and the values, big-endian, row-major. Files may be gzip-compressed.
"""

import gzip
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, DataError

FASHION_MNIST_ROOT = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = {"train": "train", "test": "t10k"}
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if raw[:2] == _GZIP_MAGIC else raw
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"cannot read IDX file {path}: {e}; re-download it") from None


def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file (gzip or not), in native byte order."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DataError(f"{path} is not an IDX file (magic number {data[:4].hex() or 'empty'}, "
                        "expected 0000 then a type byte 08-0e); check the file name")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"IDX file {path} is truncated inside its header; re-download it")
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise DataError(f"IDX file {path} has {len(data)} bytes but its header {shape} needs "
                        f"{expected}; the file is truncated or corrupt, re-download it")
    values = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def _find(root: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (root / name).is_file():
            return root / name
    raise DataError(f"Fashion-MNIST file {stem}(.gz) not found in {root}; install the Debian "
                    "package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or "
                    "pass root=FOLDER holding the IDX files (README.md, Data set-up)")


def _splits(split: str) -> list[str]:
    if split == "all":
        return ["train", "test"]
    if split not in FASHION_MNIST_FILES:
        raise ConfigError(f"unknown Fashion-MNIST split {split!r}; use train, test or all")
    return [split]


def fashion_mnist(root=None, split: str = "train", pad: bool = True) -> torch.Tensor:
    """Fashion-MNIST images float32 (N, 1, H, W) in [0, 1] (value / 255).

    H = W = 28, or 32 with `pad` (2 zero pixels on each side, the size the UNet's three
    down-samplings need). split "all" is train (60000) then test (10000).
    """
    root = FASHION_MNIST_ROOT if root is None else Path(root)
    parts = []
    for name in _splits(split):
        array = read_idx(_find(root, f"{FASHION_MNIST_FILES[name]}-images-idx3-ubyte"))
        if array.ndim != 3 or array.dtype != np.uint8:
            raise DataError(f"Fashion-MNIST {name} images should be uint8 (N, H, W), got "
                            f"{array.dtype} {array.shape}; check the files in {root}")
        parts.append(torch.from_numpy(array))
    images = torch.cat(parts).unsqueeze(1).to(torch.float32).div_(255)
    return torch.nn.functional.pad(images, (2, 2, 2, 2)) if pad else images


def fashion_mnist_labels(root=None, split: str = "train") -> torch.Tensor:
    """Class labels (N,) int64 in 0..9, in the order of `fashion_mnist`."""
    root = FASHION_MNIST_ROOT if root is None else Path(root)
    stems = [f"{FASHION_MNIST_FILES[name]}-labels-idx1-ubyte" for name in _splits(split)]
    parts = [torch.from_numpy(read_idx(_find(root, stem)).astype(np.int64)) for stem in stems]
    return torch.cat(parts)
