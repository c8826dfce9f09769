"""Schedules of the coarse-to-fine ascent: Algorithm 1's settings, its presets, a fixed budget.

A schedule is one object that `synthesize` and `solve` take. It decides, per sample, from the
step index t (1-based: the t-th denoiser call) and the effective noise sigma_t = |d_t| / sqrt(D):
- `done(t, sigma)`: stop here and return the (projected) denoised image;
- `step(t, sigma)`: the step size h_t and the injected noise gamma_t of the update
  y_t = y_{t-1} + h_t d_t + gamma_t z_t;
- `limit()`: the calls after which a sample that is not done counts as failed.
Algorithm 1 (Kadkhodaie & Simoncelli, NeurIPS 2021) starts at y_0 = mean + sigma_0 z and keeps
the effective noise on the schedule sigma_t = (1 - beta h_t) sigma_{t-1} by injecting
gamma_t^2 = ((1 - beta h_t)^2 - (1 - h_t)^2) sigma_t^2, until sigma_t < sigma_L.
"""

import dataclasses
import math
import re
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import ConfigError
from .flow import ProbabilityFlow
from .noise_grid import NoiseGrid, kamb_ganguli

#: `Schedule.stall` watches a sample once its lowest sigma_t is at most this many times sigma_L.
STALL_TOLERANCE = 2.0


def step_size(t: np.ndarray, h_0: float, rule: str) -> np.ndarray:
    """h_t: `growing` h_0 t / (1 + h_0 (t - 1)) (2021 paper) or `constant` h_0 (2024 paper)."""
    t = np.asarray(t, dtype=np.float64)
    if rule == "growing":
        return h_0 * t / (1 + h_0 * (t - 1))
    return np.full_like(t, h_0)


def ideal_steps(sigma_0: float, sigma_L: float, h_0: float, beta: float, rule: str) -> int:
    """Denoiser calls Algorithm 1 needs when sigma_t follows its schedule exactly
    (sigma_t = (1 - beta h_t) sigma_{t-1} from sigma_0), counting the final denoising call."""
    if sigma_L <= 0:
        raise ConfigError("ideal_steps needs sigma_L > 0")
    sigma, t = sigma_0, 1
    while sigma >= sigma_L:
        h = h_0 * t / (1 + h_0 * (t - 1)) if rule == "growing" else h_0
        sigma *= 1 - beta * h
        t += 1
        if t > 10**7:
            raise ConfigError(f"h_0={h_0}, beta={beta} reach sigma_L={sigma_L} only after more "
                              "than 10^7 steps; increase h_0 or beta")
    return t


