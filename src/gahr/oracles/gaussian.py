"""The blind MMSE denoiser of a stationary Gaussian prior, in closed form.

Prior x ~ N(mu, C) with C diagonal in the orthonormal 2-D Fourier basis F: C = F* diag(P) F,
P the power spectrum (one value per frequency and channel). For y = x + sigma z:

- marginal y ~ N(mu, F* diag(P + sigma^2) F), so with c = F(y - mu) the log-likelihood of the
  noise variance s2 = sigma^2 is L(s2) = -1/2 sum_k [|c_k|^2 / (P_k + s2) + log(P_k + s2)];
- the MMSE (Wiener) estimate at known sigma is x_hat = mu + F* diag(P / (P + sigma^2)) F (y - mu),
  with per-pixel error MSE(sigma) = (1/D) sum_k P_k sigma^2 / (P_k + sigma^2).

The oracle is blind like the nets: it estimates sigma by maximum likelihood, then applies the
Wiener filter. Everything runs in float64 internally and works under `torch.func` (jvp, jacfwd,
vmap): the ML root is bracketed on detached values and then refined by one differentiable
Newton step, so derivatives through sigma_hat(y) are those of the implicit function theorem.
"""

import math
from collections.abc import Callable

import torch
from torch import nn

from ..errors import ConfigError, ShapeError
from .noise_level import noise_variances

Spectrum = Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | torch.Tensor

_BISECTION_STEPS = 16
_NEWTON_STEPS = 3
_S2_FLOOR = 1e-14


