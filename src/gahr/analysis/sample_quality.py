"""How far samples are from real images, in a feature space: FID and KID with bootstrap intervals.

With features a (m, d) of samples and b (n, d) of held-out real images:

- FID (Heusel et al. 2017), the Frechet distance of the two Gaussians with the sets' means and
  covariances: ||mu_a - mu_b||^2 + tr(C_a + C_b - 2 (C_a^1/2 C_b C_a^1/2)^1/2). Biased: it
  shrinks as m, n grow, so compare values at equal set sizes only.
- KID (Binkowski, Sutherland, Arbel & Gretton 2018), the unbiased estimate of the squared MMD
  with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3:
  sum_{i != j} k(a_i, a_j) / (m(m-1)) + sum_{i != j} k(b_i, b_j) / (n(n-1))
  - 2 sum_{i,j} k(a_i, b_j) / (mn); its expectation is the population MMD^2 at any m, n >= 2
  (0 for one distribution, so it can come out slightly negative).

Intervals: the percentile bootstrap (as `gahr.analysis.bootstrap`), resampling both sets with
replacement. A KID replicate leaves out the pairs of a point with its own copies (the same
U-statistic on the multiset), so it stays unbiased and its percentile interval is used as is.
An FID replicate is the FID of the resampled sets, whose repeats (about 37% of each set) make
it larger than the FID of fresh sets of that size (measured: the median replicate of real
against real at 200 images sat above the whole-set value, outside its own interval), so the
FID interval is the percentile interval shifted by that bias, median replicate minus value:
its spread is the bootstrap's, its centre the value.
"""

from dataclasses import dataclass

import numpy as np
import torch

from ..devices import torch_threads
from ..errors import ShapeError
from .bootstrap import Interval

#: Bootstrap resamples per interval (the quantiles of 1000 replicates move by well under the
#: interval's width; each KID replicate costs a pass over the kernel matrices).
N_RESAMPLES = 1000


def _sqrt_psd(c: torch.Tensor) -> torch.Tensor:
    w, v = torch.linalg.eigh((c + c.T) / 2)
    return (v * w.clamp_min(0).sqrt()) @ v.T


def _t(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x,
                                      np.float64))


