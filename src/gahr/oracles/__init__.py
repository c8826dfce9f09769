"""Closed-form denoisers: blind like the nets, exact, for tests and baselines.

`GaussianOracle`: the MMSE denoiser of a stationary Gaussian prior (Wiener filter at the ML
noise level). `EmpiricalOracle`: the MMSE denoiser of the empirical distribution of a finite
training set, the denoiser that memorizes perfectly. `LocalEmpiricalOracle`: its local (LS) and
equivariant local (ELS) versions, posterior means over training patches (Kamb & Ganguli 2025).
`GaussianFitOracle`: the Wiener denoiser of the training set's empirical mean and covariance,
the linear baseline (Li et al. 2024).
"""

from .empirical import EmpiricalOracle
from .gaussian import GaussianOracle, power_law
from .gaussian_fit import GaussianFitOracle
from .local import LocalEmpiricalOracle

__all__ = ["EmpiricalOracle", "GaussianFitOracle", "GaussianOracle", "LocalEmpiricalOracle",
           "power_law"]
