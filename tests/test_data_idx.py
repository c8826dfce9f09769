"""IDX files and Fashion-MNIST (the real files when installed, hand-made IDX files always)."""

import gzip
import struct

import numpy as np
import pytest
import torch

from gahr.data import fashion_mnist, fashion_mnist_labels, open_dataset, read_idx
from gahr.data.idx import FASHION_MNIST_ROOT
from gahr.errors import ConfigError, DataError

TYPE_CODES = {np.uint8: 0x08, np.int32: 0x0C, np.float32: 0x0D}
REAL_FILES = (FASHION_MNIST_ROOT / "train-images-idx3-ubyte.gz").is_file()
needs_real_files = pytest.mark.skipif(
    not REAL_FILES, reason=f"Fashion-MNIST not installed in {FASHION_MNIST_ROOT} "
    "(apt-get install dataset-fashion-mnist)")


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of `array`, written from the format's definition."""
    header = bytes([0, 0, TYPE_CODES[array.dtype.type], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_fashion(root, n_train=5, n_test=3, compress=True):
    rng = np.random.default_rng(0)
    images = {}
    for stem, n in (("train", n_train), ("t10k", n_test)):
        images[stem] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        for kind, array in (("images-idx3", images[stem]), ("labels-idx1", labels)):
            data = idx_bytes(array)
            name = f"{stem}-{kind}-ubyte"
            if compress:
                (root / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (root / name).write_bytes(data)
    return images


@pytest.mark.parametrize("array", [np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
                                   np.array([-5, 7, 2**30], dtype=np.int32),
                                   np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2)])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, array, compress):
    data = idx_bytes(array)
    path = tmp_path / "x.idx"
    path.write_bytes(gzip.compress(data) if compress else data)
    back = read_idx(path)
    assert back.dtype == array.dtype and np.array_equal(back, array)


def test_wrong_magic_and_truncation_are_data_errors(tmp_path):
    good = idx_bytes(np.zeros((4, 5), dtype=np.uint8))
    (tmp_path / "magic").write_bytes(b"\x01\x02" + good[2:])
    (tmp_path / "short").write_bytes(good[:-3])
    (tmp_path / "badgz").write_bytes(b"\x1f\x8b" + b"garbage")
    for name, match in (("magic", "not an IDX"), ("short", "truncated"), ("badgz", "cannot read")):
        with pytest.raises(DataError, match=match):
            read_idx(tmp_path / name)


@pytest.mark.parametrize("compress", [True, False])
def test_fashion_mnist_from_a_folder_pads_and_scales(tmp_path, compress):
    images = write_fashion(tmp_path, compress=compress)
    padded = fashion_mnist(tmp_path, split="train")
    assert padded.shape == (5, 1, 32, 32) and padded.dtype == torch.float32
    assert torch.equal(padded[:, 0, 2:30, 2:30], torch.from_numpy(images["train"]) / 255)
    border = padded.clone()
    border[:, :, 2:30, 2:30] = 0
    assert border.abs().sum() == 0  # 2 zero pixels on each side
    both = fashion_mnist(tmp_path, split="all", pad=False)
    assert both.shape == (8, 1, 28, 28)
    assert torch.equal(both[5:, 0], torch.from_numpy(images["t10k"]) / 255)
    assert fashion_mnist_labels(tmp_path, split="all").shape == (8,)


def test_missing_files_and_bad_split_say_what_to_do(tmp_path):
    with pytest.raises(DataError, match="dataset-fashion-mnist"):
        fashion_mnist(tmp_path)
    with pytest.raises(ConfigError, match="split"):
        fashion_mnist(tmp_path, split="validation")


@needs_real_files
def test_real_fashion_mnist_has_known_sizes_mean_and_balanced_classes():
    """Known facts of the set: 60000 + 10000 images, mean intensity 0.2860, 6000 per class."""
    train = fashion_mnist(split="train", pad=False)
    assert train.shape == (60000, 1, 28, 28)
    assert train.mean().item() == pytest.approx(0.2860, abs=5e-4)
    assert torch.equal(fashion_mnist_labels(split="train").bincount(), torch.full((10,), 6000))
    test = open_dataset("fashion-mnist", split="test", n=100)
    assert test.shape == (100, 1, 32, 32) and test.min() >= 0 and test.max() <= 1
