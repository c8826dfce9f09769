"""SSIM against its closed form on constant images and its basic properties."""

import pytest
import torch

from gahr.errors import ShapeError
from gahr.sample.quality import ssim


def test_ssim_of_constant_images_is_the_luminance_term():
    """Constant images have zero local variance, so SSIM = (2 a b + C1) / (a^2 + b^2 + C1)."""
    a, b = torch.full((1, 1, 12, 12), 0.3), torch.full((1, 1, 12, 12), 0.6)
    c1 = 0.01**2
    assert ssim(a, b).item() == pytest.approx((2 * 0.18 + c1) / (0.09 + 0.36 + c1), rel=1e-6)


def test_ssim_is_one_for_identical_images_and_falls_with_noise():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 20, 20, generator=gen)
    assert torch.allclose(ssim(x, x), torch.ones(2, dtype=torch.float64))
    noise = torch.randn(x.shape, generator=gen)
    values = [ssim(x, x + s * noise).mean().item() for s in (0.05, 0.1, 0.3)]
    assert 1 > values[0] > values[1] > values[2] > 0
    assert torch.allclose(ssim(x, x + 0.1 * noise), ssim(x + 0.1 * noise, x))


def test_ssim_rejects_mismatched_shapes():
    with pytest.raises(ShapeError):
        ssim(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 9))
