"""Wavelet thresholding: a harmonic but non-adaptive denoising baseline (paper Sec. 4).

With an orthonormal wavelet transform W (periodized), white noise of variance sigma^2 stays white
with variance sigma^2 on every coefficient. Thresholding the detail coefficients (the coarsest
approximation is kept) gives x_hat = W^T rho_t(W y). For C^alpha images with C^alpha edges the
best such estimate has an MSE decaying no faster than sigma^1 (the edges cost ~ sigma per unit
length at every scale), while the optimum is sigma^(2 alpha / (alpha + 1)) (Korostelev &
Tsybakov 1993; paper Sec. 4): wavelets are optimal only for alpha = 1.
"""

from collections.abc import Sequence

import numpy as np
import pywt
import torch

from ..errors import ConfigError
from .jacobian import as_image

#: Default threshold grid, in units of sigma, for the best-threshold (oracle) baseline.
THRESHOLD_GRID = tuple(np.round(np.arange(0.5, 4.01, 0.25), 2))


def _check(wavelet: str, mode: str) -> None:
    if wavelet not in pywt.wavelist(kind="discrete"):
        raise ConfigError(f"unknown wavelet {wavelet!r}; use an orthogonal PyWavelets name "
                          "such as haar, db2, db4, sym4")
    if not pywt.Wavelet(wavelet).orthogonal:
        raise ConfigError(f"wavelet {wavelet!r} is not orthogonal; thresholds in units of sigma "
                          "need an orthonormal transform (haar, dbN, symN, coifN)")
    if mode not in ("hard", "soft"):
        raise ConfigError(f"threshold mode {mode!r}; use hard or soft")


def wavelet_threshold(y: torch.Tensor, threshold: float, wavelet: str = "db4",
                      level: int | None = None, mode: str = "hard") -> torch.Tensor:
    """Threshold the detail coefficients of each channel of each image in y (B, C, H, W)."""
    _check(wavelet, mode)
    if y.dim() != 4:
        y = as_image(y)
    arr = y.detach().cpu().double().numpy()
    out = np.empty_like(arr)
    for idx in np.ndindex(*arr.shape[:2]):
        coeffs = pywt.wavedec2(arr[idx], wavelet, mode="periodization", level=level)
        kept = [coeffs[0]] + [tuple(pywt.threshold(d, threshold, mode=mode) for d in band)
                              for band in coeffs[1:]]
        out[idx] = pywt.waverec2(kept, wavelet, mode="periodization")[:arr.shape[2], :arr.shape[3]]
    return torch.from_numpy(out).to(y)


class WaveletDenoiser:
    """The denoiser y -> W^T rho_t(W y) with a fixed threshold t (a callable, like the nets)."""

    def __init__(self, threshold: float, wavelet: str = "db4", level: int | None = None,
                 mode: str = "hard"):
        _check(wavelet, mode)
        self.threshold, self.wavelet, self.level, self.mode = threshold, wavelet, level, mode

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        return wavelet_threshold(y, self.threshold, self.wavelet, self.level, self.mode)


def best_threshold_mse(x: torch.Tensor, y: torch.Tensor, sigma: float,
                       grid: Sequence[float] = THRESHOLD_GRID, wavelet: str = "db4",
                       level: int | None = None, mode: str = "hard") -> tuple[float, float]:
    """The lowest per-pixel MSE of wavelet thresholding of y against x over thresholds
    t = c * sigma, c in `grid`, and that t (an oracle choice: the best case for the baseline)."""
    best = (float("inf"), float("nan"))
    for c in grid:
        t = float(c) * float(sigma)
        mse = float(((wavelet_threshold(y, t, wavelet, level, mode) - x) ** 2).mean())
        best = min(best, (mse, t))
    return best
