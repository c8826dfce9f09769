"""Sampling from the prior implicit in a denoiser, and linear inverse problems with it.

`synthesize(denoiser, shape, n, schedule)` (Algorithm 1 of Kadkhodaie & Simoncelli, 2021,
batched, per-sample seeds) and `solve(denoiser, operator, measurement, schedule)` (Algorithm 2:
linear inverse problems through measurement operators `measure` = M^T, `lift` = M with
M^T M = I) share one signature. The schedule is a `Schedule` (sigma_0, sigma_L, h_0, beta, step
rule, max calls; `PRESETS` holds the two published ones and their deterministic variant
(beta = 1, `Schedule.deterministic()`), `preset(name, **changes)` a changed copy) or a
`FixedBudget` (exactly K steps), a `NoiseGrid` (deterministic DDIM through fixed noise
levels; `PRESETS["kamb-ganguli"]` is Kamb & Ganguli's 20-step cosine grid from pure noise), or
any object with the schedule's methods. `ProbabilityFlow` (presets "heun": EDM's Heun, "ddim":
DDIM with eta = 0, on EDM's grid or the model's VP table) is a deterministic probability-flow
sampler that `synthesize` takes in the schedule's place; `register_sampler` names a new one.
`synthesize(..., give_sigma=True)` hands oracles the noise level of each iterate.
"""

from .flow import ProbabilityFlow, karras_sigmas
from .inverse import InverseProblem, solve
from .noise_grid import NoiseGrid, kamb_ganguli
from .operators import (
                        BlockAverage,
                        Operator,
                        PixelMask,
                        RandomProjection,
                        SpectralLowPass,
                        box_inpainting,
                        make_operator,
                        random_pixels,
)
from .result import SampleResult
from .sampler import Synthesis, resolve_seeds, run_ascent, synthesize, synthesize_budget
from .schedule import (
                       PRESETS,
                       FixedBudget,
                       Schedule,
                       ideal_steps,
                       preset,
                       register_sampler,
                       step_size,
)

__all__ = ["PRESETS", "BlockAverage", "FixedBudget", "InverseProblem", "NoiseGrid", "Operator",
           "PixelMask", "ProbabilityFlow", "RandomProjection", "SampleResult", "Schedule",
           "SpectralLowPass", "Synthesis", "box_inpainting", "ideal_steps", "kamb_ganguli",
           "karras_sigmas", "make_operator", "preset", "random_pixels", "register_sampler",
           "resolve_seeds", "run_ascent", "solve", "step_size", "synthesize", "synthesize_budget"]


def __getattr__(name):
    if name == "Algorithm1":  # deprecated until 0.2: now Schedule
        from . import schedule

        return schedule.Algorithm1
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