def power_law(exponent: float = 2.0, pixel_variance: float = 0.04,
              f0: float = 1 / 32) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A spectrum P(f) proportional to 1 / (f0^2 + |f|^2)^(exponent/2), natural-image-like for
    exponent 2, scaled so that the per-pixel prior variance mean_k P_k equals `pixel_variance`.

    Frequencies f are in cycles per pixel (as `torch.fft.fftfreq` gives them).
    """
    if pixel_variance <= 0 or f0 <= 0:
        raise ConfigError(f"power_law: pixel_variance={pixel_variance} and f0={f0} must be > 0")

    def spectrum(fy: torch.Tensor, fx: torch.Tensor) -> torch.Tensor:
        p = (f0**2 + fy**2 + fx**2) ** (-exponent / 2)
        return p * (pixel_variance / p.mean())

    return spectrum


class GaussianOracle(nn.Module):
    """Blind MMSE denoiser of the stationary Gaussian prior N(mean, F* diag(P) F).

    `power_spectrum`: a function `P(fy, fx)` of frequency grids (cycles/pixel, shape (H, W)),
    or a tensor of shape (H, W) or (C, H, W) in `torch.fft.fft2` order. It must be >= 0 and
    even, P(k) = P(-k), so that C is a real covariance. `shape` is (C, H, W); `mean` is a
    scalar or a tensor broadcastable to `shape`.
    """

    def __init__(self, power_spectrum: Spectrum, shape: tuple[int, int, int],
                 mean: float | torch.Tensor = 0.0):
        super().__init__()
        if len(shape) != 3 or min(shape) < 1:
            raise ShapeError(f"shape={tuple(shape)} must be (C, H, W) with positive sizes")
        self.shape = tuple(int(s) for s in shape)
        spectrum = _spectrum_tensor(power_spectrum, self.shape)
        self.register_buffer("spectrum", spectrum)
        mean = torch.as_tensor(mean, dtype=torch.float64)
        try:
            mean = torch.broadcast_to(mean, self.shape).clone()
        except RuntimeError:
            raise ShapeError(f"mean of shape {tuple(mean.shape)} does not broadcast to "
                             f"{self.shape}; pass a scalar or a (C, H, W) tensor") from None
        self.register_buffer("mean", mean)

    @property
    def dim(self) -> int:
        return self.spectrum.numel()

    def forward(self, y: torch.Tensor, sigma=None) -> torch.Tensor:
        """The blind estimate: Wiener filter at the maximum-likelihood sigma of each image, or
        at `sigma` (one, or one per image) when given."""
        if sigma is not None:
            self._check(y)
            return self._wiener_s2(y, noise_variances(sigma, len(y), y.device).view(-1, 1, 1, 1))
        # Filter with s2 itself: sqrt has no derivative at s2 = 0, where the ML estimate often is.
        return self._wiener_s2(y, self._estimate_s2(y).view(-1, 1, 1, 1))

    def wiener(self, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        """x_hat = mu + F* diag(P / (P + sigma^2)) F (y - mu); sigma a scalar or one per image."""
        self._check(y)
        return self._wiener_s2(y, _per_image(sigma, y.shape[0], y.device) ** 2)

    def _wiener_s2(self, y: torch.Tensor, s2: torch.Tensor) -> torch.Tensor:
        c = torch.fft.fft2(y.double() - self.mean, norm="ortho")
        gain = self.spectrum / (self.spectrum + s2)
        return (self.mean + torch.fft.ifft2(gain * c, norm="ortho").real).to(y.dtype)

    def estimate_sigma(self, y: torch.Tensor) -> torch.Tensor:
        """Maximum-likelihood sigma of each image (B,): the root of dL/ds2 = 0.

        dL/ds2 = 1/2 g(s2), g(s2) = sum_k |c_k|^2 / (P_k + s2)^2 - 1 / (P_k + s2). g < 0 for
        s2 >= max |c_k|^2, so a root is bracketed; when g(0) <= 0 the ML estimate is 0.
        """
        return self._estimate_s2(y).sqrt().to(y.dtype)

    def _estimate_s2(self, y: torch.Tensor) -> torch.Tensor:
        self._check(y)
        c2 = _power(torch.fft.fft2(y.double() - self.mean, norm="ortho")).flatten(1)
        return ml_noise_variance(c2, self.spectrum.flatten())

    def mse(self, sigma: float) -> float:
        """Exact per-pixel MSE of the known-sigma Wiener estimate (the MMSE at sigma)."""
        s2 = float(sigma) ** 2
        return float((self.spectrum * s2 / (self.spectrum + s2)).mean())

    def jacobian(self, sigma: float) -> torch.Tensor:
        """The (D, D) Jacobian of the known-sigma Wiener estimate, F* diag(P/(P+sigma^2)) F.

        Symmetric; its eigenvectors are the Fourier basis, its eigenvalues P / (P + sigma^2).
        """
        basis = torch.eye(self.dim, dtype=torch.float64, device=self.spectrum.device)
        gain = self.spectrum / (self.spectrum + float(sigma) ** 2)
        return _filter(basis.view(-1, *self.shape), gain).reshape(self.dim, self.dim)

    def jacobian_at(self, y: torch.Tensor) -> torch.Tensor:
        """The exact Jacobian of the blind oracle at each image, (B, D, D), float64.

        J = W(s2) + v u^T (implicit function theorem on the ML root): W the Wiener filter at the
        estimated s2, v = dx_hat/ds2 = -F* [P c / (P + s2)^2], u = ds2/dy = -2 F*[c/(P+s2)^2] / g'.
        """
        self._check(y)
        s2 = self._estimate_s2(y).detach()
        c = torch.fft.fft2(y.double() - self.mean, norm="ortho")
        P = self.spectrum
        s2b = s2.view(-1, 1, 1, 1)
        v = torch.fft.ifft2(-P * c / (P + s2b) ** 2, norm="ortho").real.flatten(1)
        _, dg = _score(_power(c).flatten(1), P.flatten(), s2)
        u = torch.fft.ifft2(-2 * c / (P + s2b) ** 2, norm="ortho").real.flatten(1) / dg[:, None]
        # Where the ML estimate sits on its boundary s2 = 0 it is locally constant: no v u^T.
        at_zero = _score(_power(c).flatten(1), P.flatten(), torch.zeros_like(s2))[0] <= 0
        u = torch.where(at_zero[:, None], torch.zeros_like(u), u)
        W = torch.stack([self.jacobian(float(s) ** 0.5) for s in s2])
        return W + v[:, :, None] * u[:, None, :]

    def covariance(self) -> torch.Tensor:
        """The dense (D, D) prior covariance C = F* diag(P) F (float64)."""
        basis = torch.eye(self.dim, dtype=torch.float64, device=self.spectrum.device)
        return _filter(basis.view(-1, *self.shape), self.spectrum).reshape(self.dim, self.dim)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n exact prior samples mu + F* diag(sqrt(P)) F z, float32 (n, C, H, W)."""
        z = torch.randn(n, *self.shape, generator=generator, dtype=torch.float64,
                        device=self.spectrum.device)
        return (self.mean + _filter(z, self.spectrum.sqrt())).float()

    def _check(self, y: torch.Tensor) -> None:
        if y.dim() != 4 or tuple(y.shape[1:]) != self.shape:
            dims = ", ".join(map(str, self.shape))
            raise ShapeError(f"the Gaussian oracle was built for (B, {dims}) images, got "
                             f"{tuple(y.shape)}; build it with shape=y.shape[1:]")


