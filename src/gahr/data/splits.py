"""Disjoint training sets S1, S2 of size N: first and last N of one seeded permutation."""

import torch

from ..errors import DataError
from ._util import as_generator, check_count


def split_indices(num_images: int, n: int, seed=0) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (idx1, idx2) of S1 and S2: the first n and the last n of a seeded permutation.

    Disjoint by construction when 2 n <= num_images; n > num_images / 2 raises DataError.
    """
    check_count("n", n)
    check_count("num_images", num_images)
    if 2 * n > num_images:
        raise DataError(f"two disjoint sets of N={n} need 2N={2 * n} images but the data set "
                        f"has {num_images}; use N <= {num_images // 2}")
    perm = torch.randperm(num_images, generator=as_generator(seed))
    return perm[:n].clone(), perm[num_images - n:].clone()


def disjoint_splits(images: torch.Tensor, n: int, seed=0) -> tuple[torch.Tensor, torch.Tensor]:
    """(S1, S2): images[idx1], images[idx2] with the indices of `split_indices`."""
    idx1, idx2 = split_indices(len(images), n, seed)
    return images[idx1], images[idx2]
