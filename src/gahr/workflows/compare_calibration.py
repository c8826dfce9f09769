"""The noise levels at which `gahr compare` calibrates a local machine that samples.

A calibrated machine samples at k(sigma) (`PatchSizeSchedule`), so it needs a calibrated k near
every noise level the sampler hands it, from the start (sigma_0, e.g. 1) down to the last call,
not only at the output measurement's sigmas. `sampler_levels(schedule)` lists the levels of the
schedule's ideal trajectory (those `synthesize(..., give_sigma=True)` passes, up to the
measured-noise fluctuations); `level_cover` thins them to a geometric grid with ratio <= 2
between neighbours, so that each lies within sqrt 2 (the schedule's default tolerance) of a
grid level.
"""

import math

import numpy as np

from ..sample import FixedBudget, Schedule, step_size


def sampler_levels(schedule) -> list[float]:
    """Noise levels the sampler's calls see, largest first: `schedule.levels()` when it has
    one; for a `Schedule` sigma_0 and then sigma_t = (1 - beta h_t) sigma_{t-1} down to the
    first level below sigma_L (the last call); for a `FixedBudget` sigma_0 and its targets."""
    if hasattr(schedule, "levels"):
        return [float(s) for s in schedule.levels()]
    if isinstance(schedule, FixedBudget):
        return [schedule.sigma_0, *map(float, schedule.target(np.arange(1, schedule.num_steps
                                                                            + 1)))]
    if not isinstance(schedule, Schedule):
        raise TypeError(f"no noise levels known for {type(schedule).__name__}")
    levels, sigma, t = [schedule.sigma_0], schedule.sigma_0, 1
    while sigma >= schedule.sigma_L and t < schedule.limit():
        sigma *= 1 - schedule.beta * float(step_size(t, schedule.h_0, schedule.rule))
        levels.append(sigma)
        t += 1
    return levels


def level_cover(levels, ratio: float = 2.0) -> list[float]:
    """A geometric grid from max(levels) down to min(levels) with neighbours at most `ratio`
    apart: every level lies within sqrt(ratio) of a grid point."""
    hi, lo = max(levels), min(levels)
    n = max(1, math.ceil(math.log(hi / lo) / math.log(ratio) - 1e-9)) + 1
    return [hi * (lo / hi) ** (i / (n - 1)) for i in range(n)] if hi > lo else [hi]
