"""Deterministic DDIM on a fixed grid of noise levels, and Kamb & Ganguli's 20-step grid.

DDIM with eta = 0 (Song et al. 2021), written on gahr's variance-exploding scale: with x_hat the
denoised image at level sigma_t, the next iterate keeps the same noise direction at the next
level, y_{t+1} = x_hat + (sigma_{t+1} / sigma_t) (y_t - x_hat), which is Algorithm 1's update
y + h d (d = x_hat - y) with h_t = 1 - sigma_{t+1} / sigma_t and no injected noise. In VP
coordinates x_t = sqrt(abar_t) y_t this is the usual x_{t-1} = sqrt(abar_{t-1}) x0_hat +
sqrt(1 - abar_{t-1}) eps_hat. The last call (at sigma_K) returns its x_hat. The denoiser is
handed the grid's level of each iterate (`levels`, `next_level`), not a measured one.

Kamb & Ganguli (ICML 2025) sample their nets and machines with DDIM at 20 steps on the "legacy"
cosine schedule abar(t) = cos(pi t / 2.016)^2 at t = 1, 0.95, ..., 0.05 (from pure noise at
t = 1): on [-1, 1] images sigma_VE(t) = tan(pi t / 2.016), so on gahr's [0, 1] scale sigma(t) =
tan(pi t / 2.016) / 2, from 40.1 down to 0.039. Pure noise x_1 ~ N(0, I) is y_0 = 0.5 +
z / (2 sqrt(abar(1))), standard deviation sqrt(1 / (1 - abar(1))) = 1.00008 times sigma(1):
`kamb_ganguli()` starts at y_0 = 0.5 + sigma(1) z (`start_mean` 0.5, the middle of the data
range).
"""

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError


@dataclass(frozen=True)
class NoiseGrid:
    """DDIM (eta = 0) through `sigmas` (decreasing, > 0): one denoiser call per level, the
    last call's x_hat is the sample. `start_mean`: where y_0 is centred (None: the caller's,
    e.g. the training set's mean)."""

    sigmas: tuple[float, ...]
    start_mean: float | None = None

    def __post_init__(self):
        s = np.asarray(self.sigmas, dtype=np.float64)
        if len(s) < 2 or not np.isfinite(s).all() or (s <= 0).any() or (np.diff(s) >= 0).any():
            raise ConfigError(f"sigmas={self.sigmas!r} must be >= 2 decreasing noise levels > 0")

    @property
    def sigma_0(self) -> float:
        return float(self.sigmas[0])

    @property
    def sigma_L(self) -> float:
        return float(self.sigmas[-1])

    def levels(self) -> list[float]:
        return [float(s) for s in self.sigmas]

    def limit(self) -> int:
        return len(self.sigmas)

    def done(self, t: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        return np.asarray(t) >= len(self.sigmas)

    def step(self, t: np.ndarray, sigma: np.ndarray):
        s = np.asarray(self.sigmas, dtype=np.float64)
        t = np.asarray(t, dtype=np.int64)
        return 1 - s[t] / s[t - 1], np.zeros(len(t))

    def next_level(self, t: np.ndarray, sigma: np.ndarray, h, gamma) -> np.ndarray:
        """The level of the iterate after call t: the grid's sigma_{t+1}."""
        return np.asarray(self.sigmas, dtype=np.float64)[np.asarray(t, dtype=np.int64)]

    def deterministic(self) -> "NoiseGrid":
        return self  # no noise is injected

    def replace(self, **changes) -> "NoiseGrid":
        """A copy with `sigmas` or `start_mean` changed; other settings (None: ignored) do not
        apply to a fixed grid."""
        changes = {k: v for k, v in changes.items() if v is not None}
        other = sorted(set(changes) - {"sigmas", "start_mean"})
        if other:
            raise ConfigError(f"a DDIM noise grid has no {', '.join(other)}; its levels are "
                              "fixed (give sigmas=... instead)")
        return dataclasses.replace(self, **changes)


def kamb_ganguli_sigmas(num_steps: int = 20) -> tuple[float, ...]:
    """sigma(t) = tan(pi t / 2.016) / 2 at t = i / num_steps, i = num_steps .. 1."""
    return tuple(math.tan(math.pi * (i / num_steps) / 2.016) / 2
                 for i in range(num_steps, 0, -1))


def kamb_ganguli(num_steps: int = 20) -> NoiseGrid:
    """Kamb & Ganguli's sampler: DDIM, `num_steps` steps on the legacy cosine schedule, from
    pure noise (y_0 centred at 0.5)."""
    return NoiseGrid(kamb_ganguli_sigmas(num_steps), start_mean=0.5)
