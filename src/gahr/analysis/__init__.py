"""Looking inside a denoiser and at what it generates; nothing here trains.

- Jacobian eigenbasis (`jacobian`, `eigen`, `effective_dimension`, `effective_dimension_curve`):
  the geometry-adaptive harmonic basis of paper Sec. 3.
- Optimality (`mse_curve`, `fit_loglog_slope`, `optimal_mse_slope`, `wavelet_mse_curve`,
  `disc_analysis`, `tangent_space`, `principal_angles`): C^alpha images and discs, Sec. 4.
- Medians with percentile-bootstrap intervals (`bootstrap_interval`, `Interval`).
- Memorization (`nearest_neighbors`, `same_seed_similarity`, `cosine_similarity`,
  `ratio_test_fraction`, `fraction_above`, `distance_to_memorization`, `train_test_gap`);
  the train/test gap across image sizes (`gahr.analysis.sizes`).
- Agreement with analytic models (`agreement`, `agreement_at`, `denoiser_agreement`,
  `calibrate_patch_size`, `sample_correlation`, `pixel_sample`): how closely an oracle of
  `gahr.oracles` explains a net's outputs and samples (`gahr compare`).
The jobs that run these and write files (the memorization experiment, `gahr eigen`, `gahr
optimality`) are in `gahr.workflows`.
"""

from .agreement import (
    agreement,
    agreement_at,
    calibrate_patch_size,
    denoiser_agreement,
    pixel_sample,
    sample_correlation,
)
from .bootstrap import Interval, bootstrap_interval
from .disc_manifold import disc_analysis, principal_angles, tangent_space
from .eigen import (
    EffectiveDimension,
    Eigenbasis,
    effective_dimension,
    effective_dimension_curve,
    eigen,
)
from .jacobian import jacobian, jacobian_rowwise
from .memorization import (
    cosine_similarity,
    distance_to_memorization,
    fraction_above,
    nearest_neighbors,
    patch_nearest_neighbors,
    ratio_test_fraction,
    same_seed_similarity,
    train_test_gap,
)
from .optimality import (
    fit_loglog_slope,
    mse_curve,
    optimal_mse_slope,
    psnr_slope,
    wavelet_mse_curve,
)

__all__ = [
    "EffectiveDimension", "Eigenbasis", "Interval", "agreement", "agreement_at",
    "bootstrap_interval", "calibrate_patch_size", "cosine_similarity", "denoiser_agreement",
    "disc_analysis", "pixel_sample", "sample_correlation",
    "distance_to_memorization", "effective_dimension", "effective_dimension_curve", "eigen",
    "fit_loglog_slope", "fraction_above", "jacobian", "jacobian_rowwise", "mse_curve",
    "nearest_neighbors", "optimal_mse_slope", "patch_nearest_neighbors", "principal_angles",
    "psnr_slope", "ratio_test_fraction", "same_seed_similarity", "tangent_space",
    "train_test_gap", "wavelet_mse_curve",
]
