"""Deterministic probability-flow samplers: EDM's Heun and DDIM (eta = 0).

For the noise process y = x + sigma z with denoiser D(y; sigma), the probability-flow ODE is
(Karras et al. 2022, "EDM", eq. 1 and Table 1 with sigma(t) = t, s(t) = 1)

    dy / dsigma = (y - D(y; sigma)) / sigma.

Both samplers integrate it from y_0 = mean + sigma_0 z (one z per sample, from its seed) down a
grid sigma_0 > ... > sigma_{K-1} = sigma_L > sigma_K = 0, and return y_K:

- DDIM (Song, Meng & Ermon 2021, eta = 0) is the Euler step of this ODE,
  y_{i+1} = D_i + (sigma_{i+1} / sigma_i) (y_i - D_i), D_i = D(y_i; sigma_i): K calls;
- Heun (EDM Algorithm 1 with S_churn = 0): the Euler step, then the trapezoidal correction with
  the slope at (y_{i+1}, sigma_{i+1}), skipped on the last step to sigma = 0: 2K - 1 calls.

Grid (`grid="karras"`, EDM eq. 5): sigma_i = (sigma_0^(1/rho) + i/(K-1) (sigma_L^(1/rho) -
sigma_0^(1/rho)))^rho, rho = 7. `grid="table"`: the denoiser's own VP table (`table_sigmas`,
e.g. a diffusers model's sigma(t) = sqrt((1 - abar_t) / abar_t) on gahr's scale) at K
timesteps evenly spaced from its last to its first, as diffusers' DDIMScheduler picks them.
sigma_0 and sigma_L default to the denoiser's `sigma_max` / `sigma_min` when it has them (the
ends of a VP table), else 1.0 and 0.002. The denoiser is called with sigma = sigma_i
(`gahr.nets.denoise`: conditional models always, oracles with `give_sigma=True`; a blind net
ignores it). No noise is injected: a sample is a function of its seed alone.
"""

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import ConfigError, SamplingError
from ..nets.contract import denoise
from .result import SampleResult

#: Defaults of the grid's ends when the denoiser names none (gahr's [0, 1] scale).
DEFAULT_SIGMA_0, DEFAULT_SIGMA_L = 1.0, 0.002


def karras_sigmas(num_steps: int, sigma_0: float, sigma_L: float, rho: float = 7.0) -> np.ndarray:
    """EDM eq. 5: num_steps levels from sigma_0 down to sigma_L, uniform in sigma^(1/rho), then
    a final 0; (num_steps + 1,) float64."""
    i = np.arange(num_steps, dtype=np.float64) / max(num_steps - 1, 1)
    a, b = sigma_0 ** (1 / rho), sigma_L ** (1 / rho)
    return np.append((a + i * (b - a)) ** rho, 0.0)


def table_grid(table, num_steps: int, sigma_0: float | None, sigma_L: float | None):
    """num_steps levels of a VP table (increasing in t) at timesteps evenly spaced from the last
    to the first within [sigma_L, sigma_0], then 0."""
    table = np.asarray(table, dtype=np.float64)
    keep = np.ones(len(table), dtype=bool)
    if sigma_0 is not None:
        keep &= table <= sigma_0 * (1 + 1e-9)
    if sigma_L is not None:
        keep &= table >= sigma_L * (1 - 1e-9)
    levels = table[keep]
    if len(levels) < 1:
        raise ConfigError(f"no level of the denoiser's table lies in [sigma_L={sigma_L}, "
                          f"sigma_0={sigma_0}]")
    index = np.unique(np.round(np.linspace(0, len(levels) - 1, min(num_steps, len(levels)))))
    return np.append(levels[index.astype(np.int64)][::-1], 0.0)


