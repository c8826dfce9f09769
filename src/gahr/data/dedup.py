"""Near-duplicate removal: the paper removes repeated images before splitting a data set.

Two images are near-duplicates when the correlation of their mean-removed, downsampled copies
exceeds a threshold (0.95 by default, as in the paper's code):

    rho(x, y) = <x - mean x, y - mean y> / (|x - mean x| |y - mean y|),

with means per channel and copies area-averaged to at most 20 x 20 (cheap, and insensitive to
pixel noise and JPEG artifacts). Image i is dropped when rho(x_i, x_j) > threshold for some
earlier j < i, so no pair above the threshold survives and the first of each group is kept.
(The paper's code thresholds |rho|; an anti-correlated image, a negative, is not a repeat, so
the sign is kept here.) Constant images have no correlation and are never dropped.
The N x N correlations are computed in blocks of rows, so 2 x 10^5 images need about
N x 400 x 4 bytes (320 MB) for the copies plus one block.
"""

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, ShapeError

DEDUP_SIZE = 20


def _features(images, size: int, chunk: int) -> torch.Tensor:
    """Unit-norm, mean-removed, area-downsampled copies (N, D) of images (N, C, H, W)."""
    if images.ndim != 4:
        raise ShapeError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    height, width = images.shape[2:]
    target = (min(height, size), min(width, size))
    parts = []
    for start in range(0, len(images), chunk):
        part = images[start:start + chunk]
        part = torch.as_tensor(np.asarray(part)) if not torch.is_tensor(part) else part
        small = F.adaptive_avg_pool2d(part.to(torch.float32), target)
        scale = small.flatten(1).abs().amax(dim=1, keepdim=True)
        flat = (small - small.mean(dim=(2, 3), keepdim=True)).flatten(1)
        norm = flat.norm(dim=1, keepdim=True)
        # A constant image leaves only rounding after mean removal: make it the zero vector,
        # correlated with nothing.
        varies = norm > 1e-5 * scale * flat.shape[1] ** 0.5
        parts.append(torch.where(varies, flat / norm.clamp_min(1e-30), 0.0))
    return torch.cat(parts)


def near_duplicates(images, threshold: float = 0.95, *, size: int = DEDUP_SIZE,
                    chunk: int = 512) -> torch.Tensor:
    """Sorted indices of the images to drop: those correlated above `threshold` with an earlier one.

    `images` is a tensor or array (N, C, H, W) of any numeric dtype, memory-mapped or not.
    """
    if not 0 < threshold <= 1:
        raise ConfigError(f"duplicate threshold must be in (0, 1], got {threshold}")
    feats = _features(images, size, chunk)
    dropped = []
    for start in range(0, len(feats), chunk):
        block = feats[start:start + chunk]
        # Earlier blocks: every pair counts. The block itself: only earlier images j < i.
        within = block @ block.T
        within.masked_fill_(torch.ones_like(within, dtype=torch.bool).triu_(), -2.0)
        best = within.amax(dim=1)
        if start:
            best = torch.maximum(best, (block @ feats[:start].T).amax(dim=1))
        dropped.append(torch.nonzero(best > threshold).view(-1) + start)
    return torch.cat(dropped) if dropped else torch.zeros(0, dtype=torch.long)


def remove_near_duplicates(images: torch.Tensor, threshold: float = 0.95
                           ) -> tuple[torch.Tensor, torch.Tensor]:
    """(kept images, dropped indices): images without their near-duplicates, order kept."""
    dropped = near_duplicates(images, threshold)
    keep = torch.ones(len(images), dtype=torch.bool)
    keep[dropped] = False
    return images[keep], dropped


def cross_duplicates(reference, images, threshold: float = 0.95, *, size: int = DEDUP_SIZE,
                     chunk: int = 512) -> torch.Tensor:
    """Sorted indices of `images` that repeat an image of `reference`: correlated above
    `threshold` with one (as `near_duplicates`), or equal to one pixel for pixel (which also
    catches constant images, correlated with nothing). Both (N, C, H, W) of one image shape."""
    if not 0 < threshold <= 1:
        raise ConfigError(f"duplicate threshold must be in (0, 1], got {threshold}")
    if len(reference) == 0 or len(images) == 0:
        return torch.zeros(0, dtype=torch.long)
    ref, feats = _features(reference, size, chunk), _features(images, size, chunk)
    exact = {_key(x) for x in reference}
    found = []
    for start in range(0, len(feats), chunk):
        block = feats[start:start + chunk]
        best = torch.cat([(block @ ref[r:r + chunk].T).amax(dim=1, keepdim=True)
                          for r in range(0, len(ref), chunk)], dim=1).amax(dim=1)
        copies = torch.tensor([_key(x) in exact for x in images[start:start + chunk]])
        found.append(torch.nonzero((best > threshold) | copies).view(-1) + start)
    return torch.cat(found)


def _key(image) -> bytes:
    return np.ascontiguousarray(np.asarray(image, dtype=np.float32)).tobytes()
