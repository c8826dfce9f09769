"""The MMSE denoiser of the empirical distribution of a finite training set: perfect memorization.

For p(x) = (1/N) sum_n delta(x - x_n) and y = x + sigma z, the posterior over the training images
is w_n(y) = softmax_n(-|y - x_n|^2 / (2 sigma^2)), so

    x_hat(y) = E[x | y] = sum_n w_n(y) x_n,    dx_hat/dy = Cov[x | y] / sigma^2

(the second identity is Tweedie's/Miyasawa's, differentiated once more). Every output is a convex
combination of training images, and as sigma -> 0 it is the nearest training image: this is the
denoiser that the paper's N = 1 and N = 10 models approximate.

Blind version: sigma is the maximum-likelihood noise level of the mixture
p(y | sigma) = (1/N) sum_n N(y; x_n, sigma^2 I), the fixed point of the EM update
sigma^2 <- sum_n w_n(y; sigma) |y - x_n|^2 / D.
"""

import torch
from torch import nn

from ..errors import ConfigError, ShapeError
from .noise_level import noise_variances

_EM_STEPS = 12
_NEWTON_STEPS = 4
_MIN_S2 = 1e-20


class EmpiricalOracle(nn.Module):
    """MMSE denoiser of the empirical distribution of `train_images` (N, C, H, W).

    `sigma=None` makes it blind (ML sigma per image). Distances and the weighted sum run over
    chunks of `chunk_size` training images in float64, so 10^4 images of 32x32 need no more
    than one chunk in float64 at a time. Works under `torch.func` (no in-place ops; the EM
    fixed point is found on detached values, then refined by one differentiable Newton step).
    """

    def __init__(self, train_images: torch.Tensor, sigma: float | None = None,
                 chunk_size: int = 1024):
        super().__init__()
        check_train_images(train_images)
        if sigma is not None and not sigma > 0:
            raise ConfigError(f"sigma={sigma} must be > 0 (or None for the blind oracle)")
        if chunk_size < 1:
            raise ConfigError(f"chunk_size={chunk_size} must be >= 1")
        self.shape = tuple(train_images.shape[1:])
        self.sigma = sigma
        self.chunk_size = int(chunk_size)
        x = train_images.detach().flatten(1).float()
        self.register_buffer("images", x)
        self.register_buffer("sq_norms", x.double().square().sum(-1))

    @property
    def dim(self) -> int:
        return self.images.shape[1]

    def forward(self, y: torch.Tensor, sigma=None) -> torch.Tensor:
        """x_hat(y) = sum_n w_n x_n at `sigma` (one, or one per image) when given, else at
        this oracle's sigma (or the estimated one)."""
        w = self.weights(y, sigma)
        out = sum(w[:, sl] @ self.images[sl].double() for sl in self._chunks())
        return out.view(y.shape).to(y.dtype)

    def weights(self, y: torch.Tensor, sigma=None) -> torch.Tensor:
        """Posterior probabilities w_n(y) of the training images, (B, N), float64."""
        d = self.sq_distances(y)
        s2 = self._s2(d) if sigma is None else noise_variances(sigma, len(d), d.device)
        return torch.softmax(-d / (2 * s2[:, None]), dim=-1)

    def estimate_sigma(self, y: torch.Tensor) -> torch.Tensor:
        """The noise level used for each image (B,): the given sigma, or the ML estimate."""
        return self._s2(self.sq_distances(y)).sqrt().to(y.dtype)

    def sq_distances(self, y: torch.Tensor) -> torch.Tensor:
        """|y - x_n|^2 for every image and training image, (B, N), float64, chunked."""
        if y.dim() != 4 or tuple(y.shape[1:]) != self.shape:
            raise ShapeError(f"the empirical oracle holds {self.shape} images, got "
                             f"{tuple(y.shape)}; pass (B, {', '.join(map(str, self.shape))})")
        yf = y.flatten(1).double()
        y2 = yf.square().sum(-1, keepdim=True)
        parts = [y2 - 2 * yf @ self.images[sl].double().T + self.sq_norms[sl]
                 for sl in self._chunks()]
        return torch.cat(parts, dim=-1).clamp_min(0.0)

    def jacobian(self, y: torch.Tensor) -> torch.Tensor:
        """dx_hat/dy at the fixed noise level of this oracle, (B, D, D): Cov[x | y] / sigma^2.

        Needs a non-blind oracle (the blind one adds the derivative of sigma_hat(y)).
        """
        if self.sigma is None:
            raise ConfigError("jacobian() is the fixed-sigma identity Cov[x|y]/sigma^2; build "
                              "the oracle with sigma=... or differentiate it with torch.func")
        w = self.weights(y)
        mean = self.forward(y).flatten(1).double()
        cov = sum(torch.einsum("bn,nd,ne->bde", w[:, sl], self.images[sl].double(),
                               self.images[sl].double()) for sl in self._chunks())
        return (cov - mean[:, :, None] * mean[:, None, :]) / self.sigma**2

    def _s2(self, d: torch.Tensor) -> torch.Tensor:
        if self.sigma is not None:
            return torch.full(d.shape[:1], float(self.sigma) ** 2, dtype=d.dtype, device=d.device)
        s2 = _fixed_point(d.detach(), self.dim)
        # One differentiable Newton step from the detached fixed point: same value, and the
        # derivative of the implicit fixed point.
        return _newton_step(d, s2, self.dim)

    def _chunks(self):
        N = self.images.shape[0]
        return [slice(i, min(i + self.chunk_size, N)) for i in range(0, N, self.chunk_size)]


