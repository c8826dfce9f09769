"""C^alpha images: the regularity that defines the class, and the rendering identities."""

import math

import pytest
import torch
import torch.nn.functional as F

from gahr.data.calpha_images import CONTOUR_SPREAD, blur_mask, calpha, calpha_layers, compose
from gahr.data.fractional import (
    fractional_noise,
    fractional_noise_pair,
    loglog_slope,
    power_spectrum_1d,
    spectrum_slope_2d,
)
from gahr.errors import ConfigError

SIZE, SUB = 64, 8  # antialias=3: 8 sub-columns per pixel column


def extracted_contour(layers) -> torch.Tensor:
    """The contour read back from the mask: rows minus the covered area of each column."""
    return SIZE - layers.mask.sum(dim=1)


def box_transfer(size: int, sub: int) -> torch.Tensor:
    """|H(k)| of averaging `sub` consecutive sub-columns, k = 0..size/2 (Dirichlet kernel)."""
    k = torch.arange(size // 2 + 1, dtype=torch.float64)
    h = torch.sin(torch.pi * k / size) / (sub * torch.sin(torch.pi * k / (size * sub)))
    h[0] = 1.0
    return h


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_contour_power_spectrum_slope_is_minus_two_alpha(alpha):
    """Mean power spectrum of the contours in the images decays as |k|^(-2 alpha).

    The contour is read from the rendered mask (column coverage), so the test checks the
    images, not just the noise generator. Averaging 8 sub-columns per pixel is a known linear
    filter |H(k)|^2 (divided out); the remaining 1/8-pixel quantization is ~10^4 times below the
    contour power at k <= 16 for alpha <= 2. With 512 contours each periodogram ordinate has
    relative standard deviation 1/sqrt(512) = 4.4%, and the least-squares slope over
    k = 1..16 has a standard deviation of about 0.02 (measured across seeds); 0.08 is 4 of
    them. A wrong exponent (amplitude |k|^-2alpha, or |k|^-alpha/2) is off by >= 0.5.
    """
    layers = calpha_layers(512, SIZE, alpha=alpha, antialias=3, seed=11)
    spectrum = power_spectrum_1d(extracted_contour(layers)) / box_transfer(SIZE, SUB) ** 2
    assert loglog_slope(spectrum, 1, SIZE // 4) == pytest.approx(-2 * alpha, abs=0.08)


@pytest.mark.parametrize("alpha,beta", [(1.0, 2.0), (2.0, 1.0)])
def test_background_power_spectrum_slope_is_minus_two_beta(alpha, beta):
    """Each background (rescaled per image to its intensity range) has spectrum |k|^(-2 beta).

    Fitting single frequencies keeps E|X(k)|^2 = c |k|^-2beta exact; the per-image affine
    rescaling multiplies a whole spectrum by one factor. 128 fields x ~3200 frequencies give a
    slope standard deviation below 0.01; 0.05 is generous, and alpha != beta checks that the
    backgrounds follow beta, not alpha.
    """
    layers = calpha_layers(128, SIZE, alpha=alpha, beta=beta, seed=3)
    for background in (layers.lower, layers.upper):
        assert spectrum_slope_2d(background, 1, SIZE // 2) == pytest.approx(-2 * beta, abs=0.05)


def test_contour_has_the_stated_mean_and_spread():
    """Each contour sample is size/2 + (size/8) x with Var x = 1 exactly (normalized filter).

    Samples within a contour are strongly correlated (alpha = 1), so over 250 contours the
    estimates scatter (measured over 40 seeds) with std 0.03 spread for the mean and 2% for the
    spread itself: the bounds 0.2 spread and 10% are 5 std.
    """
    layers = calpha_layers(250, SIZE, alpha=1.0, seed=5)
    spread = CONTOUR_SPREAD * SIZE
    assert layers.contour.mean().item() == pytest.approx(SIZE / 2, abs=0.2 * spread)
    assert layers.contour.std().item() == pytest.approx(spread, rel=0.1)


def test_fractional_noise_has_unit_variance_and_independent_pairs():
    """Var x_t = 1 by the normalization; real and imaginary parts are uncorrelated fields.

    The variance estimates scatter by 0.4% over seeds (measured), so 2% is 5 std; leaving out
    the zero frequency's weight would lower the 2-D variance by 11%.
    """
    first, second = fractional_noise_pair(4000, (16, 16), 1.5, seed=0)
    assert first.var().item() == pytest.approx(1.0, rel=0.02)
    assert second.var().item() == pytest.approx(1.0, rel=0.02)
    corr = (first * second).mean() / (first.std() * second.std())
    assert abs(corr.item()) < 0.02
    one_d = fractional_noise(20000, (32,), 0.7, seed=1)
    assert one_d.var().item() == pytest.approx(1.0, rel=0.02)


def test_images_are_the_composition_of_their_layers():
    images = calpha(16, 32, alpha=1.5, blur=(2, 2), seed=7)
    layers = calpha_layers(16, 32, alpha=1.5, seed=7)
    assert torch.equal(images, compose(layers, blur=(2, 2)))
    assert images.shape == (16, 1, 32, 32) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1


def test_each_image_spans_zero_to_one_with_one_bright_region():
    """One background is rescaled to [u, 1], the other to [0, v]: max 1 and min 0 per image."""
    layers = calpha_layers(64, 32, alpha=2.0, seed=2)
    both = torch.stack((layers.lower, layers.upper), dim=1).flatten(1)
    assert torch.allclose(both.amax(dim=1), torch.ones(64), atol=1e-6)
    assert torch.allclose(both.amin(dim=1), torch.zeros(64), atol=1e-6)
    bright_lower = layers.lower.amax(dim=(1, 2)) > 1 - 1e-6
    assert 10 < bright_lower.sum() < 54  # a fair coin picks the bright region (p ~ 1e-6 to fail)


@pytest.mark.parametrize("antialias", [0, 2])
def test_mask_equals_block_average_of_a_fine_hard_mask(antialias):
    """Antialiasing j is rendering at 2^j resolution with a hard edge, then averaging blocks."""
    sub, size = 2**antialias, 24
    layers = calpha_layers(8, size, alpha=1.0, antialias=antialias, seed=4)
    fine_rows = torch.arange(size * sub, dtype=torch.float32).view(1, -1, 1)
    fine = (fine_rows + 0.5 >= sub * layers.contour.unsqueeze(1)).to(torch.float32)
    expected = F.avg_pool2d(fine.unsqueeze(1), sub).squeeze(1)
    assert torch.allclose(layers.mask, expected, atol=1e-6)
    if antialias == 0:
        assert set(layers.mask.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("blur", [(2, 2), (3, 1), (1, 4), (5, 3)])
def test_blur_is_a_replicate_padded_box_average(blur):
    mask = torch.rand(3, 9, 11)
    rows, cols = blur
    padded = F.pad(mask.unsqueeze(1), (cols // 2, (cols - 1) // 2, rows // 2, (rows - 1) // 2),
                   mode="replicate")
    expected = F.avg_pool2d(padded, blur, stride=1).squeeze(1)
    assert torch.allclose(blur_mask(mask, blur), expected, atol=1e-6)


def test_same_seed_same_images_and_beta_defaults_to_alpha():
    a = calpha(5, 16, alpha=2.5, seed=3)
    assert torch.equal(a, calpha(5, 16, alpha=2.5, beta=2.5, seed=3))
    assert torch.equal(a, calpha(5, 16, alpha=2.5, seed=torch.Generator().manual_seed(3)))
    assert not torch.equal(a, calpha(5, 16, alpha=2.5, seed=4))


def test_chunked_generation_matches_a_single_chunk(monkeypatch):
    """Chunking bounds memory only: with a one-chunk limit the images are the same layers."""
    import gahr.data.calpha_images as module

    monkeypatch.setattr(module, "_CHUNK_ELEMENTS", 16 * 16 * 3)  # 3 images per chunk
    images = calpha(7, 16, alpha=1.0, seed=9)
    assert images.shape == (7, 1, 16, 16)
    generator = torch.Generator().manual_seed(9)
    first = compose(module._layers(3, 16, 1.0, 1.0, 0, generator), blur=(2, 2))
    assert torch.equal(images[:3], first)
    assert math.isfinite(images.sum().item())


@pytest.mark.parametrize("kwargs", [dict(alpha=0.0), dict(alpha=5.5), dict(beta=-1.0),
                                    dict(blur=(2,)), dict(blur=(0, 2)), dict(antialias=5),
                                    dict(size=2), dict(n=0), dict(seed=1.5)])
def test_bad_settings_raise_config_errors(kwargs):
    args = dict(n=2, size=16) | kwargs
    with pytest.raises(ConfigError):
        calpha(**args)


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [3.0, 4.0])
def test_smooth_contours_keep_their_slope_at_the_paper_size(alpha):
    """alpha = 3, 4 at 80 x 80: the slope holds where the image resolves the contour.

    A smooth contour's power falls below the 1/16-pixel quantization floor of antialias=4 beyond
    k ~ 8 (alpha = 4), so the fit uses k = 1..6; with 1024 contours the slope's standard
    deviation is ~0.03 there, and 0.15 is 5 of them.
    """
    size = 80
    layers = calpha_layers(1024, size, alpha=alpha, antialias=4, seed=0)
    contour = size - layers.mask.sum(dim=1)
    spectrum = power_spectrum_1d(contour) / box_transfer(size, 16) ** 2
    assert loglog_slope(spectrum, 1, 6) == pytest.approx(-2 * alpha, abs=0.15)


def _radial_power(images: torch.Tensor, bands: int = 8) -> torch.Tensor:
    """Mean power of the mean-removed images in `bands` radial frequency bands up to 1/2."""
    x = images[:, 0] - images.mean(dim=(-2, -1))[:, 0, None, None]
    power = torch.fft.fft2(x).abs().square().mean(0)
    f = torch.fft.fftfreq(x.shape[-1])
    radius = (f[:, None] ** 2 + f[None, :] ** 2).sqrt()
    band = (radius / 0.5 * bands).long().clamp_(max=bands - 1)
    return torch.stack([power[(band == b) & (radius <= 0.5)].mean() for b in range(bands)])


def test_default_class_is_the_papers_blurred_one():
    """The default is the paper's class, the edge box-blurred 2 x 2: the same images as an
    explicit blur=(2, 2), and a radial power spectrum equal to the hard-edge one at low
    frequencies but falling below it towards Nyquist, where the 2-tap box's response
    cos^2(pi f) vanishes (measured: 0.97 in the lowest band, 0.45-0.49 in the highest)."""
    assert torch.equal(calpha(8, 32, alpha=2.0, seed=3), calpha(8, 32, alpha=2.0, blur=(2, 2),
                                                                seed=3))
    for alpha in (1.0, 3.0):
        ratio = (_radial_power(calpha(256, 64, alpha=alpha, seed=1))
                 / _radial_power(calpha(256, 64, alpha=alpha, blur=None, seed=1)))
        assert ratio[0] > 0.95 and ratio[-1] < 0.6, ratio
        assert (ratio[1:] < ratio[:-1]).all(), ratio