def frechet_distance(mu_a, cov_a, mu_b, cov_b) -> float:
    """||mu_a - mu_b||^2 + tr(C_a + C_b - 2 (C_a^1/2 C_b C_a^1/2)^1/2), the squared
    2-Wasserstein distance between N(mu_a, C_a) and N(mu_b, C_b)."""
    with torch_threads(1):  # small matrices: threads only wait on each other
        mu_a, mu_b = _t(mu_a).reshape(-1), _t(mu_b).reshape(-1)
        d = len(mu_a)
        cov_a, cov_b = _t(cov_a).reshape(d, d), _t(cov_b).reshape(d, d)
        s = _sqrt_psd(cov_a)
        cross = torch.linalg.eigvalsh(s @ cov_b @ s).clamp_min(0).sqrt().sum()
        return float(((mu_a - mu_b) ** 2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def _moments(x: torch.Tensor, w: torch.Tensor | None = None):
    if w is None:
        w = torch.ones(len(x), dtype=x.dtype)
    mu = w @ x / w.sum()
    c = x - mu
    return mu, (c * w[:, None]).T @ c / (w.sum() - 1)


def _check(a, b, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = _t(a), _t(b)
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ShapeError(f"{what} compares two (n, d) feature sets of one d, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    if min(len(a), len(b)) < 2:
        raise ShapeError(f"{what} needs at least 2 images in each set, got {len(a)} and "
                         f"{len(b)}")
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise ShapeError(f"{what}: the features hold NaN or inf; check the images")
    return a, b


def fid(a, b) -> float:
    """FID between feature sets a (m, d) and b (n, d)."""
    a, b = _check(a, b, "fid")
    with torch_threads(1):
        return frechet_distance(*_moments(a), *_moments(b))


def cubic_kernel(a, b) -> torch.Tensor:
    """k(x, y) = (x.y / d + 1)^3 for every row pair, (len(a), len(b)), float64."""
    a, b = _t(a), _t(b)
    return (a @ b.T / a.shape[1] + 1) ** 3


def _within(k: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """sum_{i != j} c_i c_j k_ij / sum_{i != j} c_i c_j for each row of counts c (R, n)."""
    k, c = _t(k), _t(c)
    num = ((c @ k) * c).sum(1) - (c**2) @ k.diagonal()
    pairs = c.sum(1) ** 2 - (c**2).sum(1)
    return torch.where(pairs > 0, num / pairs, torch.nan)  # one distinct point: undefined


def kid(a, b) -> float:
    """KID: the unbiased MMD^2 estimate with the cubic polynomial kernel, a (m, d), b (n, d)."""
    a, b = _check(a, b, "kid")
    with torch_threads(1):
        one_a, one_b = torch.ones(1, len(a), dtype=a.dtype), torch.ones(1, len(b), dtype=a.dtype)
        k_ab = cubic_kernel(a, b).mean()
        return float(_within(cubic_kernel(a, a), one_a)[0]
                     + _within(cubic_kernel(b, b), one_b)[0] - 2 * k_ab)


@dataclass(frozen=True)
class SampleQuality:
    """FID and KID of samples against real images, with bootstrap intervals."""

    fid: Interval
    kid: Interval
    features: str
    n_samples: int
    n_reference: int

    def as_dict(self) -> dict:
        return {"fid": self.fid.as_dict(), "kid": self.kid.as_dict(), "features": self.features,
                "n_samples": self.n_samples, "n_reference": self.n_reference}

    def summary(self) -> str:
        return (f"FID {self.fid.format('.2f')}, KID {self.kid.format('.4f')} ({self.features} "
                f"features, {self.n_samples} images against {self.n_reference} real images)")


@dataclass(frozen=True, eq=False)
class FeatureSet:
    """Features (n, d) with what every comparison against them reuses: their kernel matrix's
    within-set term and moments, on the full set and on each of its bootstrap resamples."""

    x: torch.Tensor
    counts: torch.Tensor  # (R, n) resample counts
    within: torch.Tensor  # (R,) KID within-set term of each resample
    moments: list  # (mu, cov) of each resample
    kid_within: float
    mu: torch.Tensor
    cov: torch.Tensor


def feature_set(x, n_resamples: int = N_RESAMPLES, seed: int = 0) -> FeatureSet:
    """`x` (n, d) prepared for `fid_kid` with `n_resamples` seeded resamples (stream `seed`)."""
    x = _check(x, x, "fid_kid")[0]
    rng = np.random.default_rng(seed)
    counts = _t(rng.multinomial(len(x), np.full(len(x), 1 / len(x)), size=n_resamples))
    with torch_threads(1):
        k = cubic_kernel(x, x)
        return FeatureSet(x, counts, _within(k, counts), [_moments(x, c) for c in counts],
                          float(_within(k, torch.ones(1, len(x), dtype=x.dtype))[0]),
                          *_moments(x))


def _interval(value: float, replicates, n: int, level: float, centred: bool) -> Interval:
    tail = (1 - level) / 2
    reps = np.asarray(replicates, np.float64)  # a resample of one distinct point has no KID:
    low, high = np.nanquantile(reps, [tail, 1 - tail])  # NaN, left out
    if centred:  # remove the resamples' own bias: the interval's median at the value
        shift = np.nanmedian(reps) - value
        low, high = low - shift, high - shift
    return Interval(float(value), float(low), float(high), int(n), float(level))


def fid_kid(a, b, features: str = "features", n_resamples: int = N_RESAMPLES,
            level: float = 0.95, seed: int = 0) -> SampleQuality:
    """FID and KID of feature sets a (samples) and b (reference; an array or a `feature_set`,
    whose resamples are then reused) with percentile-bootstrap intervals from joint resamples
    of both sets (seeded: the same input gives the same intervals)."""
    ref = b if isinstance(b, FeatureSet) else feature_set(b, n_resamples, seed + 1)
    ours = feature_set(a, len(ref.counts), seed)
    if ours.x.shape[1] != ref.x.shape[1]:
        raise ShapeError(f"fid_kid compares two (n, d) feature sets of one d, got "
                         f"{ours.x.shape} and {ref.x.shape}")
    m, n = len(ours.x), len(ref.x)
    with torch_threads(1):
        k_ab = cubic_kernel(ours.x, ref.x)
        kid_reps = (ours.within + ref.within
                    - 2 * ((ours.counts @ k_ab) * ref.counts).sum(1) / (m * n))
        fid_reps = [frechet_distance(*pa, *pb) for pa, pb in zip(ours.moments, ref.moments)]
        value_kid = ours.kid_within + ref.kid_within - 2 * float(k_ab.mean())
        value_fid = frechet_distance(ours.mu, ours.cov, ref.mu, ref.cov)
    return SampleQuality(_interval(value_fid, fid_reps, m, level, centred=True),
                         _interval(value_kid, kid_reps, m, level, centred=False), features, m, n)