def check_train_images(train_images: torch.Tensor) -> None:
    """A training set for an empirical oracle: finite images (N, C, H, W), N >= 1."""
    if train_images.dim() != 4 or train_images.shape[0] < 1:
        raise ShapeError(f"train_images must be (N, C, H, W) with N >= 1, got "
                         f"{tuple(train_images.shape)}")
    if not torch.isfinite(train_images).all():
        raise ConfigError("train_images contain NaN or inf; clean the data set first")


def _newton_step(d: torch.Tensor, s2: torch.Tensor, D: int) -> torch.Tensor:
    """One Newton step on h(s2) = D s2 - E_w[d], with dE_w[d]/ds2 = Var_w[d] / (2 s2^2).

    Taken only where h is increasing (the fixed point is a likelihood maximum there) and the
    step stays positive; elsewhere s2 is returned unchanged.
    """
    w = torch.softmax(-d / (2 * s2[:, None]), dim=-1)
    mean_d = (w * d).sum(-1)
    var_d = (w * (d - mean_d[:, None]) ** 2).sum(-1)
    dh = D - var_d / (2 * s2**2)
    ok = dh > 1e-3 * D
    step = (D * s2 - mean_d) / torch.where(ok, dh, torch.ones_like(dh))
    ok = ok & (s2 - step > 0)
    return torch.where(ok, s2 - step, s2).clamp_min(_MIN_S2)


def _fixed_point(d: torch.Tensor, D: int) -> torch.Tensor:
    """The ML variance: EM steps sigma^2 <- E_w[d] / D from the largest sensible value E[d]/D,
    then safeguarded Newton steps to converge quadratically.

    EM increases the likelihood at each step, so starting from above it descends to the
    largest local maximum; fixed step counts keep it free of data-dependent control flow.
    """
    s2 = (d.mean(-1) / D).clamp_min(_MIN_S2)
    for _ in range(_EM_STEPS):
        w = torch.softmax(-d / (2 * s2[:, None]), dim=-1)
        s2 = ((w * d).sum(-1) / D).clamp_min(_MIN_S2)
    for _ in range(_NEWTON_STEPS):
        s2 = _newton_step(d, s2, D)
    return s2
