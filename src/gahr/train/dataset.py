"""The training set (a split of size N) and the held-out test images of a run."""

import warnings
from typing import NamedTuple

import torch

from ..config import DataConfig
from ..data._util import check_channels_first
from ..errors import ConfigError, DataError


class TrainingData(NamedTuple):
    train: torch.Tensor  # (N, C, H, W)
    test: torch.Tensor  # (n_test, C, H, W), never seen in training (may be empty)
    train_index: torch.Tensor  # indices of `train` in the full image set


def open_images(data: DataConfig) -> torch.Tensor:
    """All images of the configured source, through `gahr.data.open_dataset` (not to be
    confused with `gahr.data.load_images`, which reads one .npy file)."""
    from ..data import open_dataset

    return open_dataset(data.source, n=data.num_images, size=data.size, seed=data.seed,
                        **data.options)


def count_images(data: DataConfig) -> int:
    """How many images `open_images(data)` gives, without generating synthetic ones or reading
    an .npy file's pixels."""
    from ..data.sources import is_generated
    from ..data.store import image_count, source_kind

    kind = source_kind(data.source)
    if is_generated(kind) and data.num_images is not None:
        return data.num_images
    if kind == "npy":
        total = image_count(data.source)
        return total if data.num_images is None else min(total, data.num_images)
    return len(open_images(data))


def borrowed_test_images(num: int, data: DataConfig) -> int:
    """How many of an S1/S2 run's test images come from the other split (the other model's
    training set) because fewer than `data.n_test` images lie outside both: 0 for split "all"
    or when enough are left."""
    if data.split == "all":
        return 0
    n = check_sizes(num, data)
    rest = num - 2 * n
    return max(0, min(data.n_test - rest, n))


def split_note(num: int, data: DataConfig) -> str | None:
    """A one-line note when `borrowed_test_images` is not 0, else None."""
    borrowed = borrowed_test_images(num, data)
    if not borrowed:
        return None
    other = "S2" if data.split == "S1" else "S1"
    return (f"note: N={data.n_train} leaves {num - 2 * check_sizes(num, data)} of the {num} "
            f"images outside S1 and S2, so {borrowed} of the {data.n_test} test images of the "
            f"{data.split} run come from {other} (the other model's training set); lower N, "
            "data.n_test, or raise data.num_images to keep them apart")


def select(images: torch.Tensor, data: DataConfig) -> TrainingData:
    """Split `images` as `data` says.

    S1 / S2: the first / last N of one seeded permutation (`gahr.data.split_indices`), so the
    two are disjoint. Test images come from outside both halves when there are any left, else
    from the other half; in both cases they are outside this run's training set.
    split = "all": the first N of a seeded permutation (N = "all": all but `n_test`).
    """
    _check_images(images)
    num = len(images)
    n = check_sizes(num, data)
    if data.split == "all":
        perm = torch.randperm(num, generator=torch.Generator().manual_seed(data.split_seed))
        train_idx, pool = perm[:n], perm[n:]
    else:
        train_idx, pool = _split(num, data)
    test_idx = pool[:data.n_test]
    return TrainingData(images[train_idx], images[test_idx], train_idx)


def check_sizes(num: int, data: DataConfig) -> int:
    """The training set size N for a source of `num` images; ConfigError if it cannot be."""
    if data.split == "all":
        if data.n_train == "all" and data.n_test >= num:
            raise ConfigError(f"data.n_test={data.n_test} test images but the source has only "
                              f"{num}: that would leave N = 1 training image; lower data.n_test "
                              f"(e.g. to {max(1, num // 10)}, a tenth) or add images")
        n = num - data.n_test if data.n_train == "all" else data.n_train
        if n > num:
            raise ConfigError(f"data.n_train={n} but the source has {num} images; lower "
                              "n_train or raise data.num_images")
        if n == num and data.n_test > 0:
            raise ConfigError(f"data.n_train={n} takes all {num} images and leaves no test "
                              f"image (data.n_test={data.n_test}); lower n_train to at most "
                              f"{num - 1}, or set data.n_test = 0 to train without a test set")
        return n
    n = num // 2 if data.n_train == "all" else data.n_train
    if 2 * n > num:
        raise ConfigError(f"data.n_train={n} is larger than half of the {num} images; a "
                          f"{data.split} run needs 2N images: use n_train <= {num // 2} or raise "
                          "data.num_images")
    return n


def split_sizes(num: int, data: DataConfig) -> tuple[int, int]:
    """(N, test images) that `select` gives for a source of `num` images: the test pool is every
    image outside the run's own training set, in both split kinds, so min(n_test, num - N)."""
    n = check_sizes(num, data)
    return n, min(data.n_test, num - n)


def sizes_text(n_train: int, n_test: int | None, num: int | None = None) -> str:
    """'N = 200 training images, 16 test images (of 512)': the sizes a run really uses."""
    test = "" if n_test is None else f", {n_test} test image{'s' * (n_test != 1)}"
    total = "" if num is None else f" (of {num})"
    return f"N = {n_train} training image{'s' * (n_train != 1)}{test}{total}"


def _split(num: int, data: DataConfig):
    from ..data import split_indices

    n = check_sizes(num, data)
    idx1, idx2 = (torch.as_tensor(i, dtype=torch.long) for i in split_indices(num, n,
                                                                              data.split_seed))
    own, other = (idx1, idx2) if data.split == "S1" else (idx2, idx1)
    used = torch.zeros(num, dtype=torch.bool)
    used[idx1] = used[idx2] = True
    rest = torch.arange(num)[~used]
    rest = rest[torch.randperm(len(rest), generator=torch.Generator().manual_seed(
        data.split_seed + 1))]
    return own, torch.cat([rest, other])


def _check_images(images) -> None:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or len(images) == 0:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images)
        raise DataError(f"training images must be a non-empty (N, C, H, W) tensor, got {shape}")
    check_channels_first(images.shape, "the training image set")
    if not torch.isfinite(images).all():
        raise DataError("training images hold NaN or inf values; clean the data set")


def __getattr__(name):
    if name == "load_images":  # deprecated until 0.2: two functions had this name
        warnings.warn("gahr.train.load_images is now gahr.train.open_images",
                      DeprecationWarning, stacklevel=2)
        return open_images
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
