"""How closely an analytic model explains a trained denoiser: outputs on noisy images, patch-size
calibration, same-seed samples.

- Denoiser agreement at a noise level sigma: for held-out images x and y = x + sigma z (one
  seeded z for every sigma and model, common random numbers), the per-image mean squared
  difference between the net's output and the model's, MSE(f(y), g(y)), beside each one's MSE
  to the clean x. The net is blind; the model is evaluated at the true sigma
  (`model(y, sigma=sigma)`, which every `gahr.oracles` denoiser takes).
- Pixel subsampling: the local machines cost O(N (HW)^2) per image, so the MSEs can be taken
  over P pixels drawn at random per image (the same pixels for every sigma and model, so
  comparisons are paired): an unbiased estimate of the whole-image MSE, HW / P times cheaper.
- Calibration: the patch size k of a `LocalEmpiricalOracle` that minimises the mean
  MSE(net, machine_k) at each sigma (Kamb & Ganguli 2025 calibrate the ELS scale per time
  step the same way).
- Samples: the Pearson correlation r across pixels of two samples from the same seed,
  r = <a - mean(a), b - mean(b)> / (|a - mean(a)| |b - mean(b)|), which is by definition the
  memorization experiment's mean-removed cosine (`cosine_similarity`); the same r between
  samples of different seeds is the baseline that shared structure alone gives.
"""

from collections.abc import MutableMapping
from typing import NamedTuple

import numpy as np
import torch

from ..errors import ConfigError
from ..metrics import noise_sample, sigma_label
from ..nets import denoise
from .memorization import _check_sigmas, check_image_sets, cosine_similarity


class Agreement(NamedTuple):
    """Per-image mean squared differences (float64, one entry per image) at one sigma."""

    to_reference: torch.Tensor  # MSE(model(y), reference(y))
    to_clean: torch.Tensor  # MSE(model(y), x)
    reference_to_clean: torch.Tensor  # MSE(reference(y), x)


def pixel_sample(n_images: int, n_pixels: int, count: int | None, seed: int) -> torch.Tensor | None:
    """`count` distinct flat pixel indices per image, (n_images, count), drawn from `seed`;
    None (every pixel) when `count` is None or covers the image."""
    if count is None or count >= n_pixels:
        return None
    if count < 1:
        raise ConfigError(f"pixels={count} must be >= 1 (or None for every pixel)")
    g = torch.Generator().manual_seed(int(seed))
    return torch.stack([torch.randperm(n_pixels, generator=g)[:count] for _ in range(n_images)])


