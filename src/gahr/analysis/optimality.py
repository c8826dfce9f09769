"""Denoising error against noise level, its log-log slope, and the optimum for C^alpha images.

Paper Sec. 4: for C^alpha images with C^alpha contours the optimal MSE decays like
MSE(sigma) ~ sigma^(2 alpha / (alpha + 1)). The paper states slopes in PSNR form. With
intensities in [0, 1], PSNR_in = -10 log10(sigma^2) and PSNR_out = -10 log10(MSE). If
log MSE = s log sigma + c, then PSNR_out = -10 (s log10 sigma + c / ln 10)
= (s / 2) PSNR_in + const, so

    d PSNR_out / d PSNR_in = s / 2,

and the optimum alpha / (alpha + 1) is the MSE exponent 2 alpha / (alpha + 1) halved.
"""

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..errors import ConfigError, ShapeError
from ..metrics import check_sigma, noise_sample
from ..nets import as_denoiser, denoise
from .jacobian import Denoiser
from .wavelets import THRESHOLD_GRID, best_threshold_mse


@dataclass(frozen=True)
class SlopeFit:
    """Least-squares line log MSE = slope * log sigma + intercept over sigma in [lo, hi]."""

    slope: float
    intercept: float
    sigma_lo: float
    sigma_hi: float
    points: int

    @property
    def psnr_slope(self) -> float:
        return psnr_slope(self.slope)


def optimal_mse_slope(alpha: float) -> float:
    """The exponent of the optimal MSE of C^alpha images: 2 alpha / (alpha + 1)."""
    if alpha <= 0:
        raise ConfigError(f"alpha={alpha} must be > 0")
    return 2 * alpha / (alpha + 1)


def psnr_slope(mse_slope: float) -> float:
    """d PSNR_out / d PSNR_in for MSE ~ sigma^mse_slope: mse_slope / 2 (module docstring)."""
    return mse_slope / 2


def check_sigmas(sigmas, zero: bool = False) -> np.ndarray:
    """Noise levels as a float64 array, each checked by `gahr.metrics.check_sigma` (0 also
    allowed with `zero`)."""
    s = np.asarray(sigmas, dtype=np.float64).ravel()
    if s.size < 1:
        raise ConfigError("no noise levels given; list at least one, e.g. 25/255")
    return np.array([v if zero and v == 0 else check_sigma(v, "noise level") for v in s])


def log_sigmas(sigma_min: float, sigma_max: float, num: int) -> np.ndarray:
    """`num` log-spaced noise levels from sigma_min to sigma_max."""
    check_sigmas([sigma_min, sigma_max])
    if sigma_max <= sigma_min or num < 2:
        raise ConfigError(f"need sigma_min < sigma_max and num >= 2, got {sigma_min}, "
                          f"{sigma_max}, {num}")
    return np.geomspace(sigma_min, sigma_max, int(num))


def mse_curve(denoiser: Denoiser, images: torch.Tensor, sigmas, seed: int = 0,
              batch_size: int = 64) -> np.ndarray:
    """Per-pixel MSE E||x_hat(x + sigma z) - x||^2 / D over `images`, one value per sigma.

    One noise draw z (from `seed`) is shared by all sigmas (common random numbers), so the
    curve's shape and slope carry no sampling jitter between noise levels. sigma = 0 gives the
    error on clean images (the denoiser's floor).
    """
    if images.dim() != 4:
        raise ShapeError(f"images must be (N, C, H, W), got {tuple(images.shape)}")
    sigmas = check_sigmas(sigmas, zero=True)
    as_denoiser(denoiser)
    z = noise_sample(images.shape, seed).to(images)
    out = []
    with torch.no_grad():
        for s in sigmas:
            total = 0.0
            for i in range(0, len(images), batch_size):
                x = images[i:i + batch_size]
                y = x + float(s) * z[i:i + batch_size]
                err = denoise(denoiser, y, float(s) if s > 0 else None) - x
                total += float((err.double() ** 2).sum())
            out.append(total / images.numel())
    return np.array(out)


