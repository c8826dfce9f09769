"""Memorization metrics: nearest training images, same-seed similarity, the field's criteria.

Similarity is the paper's mean-removed cosine: for images x, t flattened over (C, H, W),

    cos(x, t) = <x - mean(x), t - mean(t)> / (||x - mean(x)|| ||t - mean(t)||).

A constant sample has no direction: its similarity is NaN (index -1); a constant training image
has similarity 0 with every sample. Nearest-neighbour searches scan the training set in chunks
and keep a running top-k, so memory is O(samples x chunk), never O(samples x training set).
"""

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from ..devices import device_of
from ..errors import ConfigError, DataError, ShapeError
from ..metrics import evaluate, noise_sample
from ..nets import as_denoiser, denoise

# Elements of one (samples x chunk) score block: 2^24 floats = 64 MiB.
DEFAULT_BLOCK_ELEMENTS = 1 << 24
METRICS = ("cosine", "l2")


class Neighbors(NamedTuple):
    """Nearest training images of each sample, best first.

    `indices` (M, k) into the training set; `values` (M, k): cosine similarities (descending)
    or Euclidean pixel distances (ascending).
    """

    indices: torch.Tensor
    values: torch.Tensor


def check_image_sets(samples, train, names=("samples", "training set")) -> None:
    """Raise a one-line error unless both are non-empty (B, C, H, W) sets of one image shape."""
    for name, images in zip(names, (samples, train), strict=True):
        if len(images.shape) != 4:
            raise ShapeError(f"the {name} must be (B, C, H, W) images, got shape "
                             f"{tuple(images.shape)}; add a channel axis with x[:, None]")
        if images.shape[0] == 0:
            raise DataError(f"the {name} is empty; pass at least one image")
    if tuple(samples.shape[1:]) != tuple(train.shape[1:]):
        raise ShapeError(f"the {names[0]} have image shape {tuple(samples.shape[1:])} but the "
                         f"{names[1]} has {tuple(train.shape[1:])}; compare images of one size")


def _as_float(images, device=None) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    return tensor.to(device=device, dtype=torch.float32)


def _check_finite(tensor: torch.Tensor, name: str, hint: str) -> None:
    # NaN and inf survive a row sum: one cheap pass, and the full test only when it flags.
    if torch.isfinite(tensor.flatten(1).sum(dim=1)).all():
        return
    bad = ~torch.isfinite(tensor.flatten(1)).all(dim=1)
    if bad.any():
        first = int(bad.nonzero()[0])
        raise DataError(f"{int(bad.sum())} of the {name} hold NaN or inf (first: #{first}); {hint}")


