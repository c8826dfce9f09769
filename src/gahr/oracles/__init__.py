"""Closed-form denoisers: blind like the nets, exact, for tests and baselines.

`GaussianOracle`: the MMSE denoiser of a stationary Gaussian prior (Wiener filter at the ML
noise level). `EmpiricalOracle`: the MMSE denoiser of the empirical distribution of a finite
training set, the denoiser that memorizes perfectly.
"""

from .empirical import EmpiricalOracle
from .gaussian import GaussianOracle, power_law

__all__ = ["EmpiricalOracle", "GaussianOracle", "power_law"]