@dataclass(frozen=True)
class Schedule:
    """Algorithm 1's schedule (Kadkhodaie & Simoncelli, 2021): start at noise sigma_0, take
    steps h_t (`rule` "growing": h_0 t / (1 + h_0 (t - 1)); "constant": h_0) with noise
    injection beta (1: none), stop when sigma_t < sigma_L. A sample still running after
    `max_steps` calls (default: 10x the ideal count + 100) has failed; sigma_L = 0 with
    `max_steps` runs exactly that many calls.

    `stall` (beyond the paper; None, the default, is the paper's rule): a sample whose sigma_t
    has come within `STALL_TOLERANCE` sigma_L and then gone `stall` calls without a new lowest
    value stops there; it returns its denoised iterate at that lowest sigma_t, counts as
    converged, and is listed in `SampleResult.stalled` with that sigma_t. It rescues the samples
    that reach about sigma_L and then drift away (sigma_t rising until it leaves [0,
    sigma_max]: a failure under the paper's rule); `benchmarks/sampler_failures.py` measures it
    on the shipped models."""

    sigma_0: float = 1.0
    sigma_L: float = 0.01
    h_0: float = 0.01
    beta: float = 0.01
    rule: Literal["growing", "constant"] = "growing"
    max_steps: int | None = None
    stall: int | None = None

    def __post_init__(self):
        if self.rule not in ("growing", "constant"):
            raise ConfigError(f"step={self.rule!r}; choose 'growing' (2021) or 'constant' (2024)")
        if not (math.isfinite(self.sigma_0) and self.sigma_0 > 0):
            raise ConfigError(f"sigma_0={self.sigma_0} must be finite and > 0")
        if not 0 < self.h_0 <= 1 or not 0 < self.beta <= 1:
            raise ConfigError(f"h_0={self.h_0} and beta={self.beta} must lie in (0, 1]")
        if not self.sigma_L >= 0 or (self.sigma_L == 0 and self.max_steps is None):
            raise ConfigError(f"sigma_L={self.sigma_L}: give sigma_L > 0, or sigma_L=0 with "
                              "max_steps to run a fixed number of steps")
        if not self.sigma_L < self.sigma_0:
            raise ConfigError(f"sigma_L={self.sigma_L:g} is not below sigma_0={self.sigma_0:g}: "
                              "the ascent stops when sigma_t < sigma_L, so every sample would "
                              "stop at once as noise; give sigma_L < sigma_0 (e.g. 0.01)")
        for name in ("max_steps", "stall"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)} must be >= 1 (or None: off)")

    def replace(self, **changes) -> "Schedule":
        """A copy with the given settings changed; None leaves a setting as it is."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def deterministic(self) -> "Schedule":
        """The same schedule with beta = 1: gamma_t = 0, no noise injected after the start, so
        a sample is a function of its initial noise y_0 = mean + sigma_0 z (its seed) alone and
        two denoisers run from the same seeds start at the same point."""
        return self.replace(beta=1.0)

    def limit(self) -> int:
        """max_steps, or by default 10x the ideal number of calls (+100): a sample that needs
        more is not following the schedule and is reported as failed."""
        if self.max_steps is not None:
            return self.max_steps
        return 10 * ideal_steps(self.sigma_0, self.sigma_L, self.h_0, self.beta, self.rule) + 100

    def done(self, t: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        return sigma < self.sigma_L

    def step(self, t: np.ndarray, sigma: np.ndarray):
        h = step_size(t, self.h_0, self.rule)
        gamma = np.sqrt(np.maximum((1 - self.beta * h) ** 2 - (1 - h) ** 2, 0)) * sigma
        return h, gamma

    # Deprecated (until 0.2): the presets were dicts of synthesize's keyword arguments, so
    # `synthesize(..., **PRESETS[name])` keeps working for one release.
    def keys(self):
        warnings.warn("unpacking a Schedule (**PRESETS[name]) is deprecated; pass it as "
                      "synthesize(den, shape, n, PRESETS[name])", DeprecationWarning,
                      stacklevel=2)
        return ["step", "sigma_0", "sigma_L", "h_0", "beta"]

    def __getitem__(self, key):
        return getattr(self, "rule" if key == "step" else key)


#: The two published settings. 2021: growing step, few calls. 2024 (ICLR, the memorization
#: experiments): constant step, more noise injection, started at the training set's mean.
#: "deterministic": the 2021 one at beta = 1 (`Schedule.deterministic`), no injected noise
#: (33 calls to sigma_L = 0.01): same seeds, same starts, so the final samples of two denoisers
#: can be compared image by image (`gahr compare`).
#: Trade-off, measured with the exact Gaussian oracle (benchmarks/sampler.py, 16x16, 128
#: samples): 2021 needs 65 calls per sample, 2024 825 (13x); at sigma_L = 0.05 the RMS
#: log-spectral error is 0.073 with the 2021 step against 0.032 with the 2024 step (floor of
#: exact prior samples: 0.019), because late growing steps (h_t -> 0.5) under-sample the
#: variance by about h/2. The default is the 2021 rule (cheap); the paper-scale memorization
#: preset uses the 2024 one, as the paper did, the CPU presets the 2021 one.
PRESETS = {
    "kadkhodaie2021": Schedule(rule="growing", sigma_0=1.0, sigma_L=0.01, h_0=0.01, beta=0.01),
    "kadkhodaie2024": Schedule(rule="constant", sigma_0=1.0, sigma_L=0.05, h_0=0.01, beta=0.1),
    "deterministic": Schedule(rule="growing", sigma_0=1.0, sigma_L=0.01, h_0=0.01, beta=1.0),
    # Kamb & Ganguli (2025): DDIM, 20 steps, legacy cosine schedule, from pure noise
    "kamb-ganguli": kamb_ganguli(20),
    # Deterministic probability-flow samplers (sample/flow.py), for conditional models above
    # all: EDM's Heun on its rho = 7 grid (18 steps, 35 calls) and DDIM (eta = 0) at the same
    # number of calls.
    "heun": ProbabilityFlow("heun", num_steps=18),
    "ddim": ProbabilityFlow("ddim", num_steps=35),
}


def is_ascent(obj) -> bool:
    """Whether `obj` has a schedule's methods (`sigma_0`, `limit()`, `done(t, sigma)`,
    `step(t, sigma)`): run by Algorithm 1's loop (`run_ascent`)."""
    return hasattr(obj, "sigma_0") and all(callable(getattr(obj, m, None))
                                           for m in ("limit", "done", "step"))


