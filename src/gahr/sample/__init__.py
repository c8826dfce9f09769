"""Sampling from the prior implicit in a denoiser, and linear inverse problems with it.

`synthesize` (Algorithm 1 of Kadkhodaie & Simoncelli, 2021, batched, per-sample seeds),
`synthesize_budget` (a fixed number of steps), `solve` (linear inverse problems through
measurement operators `measure` = M^T, `lift` = M with M^T M = I).
"""

from .result import SampleResult
from .sampler import resolve_seeds, run_ascent, synthesize, synthesize_budget
from .schedule import PRESETS, Algorithm1, FixedBudget, ideal_steps, step_size

__all__ = ["PRESETS", "Algorithm1", "FixedBudget", "SampleResult", "ideal_steps",
           "resolve_seeds", "run_ascent", "step_size", "synthesize", "synthesize_budget"]
