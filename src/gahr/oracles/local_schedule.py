"""A local empirical machine whose patch size follows the noise level.

Kamb & Ganguli (2025) match a trained net with an ELS machine whose locality scale changes with
the noise level, calibrated per time step. `PatchSizeSchedule(oracle, {sigma_j: k_j})` is that
denoiser: at noise level sigma it is `oracle.with_patch_size(k_j)` for the calibrated sigma_j
nearest to sigma on a log scale (piecewise constant). Images of one batch at different noise
levels are grouped by patch size.

A calibration covers a noise level when some sigma_j lies within a factor `tolerance` of it
(default sqrt 2: levels calibrated on a grid with ratio <= 2 cover everything between them).
Outside (above the largest sigma_j or below the smallest by more than that) the schedule still
answers with the nearest sigma_j's k, but counts the image in `uncovered`: whoever samples with
it calibrates at the sampler's levels (`gahr compare` does) and checks that the count stays 0.
"""

import math

import torch
from torch import nn

from ..errors import ConfigError
from .local import LocalEmpiricalOracle
from .noise_level import noise_variances


class PatchSizeSchedule(nn.Module):
    """`oracle` (a `LocalEmpiricalOracle`) at the patch size k(sigma) of `patch_sizes`
    ({sigma: odd k}); sigma per image is the one passed to `forward`, else the oracle's
    (its fixed sigma, or the blind global ML estimate)."""

    def __init__(self, oracle: LocalEmpiricalOracle, patch_sizes: dict,
                 tolerance: float = 2**0.5):
        super().__init__()
        if not isinstance(oracle, LocalEmpiricalOracle):
            raise ConfigError(f"PatchSizeSchedule needs a LocalEmpiricalOracle, got "
                              f"{type(oracle).__name__}")
        if not patch_sizes or any(not float(s) > 0 for s in patch_sizes):
            raise ConfigError(f"patch_sizes={patch_sizes!r} must map noise levels > 0 to odd "
                              "patch sizes, e.g. {25/255: 5, 100/255: 11}")
        if not tolerance >= 1:
            raise ConfigError(f"tolerance={tolerance} must be a factor >= 1")
        self.oracle, self.tolerance, self.uncovered = oracle, float(tolerance), 0
        self.levels = sorted((float(s), int(k)) for s, k in patch_sizes.items())
        self.machines = {k: oracle.with_patch_size(k) for _, k in self.levels}

    def extra_repr(self) -> str:
        return ", ".join(f"{s * 255:.3g}/255: k={k}" for s, k in self.levels)

    def patch_size_at(self, sigma: float) -> int:
        """k of the calibrated noise level nearest to `sigma` in log(sigma)."""
        return min(self.levels, key=lambda level: abs(math.log(level[0] / sigma)))[1]

    def covers(self, sigma: float) -> bool:
        """Whether a calibrated level lies within a factor `tolerance` of `sigma`."""
        return min(abs(math.log(level / sigma)) for level, _ in self.levels) \
            <= math.log(self.tolerance) + 1e-12

    def describe(self) -> dict:
        """What this machine is (for cache keys): the oracle's and the calibrated levels."""
        return {**self.oracle.describe(), "patch_sizes": [[s, k] for s, k in self.levels]}

    def denoise_pixels(self, y: torch.Tensor, pixels: torch.Tensor, sigma=None) -> torch.Tensor:
        """x_hat(y) at some pixels only, (B, C, P), as `LocalEmpiricalOracle.denoise_pixels`
        at each image's k(sigma)."""
        sigmas, ks = self._levels(y, sigma)
        out = torch.empty(*y.shape[:2], pixels.shape[1], dtype=y.dtype, device=y.device)
        for k in ks.unique().tolist():
            rows = ks == k
            out[rows] = self.machines[k].denoise_pixels(y[rows], pixels[rows.to(pixels.device)],
                                                        sigma=sigmas[rows])
        return out

    def _levels(self, y, sigma):
        """(sigma per image, k per image), counting the uncovered levels."""
        sigmas = (self.oracle.estimate_sigma(y).double() if sigma is None
                  else noise_variances(sigma, len(y), y.device).sqrt())
        self.uncovered += sum(not self.covers(float(s)) for s in sigmas)
        ks = torch.tensor([self.patch_size_at(float(s)) for s in sigmas], device=y.device)
        return sigmas, ks

    def forward(self, y: torch.Tensor, sigma=None) -> torch.Tensor:
        sigmas, ks = self._levels(y, sigma)
        out = torch.empty_like(y)
        for k in ks.unique().tolist():
            rows = ks == k
            out[rows] = self.machines[k](y[rows], sigma=sigmas[rows])
        return out