def wavelet_mse_curve(images: torch.Tensor, sigmas, seed: int = 0, wavelet: str = "db4",
                      grid: Sequence[float] = THRESHOLD_GRID,
                      mode: str = "hard") -> tuple[np.ndarray, np.ndarray]:
    """The best-threshold wavelet MSE per sigma (same noise as `mse_curve`) and the thresholds."""
    sigmas = check_sigmas(sigmas)
    z = noise_sample(images.shape, seed).to(images)
    pairs = [best_threshold_mse(images, images + float(s) * z, float(s), grid, wavelet,
                                mode=mode) for s in sigmas]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def fit_points(sigmas, sigma_range=None) -> tuple[float, float, np.ndarray]:
    """(lo, hi, mask of the sigmas inside [lo, hi]) of a slope fit; ConfigError unless the range
    is made of two noise levels and holds at least two of `sigmas`."""
    sigmas = check_sigmas(sigmas)
    if sigma_range is None:
        lo, hi = sigmas.min(), sigmas.max()
    else:
        lo, hi = (check_sigma(v, "fit range bound") for v in sigma_range)
    keep = (sigmas >= lo * (1 - 1e-9)) & (sigmas <= hi * (1 + 1e-9))
    if keep.sum() < 2:
        raise ConfigError(f"fewer than 2 noise levels in the fit range [{lo:g}, {hi:g}]; widen "
                          "it or sample more sigmas")
    return float(lo), float(hi), keep


def fit_loglog_slope(sigmas, mse, sigma_range: tuple[float, float] | None = None) -> SlopeFit:
    """Fit log MSE = slope * log sigma + intercept on the sigmas inside `sigma_range` (inclusive,
    all when None); at least two points must fall inside."""
    sigmas, mse = check_sigmas(sigmas), np.asarray(mse, dtype=np.float64).ravel()
    if mse.shape != sigmas.shape or np.any(mse <= 0):
        raise ConfigError("need one positive MSE per sigma to fit a log-log slope")
    lo, hi, keep = fit_points(sigmas, sigma_range)
    slope, intercept = np.polyfit(np.log(sigmas[keep]), np.log(mse[keep]), 1)
    return SlopeFit(float(slope), float(intercept), float(lo), float(hi), int(keep.sum()))


def prior_mse(images: torch.Tensor) -> float:
    """Per-pixel MSE of the best constant estimate, the mean image: where any denoiser's error
    saturates as sigma grows (sum of per-pixel variances over the set, / D)."""
    x = images.double().flatten(1)
    return float(((x - x.mean(0)) ** 2).mean())


def meaningful_range(sigmas, mse, floor: float, saturation: float,
                     margin: float = 4.0) -> tuple[float, float] | None:
    """The widest run of consecutive sigmas whose MSE is set by the noise: at least `margin`
    times the denoiser's error on clean images (`floor`, its MSE at sigma = 0) and at most
    1/`margin` of the error of the best constant (`saturation`, `prior_mse`). There, a power
    law MSE ~ sigma^s is what a slope measures; below, the floor flattens it; above, the
    prior's variance does. None when fewer than 3 sigmas qualify."""
    sigmas, mse = check_sigmas(sigmas), np.asarray(mse, dtype=np.float64).ravel()
    ok = (mse >= margin * floor) & (mse <= saturation / margin)
    best, start = (0, 0), None
    for i, good in enumerate([*ok, False]):
        if good and start is None:
            start = i
        elif not good and start is not None:
            best = max(best, (i - start, start))
            start = None
    length, first = best
    if length < 3:
        return None
    return float(sigmas[first]), float(sigmas[first + length - 1])


def slope_row(name: str, sigmas, mse, sigma_range, alpha: float | None = None) -> dict:
    """One table row: the fitted MSE and PSNR slopes, and the optimum when alpha is given."""
    fit = fit_loglog_slope(sigmas, mse, sigma_range)
    row = {"name": name, **asdict(fit), "psnr_slope": fit.psnr_slope}
    if alpha is not None:
        row.update(alpha=float(alpha), optimal_mse_slope=optimal_mse_slope(alpha),
                   optimal_psnr_slope=psnr_slope(optimal_mse_slope(alpha)))
    row["mse"] = [float(m) for m in mse]
    row["sigmas"] = [float(s) for s in sigmas]
    return row


def markdown_table(rows: list[dict]) -> str:
    """The rows as a markdown table of PSNR slopes (the paper's form) and MSE slopes."""
    lines = ["| denoiser | alpha | PSNR slope | optimal | MSE slope | optimal | fit range |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        a = r.get("alpha")
        lines.append(
            f"| {r['name']} | {'' if a is None else f'{a:g}'} | {r['psnr_slope']:.3f} | "
            f"{_fmt(r.get('optimal_psnr_slope'))} | {r['slope']:.3f} | "
            f"{_fmt(r.get('optimal_mse_slope'))} | "
            f"{r['sigma_lo'] * 255:.3g}-{r['sigma_hi'] * 255:.3g}/255 ({r['points']} pts) |")
    return "\n".join(lines) + "\n"


def _fmt(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"
