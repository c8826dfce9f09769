"""Radially averaged power spectra, to compare samples with a known (Gaussian) prior."""

import torch

from ..errors import ShapeError


def radial_bands(H: int, W: int, n_bands: int = 8) -> torch.Tensor:
    """Band index (H, W) in fft2 order: |f| in cycles/pixel cut into n_bands equal-width rings
    from 0 to the largest |f| on the grid."""
    radius = (torch.fft.fftfreq(H)[:, None] ** 2 + torch.fft.fftfreq(W)[None, :] ** 2).sqrt()
    edges = torch.linspace(0, float(radius.max()) * (1 + 1e-9), n_bands + 1)
    return (torch.bucketize(radius, edges, right=True) - 1).clamp(0, n_bands - 1)


def band_power(images: torch.Tensor, mean, n_bands: int = 8) -> torch.Tensor:
    """Mean |F(x - mean)|^2 (orthonormal DFT) over the images, channels and the frequencies of
    each radial band, (n_bands,) float64; for a stationary prior it estimates the band's mean P."""
    if images.dim() != 4:
        raise ShapeError(f"band_power takes (N, C, H, W) images, got {tuple(images.shape)}")
    H, W = images.shape[-2:]
    c = torch.fft.fft2(images.double() - torch.as_tensor(mean, dtype=torch.float64), norm="ortho")
    power = (c.real**2 + c.imag**2).mean(dim=(0, 1))
    return band_mean(power, n_bands)


def band_mean(values: torch.Tensor, n_bands: int = 8) -> torch.Tensor:
    """Mean of an (H, W) or (C, H, W) per-frequency array over each radial band."""
    H, W = values.shape[-2:]
    bands = radial_bands(H, W, n_bands).flatten()
    flat = values.double().reshape(-1, H * W).mean(0)
    total = torch.zeros(n_bands, dtype=torch.float64).index_add(0, bands, flat)
    return total / torch.bincount(bands, minlength=n_bands).double()


def noise_level(oracle, sigma_eff) -> torch.Tensor:
    """The true noise level s behind an effective noise sigma_eff = |x_hat(y) - y| / sqrt(D)
    under a Gaussian prior: E|d|^2 / D = mean_k s^4 / (P_k + s^2) for y ~ N(mu, C + s^2 I),
    solved for s (the left side increases with s). sigma_eff <= s, with equality for white P."""
    P = oracle.spectrum.flatten().double()
    target = torch.as_tensor(sigma_eff, dtype=torch.float64).reshape(-1, 1) ** 2
    lo, hi = torch.zeros_like(target), target.sqrt() + P.max().sqrt() + 1.0
    for _ in range(80):
        mid = (lo + hi) / 2
        below = (mid**4 / (P + mid**2)).mean(-1, keepdim=True) < target
        lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
    return ((lo + hi) / 2).flatten()


def expected_band_power(oracle, final_sigmas, n_bands: int = 8) -> torch.Tensor:
    """Band power of Gaussian-prior samples whose last iterate had effective noise
    `final_sigmas` (one per sample) and was Wiener-denoised: P^2 / (P + s^2), s = noise_level,
    averaged over the samples."""
    P = oracle.spectrum.double()
    s2 = noise_level(oracle, final_sigmas) ** 2
    per_sample = torch.stack([band_mean(P**2 / (P + v), n_bands) for v in s2.tolist()])
    return per_sample.mean(0)


def spectral_error(samples: torch.Tensor, oracle, final_sigmas, n_bands: int = 8) -> float:
    """RMS over radial bands of log(measured / expected band power) for samples of a Gaussian
    prior; the expectation accounts for the final denoising (`expected_band_power`), so what is
    left is the sampler's error (discretization, non-convergence) plus sampling noise."""
    expected = expected_band_power(oracle, final_sigmas, n_bands)
    measured = band_power(samples, oracle.mean, n_bands)
    return float(((measured / expected).log() ** 2).mean().sqrt())