def is_sampler(obj) -> bool:
    """Whether `obj` is a whole sampler: `run(denoiser, shape, seeds, start_mean, **options)`
    returning a `SampleResult` (as `ProbabilityFlow` does)."""
    return callable(getattr(obj, "run", None))


def register_sampler(name: str, sampler) -> None:
    """Name a sampler so that `preset(name)`, `gahr sample --sampler NAME`, `[memorization]
    sampler` and `gahr compare --sampler` find it: a schedule (see `is_ascent`) or a whole
    sampler (`is_sampler`). A name registered again is replaced."""
    if not (isinstance(name, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", name)):
        raise ConfigError(f"sampler name {name!r}: use letters, digits, '_' and '-'")
    if not (is_ascent(sampler) or is_sampler(sampler)):
        raise ConfigError(f"{type(sampler).__name__} is not a sampler: give a schedule (sigma_0, "
                          "limit(), done(t, sigma), step(t, sigma)) or an object with run()")
    PRESETS[name] = sampler


def preset(name: str = "kadkhodaie2021", **changes):
    """The sampler registered as `name` with the non-None `changes` applied (Schedule fields
    for Algorithm 1; see each sampler's `replace`)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown sampler preset {name!r}; choose one of {', '.join(PRESETS)}")
    sampler = PRESETS[name]
    if any(v is not None for v in changes.values()):
        if not callable(getattr(sampler, "replace", None)):
            raise ConfigError(f"sampler {name!r} takes no changes (it has no replace method)")
        return sampler.replace(**changes)
    return sampler


@dataclass(frozen=True)
class FixedBudget:
    """Beyond the paper: exactly `num_steps` updates (num_steps + 1 denoiser calls).

    The effective noise is steered onto geometric targets s_k = sigma_0 (sigma_L/sigma_0)^(k/K):
    at step t with measured sigma_t the ratio r = min(s_t / sigma_t, s_t / s_{t-1}) (catch up
    with the target, and never progress slower than the schedule's own ratio when ahead of
    it) is reached with Algorithm 1's update, beta h = 1 - r, i.e. h = min(1, (1 - r) / beta)
    and gamma^2 = (r^2 - (1 - h)^2) sigma_t^2, so a batch finishes in known time.
    """

    num_steps: int
    sigma_0: float = 1.0
    sigma_L: float = 0.01
    beta: float = 0.1

    def __post_init__(self):
        if self.num_steps < 1:
            raise ConfigError(f"num_steps={self.num_steps} must be >= 1")
        if (not 0 < self.sigma_L < self.sigma_0 or not math.isfinite(self.sigma_0)
                or not 0 < self.beta <= 1):
            raise ConfigError(f"need 0 < sigma_L={self.sigma_L} < sigma_0={self.sigma_0} and "
                              f"beta={self.beta} in (0, 1]")

    def limit(self) -> int:
        return self.num_steps + 1

    def target(self, t: np.ndarray) -> np.ndarray:
        """s_t, the effective noise wanted after update t (t = 1..K)."""
        frac = np.asarray(t, dtype=np.float64) / self.num_steps
        return self.sigma_0 * (self.sigma_L / self.sigma_0) ** frac

    def done(self, t: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        return t > self.num_steps

    def step(self, t: np.ndarray, sigma: np.ndarray):
        ratio = (self.sigma_L / self.sigma_0) ** (1 / self.num_steps)
        with np.errstate(divide="ignore"):  # sigma = 0: nothing left to remove, r = ratio
            r = np.minimum(self.target(t) / sigma, ratio)
        h = np.minimum((1 - r) / self.beta, 1.0)
        gamma = np.sqrt(np.maximum(r**2 - (1 - h) ** 2, 0)) * sigma
        return h, gamma


#: What a sampler takes: Algorithm 1's schedule, the fixed budget, a DDIM noise grid, a
#: probability-flow sampler (or any object with the schedule's methods, or a whole sampler).
Policy = Schedule | FixedBudget | NoiseGrid | ProbabilityFlow
#: The settings that synthesize and solve took as keywords before the Schedule object
#: (deprecated until 0.2), and the Schedule field each one sets.
LEGACY_SETTINGS = {"sigma_0": "sigma_0", "sigma_L": "sigma_L", "h_0": "h_0", "beta": "beta",
                   "step": "rule", "max_steps": "max_steps"}


def resolve_schedule(schedule, legacy: dict, caller: str) -> Policy:
    """The schedule a sampler runs: `schedule` (default: the 2021 preset), changed by the
    deprecated keyword settings in `legacy` (with a warning); a TypeError for any other key."""
    unknown = sorted(set(legacy) - set(LEGACY_SETTINGS))
    if unknown:
        raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")
    schedule = PRESETS["kadkhodaie2021"] if schedule is None else schedule
    if isinstance(schedule, str):
        schedule = preset(schedule)
    if not (is_ascent(schedule) or (caller == "synthesize" and is_sampler(schedule))):
        whole = " or a whole sampler with run() (synthesize only)" * (caller == "synthesize")
        raise ConfigError(f"{caller}: schedule={schedule!r}; pass a gahr.sample.Schedule "
                          "(e.g. PRESETS['kadkhodaie2024']), a FixedBudget, a preset name, "
                          "any object with sigma_0, limit(), done(t, sigma), "
                          f"step(t, sigma){whole}")
    if legacy and not isinstance(schedule, Schedule | FixedBudget):
        raise ConfigError(f"{caller}: the keywords {', '.join(legacy)} change only a Schedule "
                          "or FixedBudget; change your schedule object instead")
    if legacy:
        warnings.warn(f"{caller}({', '.join(f'{k}=' for k in legacy)}...) is deprecated; pass "
                      f"a Schedule, e.g. {caller}(..., PRESETS['kadkhodaie2021'].replace("
                      f"sigma_L=0.05))", DeprecationWarning, stacklevel=3)
        changes = {LEGACY_SETTINGS[k]: v for k, v in legacy.items()}
        schedule = dataclasses.replace(schedule, **{k: v for k, v in changes.items()
                                                    if v is not None})
    return schedule


def __getattr__(name):
    if name == "Algorithm1":  # deprecated until 0.2
        warnings.warn("gahr.sample.Algorithm1 is now gahr.sample.Schedule (with sigma_0)",
                      DeprecationWarning, stacklevel=2)
        return Schedule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
