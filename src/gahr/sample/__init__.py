"""Sampling from the prior implicit in a denoiser, and linear inverse problems with it.

`synthesize` (Algorithm 1 of Kadkhodaie & Simoncelli, 2021, batched, per-sample seeds),
`synthesize_budget` (a fixed number of steps), `solve` (linear inverse problems through
measurement operators `measure` = M^T, `lift` = M with M^T M = I).
"""

from .inverse import InverseProblem, solve
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
from .schedule import PRESETS, Algorithm1, FixedBudget, ideal_steps, step_size

__all__ = ["PRESETS", "Algorithm1", "BlockAverage", "FixedBudget", "InverseProblem", "Operator",
           "PixelMask", "RandomProjection", "SampleResult", "SpectralLowPass", "Synthesis",
           "box_inpainting", "ideal_steps", "make_operator", "random_pixels", "resolve_seeds",
           "run_ascent", "solve", "step_size", "synthesize", "synthesize_budget"]