def _directions(flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit vectors of mean-removed rows (zero rows stay zero) and a mask of constant rows."""
    # Constant rows are detected exactly (max == min): their float32 centring leaves rounding
    # noise of random direction, which must not count as a similarity.
    flat_rows = flat.amax(dim=-1) == flat.amin(dim=-1)
    unit = flat - flat.mean(dim=-1, keepdim=True)  # the one new buffer; the rest is in place
    norms = unit.norm(dim=-1, keepdim=True)
    unit.div_(norms.masked_fill_(flat_rows[..., None] | (norms == 0), 1.0))
    unit[flat_rows] = 0.0
    return unit, flat_rows


def cosine_similarity(a, b, remove_mean: bool = True) -> torch.Tensor:
    """Row-wise cosine similarity of two equal-size image sets (B, C, H, W) -> (B,)."""
    a, b = _as_float(a), _as_float(b)
    if a.shape != b.shape:
        raise ShapeError(f"cannot pair image sets of shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}; pass the same number of images of one size")
    a, b = a.flatten(1), b.flatten(1)
    if remove_mean:
        (ua, flat_a), (ub, flat_b) = _directions(a), _directions(b)
    else:
        ua, ub = F.normalize(a, dim=1), F.normalize(b, dim=1)
        flat_a, flat_b = a.norm(dim=1) == 0, b.norm(dim=1) == 0
    sims = (ua.double() * ub.double()).sum(dim=1).float()
    return torch.where(flat_a | flat_b, torch.nan, sims)


def same_seed_similarity(samples_s1, samples_s2) -> torch.Tensor:
    """Cosine similarity of the S1 model's and the S2 model's samples from the same seeds."""
    check_image_sets(samples_s1, samples_s2, ("S1 samples", "S2 samples"))
    return cosine_similarity(samples_s1, samples_s2)


def _merge_topk(best_v, best_i, v, i, k, largest):
    values = torch.cat([best_v, v], dim=1)
    indices = torch.cat([best_i, i], dim=1)
    order = values.topk(min(k, values.shape[1]), dim=1, largest=largest).indices
    return values.gather(1, order), indices.gather(1, order)


def _chunk_size(n_queries: int, per_image: int, chunk_size: int | None) -> int:
    if chunk_size is not None:
        if chunk_size < 1:
            raise ConfigError(f"chunk_size must be a positive number of images, got {chunk_size}")
        return chunk_size
    return max(1, DEFAULT_BLOCK_ELEMENTS // max(1, n_queries * per_image))


def nearest_neighbors(samples, train, k: int = 2, *, metric: str = "cosine",
                      chunk_size: int | None = None, device=None) -> Neighbors:
    """Exact k nearest training images of each sample, scanning `train` in chunks.

    `metric="cosine"`: largest mean-removed cosine similarity; `metric="l2"`: smallest pixel
    distance ||x - t||. `train` may be a tensor or a NumPy array (a memmap is read chunk by
    chunk). Scores are computed in float32 blocks of (samples x chunk) and merged into a running
    top-k. Cosine values are those scores (dot products of unit vectors); L2 distances are
    recomputed from the differences of the chosen pairs, because the block score ||q||^2 -
    ||q - t||^2 cancels catastrophically for the near-copies that the ratio test is about.
    """
    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    check_image_sets(samples, train)
    if not 1 <= k <= len(train):
        raise ConfigError(f"k = {k} neighbours asked for but the training set has {len(train)} "
                          "images; use 1 <= k <= its size")
    queries = _as_float(samples, device).flatten(1)
    _check_finite(queries, "samples", "drop diverged samples (the sampler's failed indices) first")
    cosine = metric == "cosine"
    probe, flat = _directions(queries) if cosine else (queries, None)
    chunk = _chunk_size(len(queries), 1, chunk_size)
    best_v = queries.new_empty((len(queries), 0))
    best_i = torch.empty((len(queries), 0), dtype=torch.long, device=queries.device)
    for start in range(0, len(train), chunk):
        block = _as_float(train[start:start + chunk], queries.device).flatten(1)
        _check_finite(block, f"training images {start}..{start + len(block) - 1}",
                      "clean the data set")
        if cosine:
            scores = probe @ _directions(block)[0].T
        else:  # ||q||^2 - ||q - t||^2: larger is nearer, without forming differences
            scores = 2 * probe @ block.T - (block * block).sum(dim=1)
        v, i = scores.topk(min(k, scores.shape[1]), dim=1)
        best_v, best_i = _merge_topk(best_v, best_i, v, i + start, k, largest=True)
    if cosine:
        best_v[flat], best_i[flat] = torch.nan, -1
        return Neighbors(best_i, best_v)
    return _exact_distances(queries, train, best_i)


def _exact_distances(queries: torch.Tensor, train, indices: torch.Tensor) -> Neighbors:
    """||q - t|| of the selected pairs from their differences, sorted nearest first."""
    m, k = indices.shape
    flat_index = indices.flatten().cpu()
    rows = train[flat_index] if torch.is_tensor(train) else train[flat_index.numpy()]
    picked = _as_float(rows, queries.device).view(m, k, -1)
    values = (queries[:, None, :] - picked).norm(dim=2)
    order = values.argsort(dim=1, stable=True)
    return Neighbors(indices.gather(1, order), values.gather(1, order))


def patch_nearest_neighbors(samples, train, patch_size: int, *, stride: int | None = None,
                            min_contrast: float = 0.0, chunk_size: int | None = None,
                            device=None) -> Neighbors:
    """Nearest training patch at the same position, for each sample patch.

    Patches of `patch_size` are taken every `stride` pixels (default: `patch_size`, a tiling),
    positions in row-major order. Returns `indices` (M, L) of the training image whose patch at
    that position is most similar (mean-removed cosine) and `values` (M, L) the similarity. A
    sample whose patches all have a close training patch is a collage of its training set.

    Sample patches whose pixel standard deviation is at most `min_contrast` (near-flat
    background: the cosine of leftover sampling noise is a random number) get index -1 and
    similarity NaN, as exactly constant patches always do; a median over patches then measures
    the structured part of the image only.
    """
    check_image_sets(samples, train)
    height, width = samples.shape[-2:]
    stride = patch_size if stride is None else stride
    if not (1 <= patch_size <= min(height, width)) or stride < 1:
        raise ConfigError(f"patch_size {patch_size} / stride {stride} do not fit {height}x{width} "
                          "images; use 1 <= patch_size <= the image side and stride >= 1")
    if not min_contrast >= 0:
        raise ConfigError(f"min_contrast={min_contrast}: use a pixel standard deviation >= 0")
    queries = _as_float(samples, device)
    _check_finite(queries, "samples", "drop diverged samples (the sampler's failed indices) first")
    sample_patches = _patches(queries, patch_size, stride)
    low_contrast = sample_patches.std(dim=-1, unbiased=False) <= min_contrast
    probe, flat = _directions(sample_patches)  # (L, M, D), (L, M)
    del sample_patches
    flat |= low_contrast
    chunk = _chunk_size(len(queries), probe.shape[0], chunk_size)
    best_v = torch.full(flat.shape, -torch.inf, device=queries.device)
    best_i = torch.zeros(flat.shape, dtype=torch.long, device=queries.device)
    for start in range(0, len(train), chunk):
        block = _as_float(train[start:start + chunk], queries.device)
        _check_finite(block, f"training images {start}..{start + len(block) - 1}",
                      "clean the data set")
        scores = torch.bmm(probe, _directions(_patches(block, patch_size, stride))[0]
                           .transpose(1, 2))  # (L, M, chunk)
        v, i = scores.max(dim=2)
        better = v > best_v
        best_v, best_i = torch.where(better, v, best_v), torch.where(better, i + start, best_i)
    best_v[flat], best_i[flat] = torch.nan, -1
    return Neighbors(best_i.T.contiguous(), best_v.T.contiguous())


def _patches(images: torch.Tensor, patch_size: int, stride: int) -> torch.Tensor:
    """(B, C, H, W) -> (L, B, C * patch_size^2): every patch position's flattened patches."""
    return F.unfold(images, kernel_size=patch_size, stride=stride).permute(2, 0, 1)


def ratio_test(distances, ratio: float = 1 / 3) -> torch.Tensor:
    """Which samples Gu et al. (2023)'s test calls memorized: d_1 < ratio * d_2, (M,) bool.

    `distances` (M, >= 2): pixel L2 distances to the nearest and second-nearest training image
    (`nearest_neighbors(..., k=2, metric="l2").values`). Exact duplicates in the training set
    make d_2 = 0 and fail the test; de-duplicate the set first, as they do.
    """
    distances = _as_float(distances)
    if distances.dim() != 2 or distances.shape[1] < 2 or len(distances) == 0:
        raise ShapeError(f"the ratio test needs (samples, >= 2) distances, got "
                         f"{tuple(distances.shape)}; search with k=2 and metric='l2'")
    return distances[:, 0] < ratio * distances[:, 1]


#: How far a sample is from a training image for the ratio test: "l2" the pixel distance
#: ||x - t|| (Gu et al.); "cosine" the distance between the mean-removed unit vectors,
#: sqrt(2 - 2 c) with c the cosine similarity the memorization experiment reports, so a copy at
#: another contrast or brightness is still a copy (a bias-free net is homogeneous,
#: D(a y) = a D(y), and draws its training images at any contrast).
COPY_DISTANCES = ("l2", "cosine")


def copy_distances(samples, train, distance: str = "l2") -> torch.Tensor:
    """(M, 2) distances of each sample to its nearest and second-nearest training image, for
    `ratio_test`, measured as `distance` says (`COPY_DISTANCES`)."""
    if distance not in COPY_DISTANCES:
        raise ConfigError(f"unknown copy distance {distance!r}; choose one of "
                          f"{', '.join(COPY_DISTANCES)}")
    found = nearest_neighbors(samples, train, k=2, metric=distance)
    if distance == "l2":
        return found.values
    return (2 - 2 * found.values).clamp_min(0).sqrt()


def ratio_test_fraction(distances, ratio: float = 1 / 3) -> float:
    """Fraction of samples memorized by Gu et al. (2023)'s test (`ratio_test`): f_mem."""
    return float(ratio_test(distances, ratio).double().mean())


def fraction_above(similarities, threshold: float) -> float:
    """Fraction of finite similarities strictly above `threshold` (Somepalli et al. 2023 style)."""
    values = _as_float(similarities).flatten()
    values = values[torch.isfinite(values)]
    if len(values) == 0:
        return float("nan")
    return float((values > threshold).double().mean())


def _noisy_batches(images, sigmas, seed: int, batch_size: int):
    """Yield (sigma, clean, noisy) batches; one seeded noise draw z is shared by every sigma,
    so curves over sigma differ by the noise level only (common random numbers)."""
    clean_all = _as_float(images)
    noise = noise_sample(clean_all.shape, seed)
    for sigma in sigmas:
        for start in range(0, len(clean_all), batch_size):
            clean = clean_all[start:start + batch_size]
            yield float(sigma), clean, clean + float(sigma) * noise[start:start + batch_size]


def _check_sigmas(sigmas) -> list[float]:
    sigmas = [float(s) for s in sigmas]
    if not sigmas or any(not np.isfinite(s) or s <= 0 for s in sigmas):
        raise ConfigError(f"noise levels must be a non-empty list of positive numbers, got "
                          f"{sigmas}; e.g. 25/255, 100/255")
    return sigmas


def distance_to_memorization(denoiser, train, sigmas, images, *, seed: int, batch_size: int = 64,
                             make_oracle=None) -> dict[float, float]:
    """Mean squared difference between `denoiser` and the memorizing oracle of its training set.

        d(sigma) = mean over x in `images`, pixels of (D(y) - D*_S(y))^2,  y = x + sigma z,

    where D*_S is the empirical MMSE denoiser of the training set S = `train` (Gaussian mixture
    on the training images, known sigma). d = 0 is perfect memorization. `make_oracle(train,
    sigma)` builds D*_S (default `gahr.oracles.EmpiricalOracle`). Returns {sigma: d(sigma)}.
    """
    check_image_sets(images, train, ("evaluation images", "training set"))
    sigmas = _check_sigmas(sigmas)
    as_denoiser(denoiser)
    if make_oracle is None:
        from ..oracles import EmpiricalOracle

        def make_oracle(train_set, sigma):
            return EmpiricalOracle(train_set, sigma=sigma)
    device = device_of(denoiser)
    train = _as_float(train, device)
    totals = dict.fromkeys(sigmas, 0.0)
    oracles = {}
    with torch.no_grad():
        for sigma, _, noisy in _noisy_batches(images, sigmas, seed, batch_size):
            if sigma not in oracles:
                oracles = {sigma: make_oracle(train, sigma)}  # one oracle alive at a time
            noisy = noisy.to(device)
            diff = denoise(denoiser, noisy, sigma).double() - oracles[sigma](noisy).double()
            totals[sigma] += float((diff * diff).sum())
    size = float(np.prod(images.shape))
    return {sigma: total / size for sigma, total in totals.items()}


def train_test_gap(denoiser, train, test, sigmas, *, seed: int, batch_size: int = 64) -> dict:
    """PSNR on the training set and on held-out images, and their difference, per sigma.

    Returns {"train": {sigma: dB}, "test": {sigma: dB}, "gap": {sigma: train - test}}; a gap
    near 0 dB means the denoiser does as well on new images as on its own (generalization).
    """
    check_image_sets(test, train, ("held-out images", "training set"))
    sigmas = _check_sigmas(sigmas)
    on_train = evaluate(denoiser, _as_float(train), sigmas, seed=seed, batch_size=batch_size)
    on_test = evaluate(denoiser, _as_float(test), sigmas, seed=seed + 1, batch_size=batch_size)
    return {"train": on_train, "test": on_test,
            "gap": {s: on_train[s] - on_test[s] for s in on_train}}
