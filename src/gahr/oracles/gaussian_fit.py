"""The Gaussian (Wiener) denoiser of a training set's empirical mean and covariance.

Li, Zhang, Chen, Ji and Qu, "Understanding generalizability of diffusion models requires
rethinking the hidden Gaussian structure" (NeurIPS 2024): in the generalization regime, trained
diffusion denoisers are close to the linear MMSE denoiser of the Gaussian N(mu, Sigma) fitted to
the training images, mu = (1/N) sum_n x_n, Sigma = (1/N) sum_n (x_n - mu)(x_n - mu)^T. With
Sigma = U diag(lambda) U^T,

    x_hat(y) = mu + Sigma (Sigma + sigma^2 I)^-1 (y - mu)
             = mu + U diag(lambda / (lambda + sigma^2)) U^T (y - mu),

the linear baseline next to the memorizing `EmpiricalOracle` and the patch-mosaic
`LocalEmpiricalOracle`. Unlike `GaussianOracle` the covariance is not assumed stationary: its
eigenbasis is the training set's principal components, not the Fourier basis.

Blind version (sigma=None): the ML noise level of y ~ N(mu, Sigma + sigma^2 I), the root
computed as in `GaussianOracle` with the coefficients c = U^T (y - mu) and variances lambda.
"""

import torch
from torch import nn

from ..errors import ConfigError, ShapeError
from .empirical import check_train_images
from .gaussian import ml_noise_variance
from .noise_level import noise_variances

MAX_DIM = 16384  # a float64 covariance of 2 GiB
_LAMBDA_FLOOR = 1e-12  # N < D leaves zero eigenvalues; the ML root needs them > 0


class GaussianFitOracle(nn.Module):
    """Wiener denoiser of N(mu, Sigma) fitted to `train_images` (N, C, H, W), N >= 2.

    Holds Sigma's eigendecomposition, D x D float64 (D = C H W <= 16384): 8 MiB at 32 x 32,
    fitted in O(N D^2 + D^3). `sigma=None` makes it blind (ML sigma per image).
    """

    def __init__(self, train_images: torch.Tensor, sigma: float | None = None):
        super().__init__()
        check_train_images(train_images)
        N, D = train_images.shape[0], train_images[0].numel()
        if N < 2:
            raise ConfigError("a covariance needs N >= 2 training images; pass more images")
        if D > MAX_DIM:
            raise ConfigError(f"images of {D} values need a {8 * D * D / 2**30:.1f} GiB "
                              f"covariance (at most {MAX_DIM} values); downsample them, or use "
                              f"GaussianOracle with a power spectrum")
        if sigma is not None and not sigma > 0:
            raise ConfigError(f"sigma={sigma} must be > 0 (or None for the blind oracle)")
        self.shape = tuple(train_images.shape[1:])
        self.sigma = sigma
        x = train_images.detach().flatten(1).double()
        mean = x.mean(0)
        centred = x - mean
        lam, U = torch.linalg.eigh(centred.T @ centred / N)
        self.register_buffer("mean", mean)
        self.register_buffer("eigenvalues", lam.clamp_min(_LAMBDA_FLOOR))
        self.register_buffer("basis", U)

    @property
    def dim(self) -> int:
        return self.mean.numel()

    def forward(self, y: torch.Tensor, sigma=None) -> torch.Tensor:
        """x_hat(y) = mu + U diag(lambda / (lambda + sigma^2)) U^T (y - mu), at `sigma` (one,
        or one per image) when given, else at this oracle's or the ML sigma of each image."""
        c = self._coefficients(y)
        s2 = self._s2(c) if sigma is None else noise_variances(sigma, len(c), c.device)
        return self._synthesize(c * self.eigenvalues / (self.eigenvalues + s2[:, None]), y)

    def wiener(self, y: torch.Tensor, sigma: float) -> torch.Tensor:
        """The estimate at a known sigma (whatever this oracle's own sigma)."""
        c = self._coefficients(y)
        gain = self.eigenvalues / (self.eigenvalues + float(sigma) ** 2)
        return self._synthesize(c * gain, y)

    def estimate_sigma(self, y: torch.Tensor) -> torch.Tensor:
        """The noise level used for each image (B,): the given sigma, or the ML estimate."""
        return self._s2(self._coefficients(y)).sqrt().to(y.dtype)

    def mse(self, sigma: float) -> float:
        """Per-pixel MSE of the known-sigma estimate under the fitted prior (its MMSE):
        (1/D) sum_k lambda_k sigma^2 / (lambda_k + sigma^2)."""
        s2 = float(sigma) ** 2
        return float((self.eigenvalues * s2 / (self.eigenvalues + s2)).mean())

    def jacobian(self, sigma: float) -> torch.Tensor:
        """The (D, D) Jacobian at a known sigma, U diag(lambda / (lambda + sigma^2)) U^T:
        its eigenvectors are the training set's principal components."""
        gain = self.eigenvalues / (self.eigenvalues + float(sigma) ** 2)
        return (self.basis * gain) @ self.basis.T

    def _coefficients(self, y: torch.Tensor) -> torch.Tensor:
        if y.dim() != 4 or tuple(y.shape[1:]) != self.shape:
            dims = ", ".join(map(str, self.shape))
            raise ShapeError(f"the fitted Gaussian oracle holds {self.shape} images, got "
                             f"{tuple(y.shape)}; pass (B, {dims})")
        return (y.flatten(1).double() - self.mean) @ self.basis

    def _synthesize(self, c: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (self.mean + c @ self.basis.T).view(y.shape).to(y.dtype)

    def _s2(self, c: torch.Tensor) -> torch.Tensor:
        if self.sigma is not None:
            return torch.full(c.shape[:1], float(self.sigma) ** 2, dtype=c.dtype,
                              device=c.device)
        return ml_noise_variance(c.square(), self.eigenvalues)
