"""Memorization in time: when f_mem sets in, when the test error is best, how linear the net is.

Times are global training steps t of the snapshots. Definitions (the numbers `gahr dynamics`
reports):

- f_mem(t): fraction of samples that Gu et al.'s ratio test calls copies (d_1 < d_2 / 3,
  `memorization.ratio_test`, distances by `memorization.copy_distances`), with the
  percentile-bootstrap interval of that mean.
- tau_mem: the first time f_mem exceeds `threshold`, interpolated linearly in log t between
  the last snapshot at or below it and the first above (`crossing_step`); its interval is the
  bootstrap one: the samples (the same seeds at every snapshot) are resampled jointly across
  snapshots and tau_mem recomputed per resample. Bonnaire, Urfin, Biroli & Mezard (NeurIPS
  2025) find tau_mem growing linearly with N.
- tau_gen: the first time the test PSNR (mean over the noise levels) exceeds the identity
  denoiser's (the noisy input's, `identity_psnr`) by `gain_db`, interpolated in log t: when the
  net begins to denoise images it never saw. Bonnaire et al.'s tau_gen is "an early time at
  which models begin to generate high-quality samples", read off the FID; the test PSNR is the
  denoiser's own quality measure, and a fixed gain marks that beginning for every N alike.
  None when it never gets there: such a net memorizes before it generalizes.
- tau_best: the first time the test PSNR comes within `margin_db` of its best over the
  snapshots, interpolated in log t; None when that best is no more than `margin_db` above the
  first snapshot's. Memorization ends the rise, so tau_best tracks tau_mem as well as
  generalization.
- the exponent b of tau_mem ~ N^b: least squares in log-log, with the percentile interval of b
  over the bootstrap resamples of every N's tau_mem.
- the Gaussian share at sigma: 1 - sum ||D(y) - G(y)||^2 / sum ||D(y) - mu||^2 over noisy
  held-out images y = x + sigma z, with G the Wiener denoiser of the Gaussian fitted to the
  training set (mean mu, covariance Sigma; `oracles.GaussianFitOracle`): 1 when the net is that
  linear denoiser, 0 when it is no closer to it than the constant mu is, negative when further.
  Li, Dai & Qu (NeurIPS 2024) and Wang & Vastola (2024) find generalizing denoisers close to G
  at moderate and high noise.
"""

import math

import numpy as np
import torch

from ..devices import device_of
from ..errors import DataError
from ..metrics import noise_sample
from ..nets import denoise
from .bootstrap import N_RESAMPLES, bootstrap_interval


