"""Fractional integration of white noise on a periodic grid, and the spectra that check it.

A Gaussian white noise w on a periodic grid of shape (L_1, ..., L_d) is fractionally integrated
to order `order` by scaling its discrete Fourier transform:

    x = F^{-1}( |k|^{-order} F(w) ) / c,      |k| = sqrt(k_1^2 + ... + k_d^2),

with k the integer frequencies (cycles per period). The zero frequency gets the weight of |k| = 1
(as in the paper's code), so the mean of x is random too, and c = sqrt(mean_k |k|^{-2 order})
makes every sample of x have unit variance exactly. The expected power spectrum is then
E|X(k)|^2 proportional to |k|^{-2 order}: its log-log slope is -2 order, which the tests check.

The sample paths of such a field have Hoelder exponent order - d/2 almost surely (d = 1:
order 1 is Brownian motion, regularity 1/2); the paper names its images after the integration
order, and this package keeps that parameterization.
"""

import math

import torch

from ._util import as_generator, check_count


def fractional_filter(shape: tuple[int, ...], order: float, onesided: bool = True) -> torch.Tensor:
    """The amplitude |k|^{-order} on the DFT grid of `shape` (last axis one-sided when asked)."""
    axes = [torch.fft.fftfreq(m, d=1.0 / m, dtype=torch.float64) for m in shape[:-1]]
    last = shape[-1]
    axes.append(torch.fft.rfftfreq(last, d=1.0 / last, dtype=torch.float64) if onesided
                else torch.fft.fftfreq(last, d=1.0 / last, dtype=torch.float64))
    grids = torch.meshgrid(*axes, indexing="ij")
    radius = torch.sqrt(sum(g**2 for g in grids))
    radius.view(-1)[0] = 1.0  # the zero frequency weighs like |k| = 1
    return radius ** (-float(order))


def fractional_noise_pair(n: int, shape: tuple[int, ...], order: float,
                          seed=0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independent sets of n fields of `shape` (see `fractional_noise`), from one FFT each.

    For a complex Gaussian Z, white in frequency with E|Z|^2 = 2, sqrt(N) F^{-1}(a Z) with
    a = |k|^{-order}/c real and even in k has real and imaginary parts that are independent real
    unit white noises filtered by a (N = number of grid points). Returns float32 strided views.
    """
    check_count("n", n)
    shape = tuple(int(m) for m in shape)
    generator = as_generator(seed)
    amplitude = fractional_filter(shape, order, onesided=False)
    amplitude = amplitude / amplitude.pow(2).mean().sqrt()
    # real randn pairs viewed as complex: cheaper than complex randn, the same distribution
    white = torch.view_as_complex(torch.randn((n, *shape, 2), generator=generator))
    white *= (amplitude * math.sqrt(math.prod(shape))).to(torch.float32)
    fields = torch.fft.ifftn(white, dim=tuple(range(1, len(shape) + 1)))
    return fields.real, fields.imag


def fractional_noise(n: int, shape: tuple[int, ...], order: float, seed=0) -> torch.Tensor:
    """n fields of `shape`: Gaussian white noise fractionally integrated to `order`, unit variance.

    Returns float32 (n, *shape). The normalization c^2 = mean over the DFT grid of
    |k|^{-2 order} gives Var x_t = 1 for every t (Parseval).
    """
    first, second = fractional_noise_pair((check_count("n", n) + 1) // 2, shape, order, seed)
    return torch.cat((first, second))[:n].contiguous()


def power_spectrum_1d(signals: torch.Tensor) -> torch.Tensor:
    """Mean periodogram |X(k)|^2 / L over a batch (B, L) of signals, k = 0..L/2."""
    signals = signals.to(torch.float64)
    spectrum = torch.fft.rfft(signals, dim=-1).abs().pow(2) / signals.shape[-1]
    return spectrum.mean(dim=0)


def radial_power_spectrum(fields: torch.Tensor) -> torch.Tensor:
    """Mean 2-D periodogram averaged over rings round(|k|) = 0..min(H, W)//2 of (B, H, W) fields."""
    fields = fields.to(torch.float64)
    height, width = fields.shape[-2:]
    power = torch.fft.fft2(fields).abs().pow(2).mean(dim=0) / (height * width)
    radius = fractional_filter((height, width), -1.0, onesided=False)  # |k|, DC set to 1
    radius.view(-1)[0] = 0.0
    rings = radius.round().long().view(-1)
    top = min(height, width) // 2
    keep = rings <= top
    values = power.view(-1)[keep]
    total = torch.zeros(top + 1, dtype=torch.float64).index_add_(0, rings[keep], values)
    count = torch.zeros(top + 1, dtype=torch.float64).index_add_(
        0, rings[keep], torch.ones_like(values))
    return total / count


def loglog_slope(spectrum: torch.Tensor, k_min: int, k_max: int) -> float:
    """Least-squares slope of log spectrum[k] against log k for k_min <= k <= k_max."""
    k = torch.arange(k_min, k_max + 1, dtype=torch.float64)
    log_k, log_p = k.log(), spectrum[k_min:k_max + 1].to(torch.float64).log()
    log_k = log_k - log_k.mean()
    return float((log_k * (log_p - log_p.mean())).sum() / (log_k**2).sum())


def spectrum_slope_2d(fields: torch.Tensor, k_min: float, k_max: float) -> float:
    """Least-squares slope of log mean periodogram against log |k| over single frequencies.

    Fitting the frequencies one by one (not ring averages) keeps E|X(k)|^2 = c |k|^{-2 order}
    exact at every point of the fit, so a fractional field gives slope -2 order without bias.
    """
    fields = fields.to(torch.float64)
    power = torch.fft.fft2(fields).abs().pow(2).mean(dim=0).view(-1)
    radius = fractional_filter(tuple(fields.shape[-2:]), -1.0, onesided=False).view(-1)
    band = (radius >= k_min) & (radius <= k_max)
    radius.view(-1)[0] = 0.0
    band &= radius > 0
    log_k, log_p = radius[band].log(), power[band].log()
    log_k = log_k - log_k.mean()
    return float((log_k * (log_p - log_p.mean())).sum() / (log_k**2).sum())
