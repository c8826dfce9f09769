"""DDIM on a fixed noise grid (the Kamb & Ganguli preset) against closed forms."""

import math

import pytest
import torch

from gahr.errors import ConfigError
from gahr.oracles import EmpiricalOracle
from gahr.sample import PRESETS, NoiseGrid, kamb_ganguli, preset, synthesize


def test_kamb_ganguli_grid_is_their_legacy_cosine_schedule():
    """sigma(t) = sqrt((1 - abar) / abar) / 2 with abar = cos(t / 1.008 pi / 2)^2 at
    t = 1, 0.95, ..., 0.05 (their [-1, 1] sigma halved), from pure noise at 0.5."""
    grid = PRESETS["kamb-ganguli"]
    assert grid == kamb_ganguli(20) and grid.start_mean == 0.5 and grid.limit() == 20
    for i, sigma in zip(range(20, 0, -1), grid.sigmas, strict=True):
        abar = math.cos(i / 20 / 1.008 * math.pi / 2) ** 2
        assert sigma == pytest.approx(math.sqrt((1 - abar) / abar) / 2, rel=1e-12)
    assert grid.sigma_0 == pytest.approx(40.1, abs=0.05)
    assert grid.sigma_L == pytest.approx(0.039, abs=5e-4)


def test_ddim_keeps_the_noise_direction_and_hands_over_the_grid_levels():
    """With a denoiser that always returns x* (one training image), DDIM's iterates are
    y_t = x* + (sigma_t / sigma_0)(y_0 - x*) exactly, the denoiser is called at the grid's
    levels (not measured ones), once per level, and the sample is x*."""
    x_star = torch.rand(1, 1, 6, 5, generator=torch.Generator().manual_seed(3))
    grid = NoiseGrid((2.0, 1.0, 0.3, 0.05))
    seen, ys = [], []
    oracle = EmpiricalOracle(x_star)

    def den(y, sigma=None):
        seen.append(torch.as_tensor(sigma).flatten().tolist())
        ys.append(y.clone())
        return oracle(y, sigma=sigma)

    r = synthesize(den, (1, 6, 5), 2, grid, seeds=[4, 5], give_sigma=True)
    assert seen == [[s, s] for s in grid.sigmas]
    assert r.steps.tolist() == [4, 4] and bool(r.ok.all())
    torch.testing.assert_close(r.samples, x_star.expand(2, -1, -1, -1))
    for sigma, y in zip(grid.sigmas, ys, strict=True):
        torch.testing.assert_close(y, x_star + sigma / 2.0 * (ys[0] - x_star),
                                   atol=1e-5, rtol=0)


def test_a_grid_has_no_algorithm1_settings():
    assert preset("kamb-ganguli", sigma_L=None) == PRESETS["kamb-ganguli"]
    assert preset("kamb-ganguli").deterministic() == PRESETS["kamb-ganguli"]
    with pytest.raises(ConfigError, match="has no h_0"):
        preset("kamb-ganguli", h_0=0.1)
    with pytest.raises(ConfigError, match="decreasing"):
        NoiseGrid((0.1, 0.2))