def _check_curve(steps, values) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(steps, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.ndim != 1 or v.shape[0] != t.shape[0] or len(t) == 0:
        raise DataError(f"need one value per step, got {t.shape} steps and {v.shape} values")
    if np.any(t <= 0) or np.any(np.diff(t) <= 0):
        raise DataError("steps must be positive and increasing (log-time interpolation)")
    return t, v


def crossing_step(steps, values, threshold: float) -> float | None:
    """The first t at which `values` exceeds `threshold`, interpolated in log t; None when it
    never does, steps[0] when it already does at the first snapshot."""
    t, v = _check_curve(steps, values)
    above = np.nonzero(v > threshold)[0]
    if len(above) == 0:
        return None
    i = int(above[0])
    if i == 0:
        return float(t[0])
    v0, v1 = v[i - 1], v[i]
    if not np.isfinite(v0):  # nothing measured just before: the crossing is this snapshot
        return float(t[i])
    frac = (threshold - v0) / (v1 - v0) if v1 != v0 else 1.0
    return float(math.exp(math.log(t[i - 1]) + frac * (math.log(t[i]) - math.log(t[i - 1]))))


def f_mem_interval(memorized, seed: int = 0) -> dict | None:
    """f_mem of per-sample flags (True: a copy) with its 95% bootstrap interval."""
    found = bootstrap_interval(np.asarray(memorized, dtype=np.float64), np.mean, seed=seed)
    return None if found is None else found.as_dict()


def tau_mem(steps, memorized, threshold: float, level: float = 0.95,
            n_resamples: int = N_RESAMPLES, seed: int = 0) -> dict:
    """tau_mem from `memorized` (snapshots, samples) flags with its bootstrap interval; NaN
    flags (failed samples) are left out of f_mem.

    Returns {"value", "low", "high", "reached", "replicates"}: value None when f_mem never
    exceeds `threshold`; low/high the percentile interval of the resampled tau_mem (inf where a
    resample never crosses), high None when more than (1 - level)/2 of them never do;
    `replicates` the resampled values (inf: not reached), for `exponent`.
    """
    flags = np.asarray(memorized, dtype=np.float64)
    if flags.ndim != 2 or flags.shape[1] == 0:
        raise DataError(f"memorized flags must be (snapshots, samples), got {flags.shape}")
    value = crossing_step(steps, f_mem_curve(flags), threshold)
    rng = np.random.default_rng(seed)
    cols = rng.integers(0, flags.shape[1], size=(int(n_resamples), flags.shape[1]))
    curves = f_mem_curve(flags[:, cols], axis=2).T  # (resamples, snapshots)
    reps = np.array([crossing_step(steps, c, threshold) or math.inf for c in curves])
    tail = (1 - level) / 2
    # no interpolation between order statistics: an unreached resample is inf, not a number
    low, high = np.quantile(reps, [tail, 1 - tail], method="inverted_cdf")
    return {"value": value, "low": _finite(low), "high": _finite(high),
            "reached": value is not None, "threshold": threshold, "replicates": reps}


def f_mem_curve(flags, axis: int = 1) -> np.ndarray:
    """f_mem per snapshot: the mean of 0/1 flags over `axis` (the samples), NaN flags (failed
    samples) left out; NaN where every sample failed."""
    flags = np.asarray(flags, dtype=np.float64)
    counts = np.isfinite(flags).sum(axis=axis)
    sums = np.nansum(flags, axis=axis)
    return np.divide(sums, counts, out=np.full(sums.shape, np.nan), where=counts > 0)


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def identity_psnr(sigmas) -> float:
    """The noisy input's PSNR (dB, [0, 1] images) averaged over `sigmas`: -20 log10(sigma) each,
    the test PSNR of the identity denoiser, which a net with the paper's initialization starts
    at."""
    sigmas = np.asarray([float(s) for s in sigmas], dtype=np.float64)
    if len(sigmas) == 0 or np.any(sigmas <= 0):
        raise DataError(f"identity_psnr needs positive noise levels, got {sigmas.tolist()}")
    return float(np.mean(-20 * np.log10(sigmas)))


def tau_gen(steps, test_psnr, reference_db: float, gain_db: float) -> float | None:
    """The first t at which the test PSNR exceeds `reference_db` (the identity denoiser's,
    `identity_psnr`) by `gain_db`, interpolated in log t: the net has begun to denoise images it
    never saw; None when it never does (it memorizes before it generalizes)."""
    return crossing_step(steps, test_psnr, reference_db + gain_db)


def tau_best(steps, test_psnr, margin_db: float) -> float | None:
    """The first t at which the test PSNR comes within `margin_db` of its best (log t); None
    when there is no generalization phase to time: the best is no more than `margin_db` above
    the first snapshot's (a net that memorizes as soon as it learns anything)."""
    t, v = _check_curve(steps, test_psnr)
    finite = v[np.isfinite(v)]
    if len(finite) == 0 or finite.max() - finite[0] <= margin_db:
        return None
    return crossing_step(t, v, float(finite.max()) - margin_db - 1e-12)


def exponent(ns, taus, replicates=None, level: float = 0.95) -> dict | None:
    """Slope b of log tau against log N (least squares) and its percentile interval over the
    bootstrap `replicates` (one array per N, paired by index); None with fewer than 2 N."""
    x = np.log(np.asarray(ns, dtype=np.float64))
    y = np.log(np.asarray(taus, dtype=np.float64))
    if len(x) < 2 or not np.isfinite(y).all():
        return None
    slope = float(np.polyfit(x, y, 1)[0])
    out = {"value": slope, "low": None, "high": None, "level": level, "n": len(x)}
    if replicates is not None:
        reps = np.log(np.stack([np.asarray(r, dtype=np.float64) for r in replicates]))
        ok = np.isfinite(reps).all(axis=0)
        if ok.mean() >= 1 - (1 - level) / 2:  # unreached resamples would only steepen it
            xc = x - x.mean()
            slopes = (xc @ (reps[:, ok] - reps[:, ok].mean(axis=0))) / (xc @ xc)
            tail = (1 - level) / 2
            out["low"], out["high"] = (float(q) for q in np.quantile(slopes, [tail, 1 - tail]))
    return out


def onset_n(ns, final_f_mem, threshold: float) -> float | None:
    """The N below which training memorizes by its end: where the last snapshot's f_mem falls
    through `threshold` going up in N, interpolated in log N; None when no N (or every N)
    exceeds it, as then the onset lies outside the sweep."""
    n = np.asarray(ns, dtype=np.float64)
    f = np.asarray(final_f_mem, dtype=np.float64)
    order = np.argsort(n)
    n, f = n[order], f[order]
    above = f > threshold
    if not above.any() or above.all():
        return None
    i = int(np.nonzero(above)[0][-1])  # the largest N that memorizes
    if i + 1 >= len(n):
        return None
    frac = (f[i] - threshold) / (f[i] - f[i + 1])
    return float(math.exp(math.log(n[i]) + frac * (math.log(n[i + 1]) - math.log(n[i]))))


@torch.no_grad()
def gaussian_share(denoiser, gaussian, images: torch.Tensor, sigmas, *, seed: int,
                   batch_size: int = 64) -> dict[float, float]:
    """{sigma: share of the net's output that the fitted Gaussian denoiser explains} (module
    docstring); `gaussian` a `GaussianFitOracle` of the training set, `images` held out."""
    z = noise_sample(images.shape, seed)
    device = device_of(denoiser)
    out = {}
    for sigma in sigmas:
        miss = spread = 0.0
        for start in range(0, len(images), batch_size):
            y = (images[start:start + batch_size] + float(sigma) * z[start:start + batch_size])
            x_hat = denoise(denoiser, y.to(device), float(sigma)).double().cpu()
            linear = gaussian.wiener(y.to(gaussian.mean.device), float(sigma)).double().cpu()
            miss += float((x_hat - linear).square().sum())
            spread += float((x_hat - gaussian.mean.cpu().view(1, *x_hat.shape[1:])).square().sum())
        out[float(sigma)] = 1.0 - miss / spread if spread > 0 else float("nan")
    return out
