"""Closed-form denoisers: blind like the nets, exact, for tests and baselines.

`GaussianOracle`: the MMSE denoiser of a stationary Gaussian prior (Wiener filter at the ML
noise level). `EmpiricalOracle`: the MMSE denoiser of the empirical distribution of a finite
training set, the denoiser that memorizes perfectly. `LocalEmpiricalOracle`: its local (LS) and
equivariant local (ELS) versions, posterior means over training patches (Kamb & Ganguli 2025),
with circular, zero or boundary-broken ("broken", the model of zero-padded nets) borders.
`GaussianFitOracle`: the Wiener denoiser of the training set's empirical mean and covariance,
the linear baseline (Li et al. 2024). `PatchSizeSchedule`: a local machine whose patch size
follows the noise level (calibrated against a net, `gahr compare --calibrate`).

Every oracle takes `forward(y, sigma=None)`: a noise level (one, or one per image) given at the
call wins over the oracle's own (fixed or blind), see `noise_level`.
"""

from .empirical import EmpiricalOracle
from .gaussian import GaussianOracle, power_law
from .gaussian_fit import GaussianFitOracle
from .local import BOUNDARIES, LocalEmpiricalOracle
from .local_schedule import PatchSizeSchedule
from .noise_level import noise_variances

__all__ = ["BOUNDARIES", "EmpiricalOracle", "GaussianFitOracle", "GaussianOracle",
           "LocalEmpiricalOracle", "PatchSizeSchedule", "noise_variances", "power_law"]