def _at_pixels(images: torch.Tensor, pixels: torch.Tensor | None) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, P) at `pixels` (B, P), or (B, C, HW) when None."""
    flat = images.flatten(2)
    if pixels is None:
        return flat
    return flat.gather(2, pixels.to(flat.device)[:, None, :].expand(-1, flat.shape[1], -1))


def _model_output(model, y, sigma, pixels):
    if pixels is not None and hasattr(model, "denoise_pixels"):
        return model.denoise_pixels(y, pixels.to(y.device), sigma=sigma)
    return _at_pixels(model(y, sigma=sigma), pixels)


def _mse(a, b) -> torch.Tensor:
    return (a.double() - b.double()).square().flatten(1).mean(1).cpu()


@torch.no_grad()
def agreement(reference, model, images: torch.Tensor, sigmas, *, seed: int,
              pixels: torch.Tensor | None = None, batch_size: int = 16) -> dict:
    """{sigma: Agreement}: per-image MSEs between `reference(y)` (blind) and
    `model(y, sigma=sigma)` and of each to the clean image, y = images + sigma z with
    z = noise_sample(images.shape, seed), over `pixels` ((B, P) flat indices, see
    `pixel_sample`) or every pixel. Each batch of images goes to the model once at every
    sigma together (one sigma per image), so a local machine builds its training patches once
    for all of them."""
    sigmas = _check_sigmas(sigmas)
    z, S = noise_sample(images.shape, seed), len(sigmas)
    parts = []
    for i in range(0, len(images), batch_size):
        x = images[i:i + batch_size].float()
        level = torch.tensor(sigmas, dtype=torch.float64).repeat_interleave(len(x))
        y = x.repeat(S, 1, 1, 1) + level.to(x).view(-1, 1, 1, 1) * z[i:i + batch_size].to(
            x.device).repeat(S, 1, 1, 1)
        px = None if pixels is None else pixels[i:i + batch_size].repeat(S, 1)
        f = _at_pixels(denoise(reference, y, level.to(x.device)), px)
        g = _model_output(model, y, level.to(x.device), px)
        clean = _at_pixels(x.repeat(S, 1, 1, 1), px)
        parts.append([m.view(S, -1) for m in (_mse(g, f), _mse(g, clean), _mse(f, clean))])
    columns = [torch.cat(col, dim=1) for col in zip(*parts, strict=True)]
    return {sigma: Agreement(*(col[j] for col in columns)) for j, sigma in enumerate(sigmas)}


def agreement_at(reference, model, images: torch.Tensor, sigma: float, *, seed: int,
                 pixels: torch.Tensor | None = None, batch_size: int = 16) -> Agreement:
    """`agreement` at one sigma."""
    return agreement(reference, model, images, [sigma], seed=seed, pixels=pixels,
                     batch_size=batch_size)[float(sigma)]


def mean_and_se(values) -> tuple[float, float]:
    """Mean and standard error (std / sqrt(n), n - 1 in the std; 0 for n = 1)."""
    v = np.asarray(values, dtype=np.float64)
    se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0
    return float(v.mean()), se


def denoiser_agreement(reference, models: dict, images: torch.Tensor, sigmas, *, seed: int,
                       pixels: int | None = None, batch_size: int = 16,
                       cache: MutableMapping | None = None) -> dict:
    """`agreement` for every model: {name: {sigma label: per-image lists}}, with
    {"reference": {sigma label: per-image MSE to clean}} beside. `pixels`: P pixels per image
    (drawn from `seed + 1`), None for all. `cache` keeps each finished (name, sigma): only
    the missing sigmas are computed, and each is stored as soon as its model call returns."""
    check_image_sets(images, images, ("test images", "test images"))
    sigmas = _check_sigmas(sigmas)
    px = pixel_sample(len(images), images[0, 0].numel(), pixels, seed + 1)
    cache = {} if cache is None else cache
    out: dict = {"reference": {}}
    for name, model in models.items():
        missing = [s for s in sigmas if f"{name}@{sigma_label(s)}" not in cache]
        if missing:
            found = agreement(reference, model, images, missing, seed=seed, pixels=px,
                              batch_size=batch_size)
            for sigma, rec in found.items():  # a persistent cache writes here
                cache[f"{name}@{sigma_label(sigma)}"] = {k: v.tolist()
                                                        for k, v in rec._asdict().items()}
        out[name] = {sigma_label(s): cache[f"{name}@{sigma_label(s)}"] for s in sigmas}
        for label, rec in out[name].items():
            out["reference"][label] = rec["reference_to_clean"]
    return out


def calibrate_patch_size(reference, oracle, images: torch.Tensor, sigmas, patch_sizes, *,
                         seed: int, pixels: int | None = None, batch_size: int = 16,
                         cache: MutableMapping | None = None) -> dict:
    """Per sigma, the patch size k (from `patch_sizes`) whose machine
    `oracle.with_patch_size(k)` has the smallest mean MSE to `reference`.

    Returns {"patch_sizes": [...], "mse": {sigma label: {k: [per image]}}, "best": {sigma
    label: k}}; the same pixels and noise serve every k, so the k are compared paired."""
    ks = sorted({int(k) for k in patch_sizes})
    if not ks:
        raise ConfigError("patch_sizes is empty; give odd sizes such as 3 5 7 9")
    models = {f"k={k}": oracle.with_patch_size(k) for k in ks}
    found = denoiser_agreement(reference, models, images, sigmas, seed=seed, pixels=pixels,
                               batch_size=batch_size, cache=cache)
    mse = {sigma_label(s): {k: found[f"k={k}"][sigma_label(s)]["to_reference"] for k in ks}
           for s in _check_sigmas(sigmas)}
    best = {label: min(ks, key=lambda k, row=row: np.mean(row[k])) for label, row in mse.items()}
    return {"patch_sizes": ks, "mse": mse, "best": best}


def sample_correlation(a: torch.Tensor, b: torch.Tensor) -> dict:
    """Same-seed samples a, b (M, C, H, W): per pair the Pearson r across pixels (= the
    mean-removed cosine), and the baseline: the median r over the M (M - 1) pairs of
    different seeds (what two unrelated samples share). NaN marks a constant sample."""
    check_image_sets(a, b, ("first samples", "second samples"))
    if a.shape != b.shape:
        raise ConfigError(f"{len(a)} and {len(b)} samples; pair samples of the same seeds")
    r = cosine_similarity(a, b)
    baseline = float("nan")
    if len(a) > 1:
        m = len(a)
        rows = torch.arange(m).repeat_interleave(m - 1)
        cols = torch.tensor([j for i in range(m) for j in range(m) if j != i])
        baseline = float(np.nanmedian(cosine_similarity(a[rows], b[cols]).numpy()))
    return {"pearson_r": r.tolist(), "different_seed_median_r": baseline}