def ml_noise_variance(c2: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """The ML noise variance s2 (B,) of y ~ N(mu, C + s2 I), from the squared coefficients
    c2 = |c_k|^2 (B, D) of y - mu in an orthonormal eigenbasis of C with eigenvalues P (D,):
    the root of g (see `_score`), or 0 where g(0) <= 0. Differentiable in c2 (one Newton step
    from the detached root: same value, derivative of the implicit root)."""
    s2 = _bisect_root(c2.detach(), P)
    g, dg = _score(c2, P, s2)
    refined = (s2 - g / dg).clamp_min(0.0)
    at_zero = _score(c2.detach(), P, torch.zeros_like(s2))[0] <= 0
    return torch.where(at_zero, torch.zeros_like(refined), refined)


def _filter(x: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
    """F* diag(gain) F x for real x and an even gain (the result is real)."""
    return torch.fft.ifft2(gain * torch.fft.fft2(x, norm="ortho"), norm="ortho").real


def _power(c: torch.Tensor) -> torch.Tensor:
    """|c|^2, written so that its derivative exists at c = 0 (unlike abs)."""
    return c.real**2 + c.imag**2


def _score(c2: torch.Tensor, P: torch.Tensor, s2: torch.Tensor):
    """g(s2) = sum_k c2_k/(P_k+s2)^2 - 1/(P_k+s2) and its derivative, per image."""
    inv = 1 / (P + s2[:, None])
    a = c2 * inv
    g = (inv * (a - 1)).sum(-1)
    dg = (inv * inv * (1 - 2 * a)).sum(-1)
    return g, dg


def _g(c2: torch.Tensor, P: torch.Tensor, s2: torch.Tensor) -> torch.Tensor:
    """g(s2) alone, for the bisection."""
    inv = (P + s2[:, None]).reciprocal()
    return (inv * (c2 * inv - 1)).sum(-1)


def _bisect_root(c2: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """A root of g: bisection in log(s2) to relative width ~1e-3, then Newton steps kept inside
    the bracket (quadratic convergence); fixed step counts, no data-dependent control flow."""
    hi = (c2.max(-1).values + P.max()).log() + 1.0
    lo = torch.full_like(hi, math.log(_S2_FLOOR))
    for _ in range(_BISECTION_STEPS):
        mid = (lo + hi) / 2
        positive = _g(c2, P, mid.exp()) > 0
        lo, hi = torch.where(positive, mid, lo), torch.where(positive, hi, mid)
    s2 = ((lo + hi) / 2).exp()
    for _ in range(_NEWTON_STEPS):
        g, dg = _score(c2, P, s2)
        new = s2 - g / dg
        inside = (new >= lo.exp()) & (new <= hi.exp())
        s2 = torch.where(inside, new, s2)
    return s2


def _per_image(sigma, batch: int, device) -> torch.Tensor:
    s = torch.as_tensor(sigma, dtype=torch.float64, device=device)
    if s.dim() == 0:
        return s
    if s.numel() != batch:
        raise ShapeError(f"{s.numel()} sigmas for {batch} images; give one sigma or one per image")
    return s.double().view(-1, 1, 1, 1)


def _spectrum_tensor(power_spectrum: Spectrum, shape: tuple[int, int, int]) -> torch.Tensor:
    C, H, W = shape
    if callable(power_spectrum):
        fy = torch.fft.fftfreq(H, dtype=torch.float64)[:, None].expand(H, W)
        fx = torch.fft.fftfreq(W, dtype=torch.float64)[None, :].expand(H, W)
        P = torch.as_tensor(power_spectrum(fy, fx), dtype=torch.float64)
    else:
        P = torch.as_tensor(power_spectrum, dtype=torch.float64)
    if P.shape == (H, W):
        P = P.expand(C, H, W)
    if P.shape != (C, H, W):
        raise ShapeError(f"power spectrum of shape {tuple(P.shape)}; give (H, W) or (C, H, W) = "
                         f"{(H, W)} or {shape} values in torch.fft.fft2 order")
    P = P.clone()
    if not torch.isfinite(P).all() or (P < 0).any():
        raise ConfigError("the power spectrum must be finite and >= 0 at every frequency")
    mirrored = torch.roll(P.flip(-2, -1), shifts=(1, 1), dims=(-2, -1))  # P(-k)
    if not torch.allclose(P, mirrored, rtol=1e-6, atol=1e-12 * float(P.max())):
        raise ConfigError("the power spectrum is not even (P(k) != P(-k)), so it is not the "
                          "spectrum of a real image; symmetrize it as (P(k) + P(-k)) / 2")
    return P