@dataclass(frozen=True)
class ProbabilityFlow:
    """A deterministic sampler of the probability-flow ODE (see the module docstring): `method`
    "heun" (EDM) or "ddim" (Euler, eta = 0), `num_steps` K grid levels, `sigma_0` (EDM's
    sigma_max) and `sigma_L` (EDM's sigma_min; None: from the denoiser, see the module), `rho`
    and `grid` ("karras" or "table"). Passed to `synthesize` like a `Schedule`."""

    method: Literal["heun", "ddim"] = "heun"
    num_steps: int = 18
    sigma_0: float | None = None
    sigma_L: float | None = None
    rho: float = 7.0
    grid: Literal["karras", "table"] = "karras"

    def __post_init__(self):
        if self.method not in ("heun", "ddim") or self.grid not in ("karras", "table"):
            raise ConfigError(f"method={self.method!r}, grid={self.grid!r}: choose method heun "
                              "or ddim, grid karras or table")
        if self.num_steps < 1 or not self.rho > 0:
            raise ConfigError(f"num_steps={self.num_steps} must be >= 1 and rho={self.rho} > 0")
        s0, sL = self.sigma_0, self.sigma_L
        if (s0 is not None and not s0 > 0) or (sL is not None and not sL > 0) or (
                s0 is not None and sL is not None and not sL < s0):
            raise ConfigError(f"need 0 < sigma_L={sL} < sigma_0={s0}")

    def replace(self, **changes) -> "ProbabilityFlow":
        """A copy with the non-None `changes` applied: this class's fields, and of Algorithm 1's
        settings only sigma_0 and sigma_L (the others mean nothing here and are refused)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        foreign = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if foreign:
            raise ConfigError(f"the {self.method} sampler has no setting {', '.join(foreign)}; "
                              "it takes num_steps, sigma_0, sigma_L, rho and grid")
        return dataclasses.replace(self, **changes)

    def deterministic(self) -> "ProbabilityFlow":
        """Itself: no noise is injected after the start."""
        return self

    def calls(self) -> int:
        """Denoiser calls per sample."""
        return 2 * self.num_steps - 1 if self.method == "heun" else self.num_steps

    def resolved(self, denoiser) -> "ProbabilityFlow":
        """A copy with the grid's ends fixed to those it takes for `denoiser`: run it on other
        denoisers (oracles beside a net) and every one starts from the same y_0 of a seed."""
        grid = self.sigmas(denoiser)
        return dataclasses.replace(self, sigma_0=float(grid[0]), sigma_L=float(grid[-2]))

    def levels(self, denoiser=None) -> list[float]:
        """The positive grid levels the denoiser is called at (Heun also calls at each one
        once more), largest first; without a denoiser, for the defaults of the grid's ends."""
        return [float(s) for s in self.sigmas(denoiser)[:-1]]

    def sigmas(self, denoiser) -> np.ndarray:
        """The grid for `denoiser`, from sigma_0 down to 0."""
        s0 = self.sigma_0 if self.sigma_0 is not None else getattr(denoiser, "sigma_max", None)
        sL = self.sigma_L if self.sigma_L is not None else getattr(denoiser, "sigma_min", None)
        if self.grid == "table":
            table = getattr(denoiser, "table_sigmas", None)
            if table is None:
                raise SamplingError("grid='table' needs a denoiser with a VP table "
                                    "(`table_sigmas`, e.g. a diffusers: model); use grid='karras'")
            return table_grid(table, self.num_steps, self.sigma_0, self.sigma_L)
        s0 = DEFAULT_SIGMA_0 if s0 is None else float(s0)
        sL = DEFAULT_SIGMA_L if sL is None else float(sL)
        if not 0 < sL < s0:
            raise ConfigError(f"the grid needs 0 < sigma_L={sL:g} < sigma_0={s0:g}")
        return karras_sigmas(self.num_steps, s0, sL, self.rho)

    def run(self, denoiser, shape, seeds, start_mean, *, batch_size=None, callback=None,
            device=None, progress=False, give_sigma=None) -> SampleResult:
        """Samples (one per seed) of shape (C, H, W) from y_0 = start_mean + sigma_0 z."""
        grid = self.sigmas(denoiser)
        n, D = len(seeds), int(np.prod(shape))
        batch_size = min(n, 64) if batch_size is None else int(batch_size)
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size} must be >= 1")
        samples = torch.empty((n, *shape), device=device)
        traj = [[] for _ in range(n)]
        bar = tqdm(total=n, desc=f"sampling ({self.method})", unit="sample", disable=not progress)
        for lo in range(0, n, batch_size):
            index = torch.arange(lo, min(lo + batch_size, n), device=device)
            z = torch.stack([torch.randn(shape, device=device, generator=torch.Generator(
                device=device).manual_seed(int(seeds[i]))) for i in index.tolist()])
            y = start_mean + float(grid[0]) * z
            samples[index] = self._integrate(denoiser, y, grid, index, traj, D, callback,
                                             give_sigma)
            bar.update(len(index))
        bar.close()
        finite = torch.isfinite(samples.flatten(1)).all(dim=1).cpu()
        failed = [i for i in range(n) if not finite[i]]
        steps = torch.full((n,), len(grid) - 1 if self.method == "ddim" else 2 * len(grid) - 3)
        return SampleResult(samples, steps, [torch.tensor(t, dtype=torch.float64) for t in traj],
                            failed, {i: "the ODE solution went non-finite" for i in failed},
                            [int(s) for s in seeds])

    def _integrate(self, denoiser, y, grid, index, traj, D, callback, give_sigma):
        """One batch down the whole grid; records |D_i - y_i| / sqrt(D) per step."""
        def slope(y, s):
            with torch.no_grad():
                level = torch.full((len(y),), s, dtype=torch.float64, device=y.device)
                x_hat = denoise(denoiser, y, level, give_sigma)
            return x_hat, (y - x_hat) / s

        for i, (s, s_next) in enumerate(zip(grid[:-1].tolist(), grid[1:].tolist())):
            x_hat, d = slope(y, s)
            sigma_t = (x_hat - y).flatten(1).double().norm(dim=1) / D**0.5
            for k, v in zip(index.tolist(), sigma_t.tolist()):
                traj[k].append(v)
            if callback is not None:
                callback(dict(iteration=i, index=index, t=torch.full((len(y),), i + 1), y=y,
                              x_hat=x_hat, d=x_hat - y, sigma=sigma_t))
            y_next = y + (s_next - s) * d
            if self.method == "heun" and s_next > 0:
                d_next = slope(y_next, s_next)[1]
                y_next = y + (s_next - s) * (d + d_next) / 2
            y = y_next
        return y
