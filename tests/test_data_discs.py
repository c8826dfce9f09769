"""Disc images: renderer geometry, its derivatives (the tangent space), parameter sampling."""

import math

import pytest
import torch
import torch.nn.functional as F

from gahr.data.synthetic import (
    DISC_PARAMS,
    disc_area,
    disc_free_params,
    discs,
    render_discs,
    sample_disc_params,
)
from gahr.errors import ConfigError, ShapeError


def random_centers(n, radius, size, seed):
    """Params (n, 5) float64: given radius, center uniform over a pixel near the middle."""
    g = torch.Generator().manual_seed(seed)
    params = torch.zeros((n, 5), dtype=torch.float64)
    params[:, :2] = size / 2 + torch.rand((n, 2), generator=g, dtype=torch.float64)
    params[:, 2], params[:, 3] = radius, 1.0
    return params


@pytest.mark.parametrize("hard,antialias,rel", [(True, 0, 5e-3), (False, 0, 5e-4),
                                                (False, 2, 5e-4)])
def test_mean_covered_area_is_the_disc_area(hard, antialias, rel):
    """Over uniformly random sub-pixel centers the summed coverage has expectation disc_area.

    Hard edges: a randomly shifted lattice counts pi r^2 points on average (exactly). Smooth
    edges: the ramp integrates to pi (r^2 + w^2/12). For r = 6.3 the per-image lattice count
    error (Gauss circle problem) has std 1.9 points (1.5% of 125; measured), so the mean of 400
    centers is good to 0.08% and 0.5% is 6 std. Smooth edges: per-image std 0.2 (measured), mean
    good to 0.008%, 0.05% is 6 std; a ramp off by a quarter pixel errs by 0.5 / r = 8%.
    """
    size, radius = 24, 6.3
    images = render_discs(random_centers(400, radius, size, seed=1), size, hard=hard,
                          antialias=antialias)
    area = images.sum(dim=(1, 2, 3)).mean().item()
    assert area == pytest.approx(disc_area(radius, antialias, hard), rel=rel)


def test_smooth_edge_is_the_exact_pixel_area_for_a_straight_edge():
    """A huge disc has an (almost) straight edge: coverage = area of each pixel left of it."""
    radius, edge_x = 1e5, 10.3
    params = torch.tensor([[8.0, edge_x - radius, radius, 1.0, 0.0]], dtype=torch.float64)
    row = render_discs(params, 16)[0, 0, 8]
    columns = torch.arange(16, dtype=torch.float64)
    expected = (edge_x - (columns - 0.5)).clamp(0, 1)  # pixel j spans [j - 1/2, j + 1/2]
    assert torch.allclose(row, expected, atol=1e-6)


@pytest.mark.parametrize("hard", [False, True])
def test_antialiasing_is_rendering_larger_then_averaging_blocks(hard):
    """render(p, s, j) = box-average of render(p', 2^j s, 0), p' the same disc in fine pixels."""
    size, sub = 12, 4
    params = random_centers(6, 3.7, size, seed=2)
    params[:, 3:] = torch.tensor([0.9, 0.2], dtype=torch.float64)
    fine = params.clone()
    fine[:, :2] = sub * (params[:, :2] + 0.5) - 0.5  # coarse pixel center i -> fine coordinates
    fine[:, 2] = sub * params[:, 2]
    expected = F.avg_pool2d(render_discs(fine, size * sub, hard=hard), sub)
    assert torch.allclose(render_discs(params, size, antialias=2, hard=hard), expected,
                          atol=1e-9)


def test_transpose_and_flip_symmetries_are_exact():
    params = torch.tensor([[7.25, 11.5, 4.2, 0.8, 0.1]], dtype=torch.float64)
    swapped = params[:, [1, 0, 2, 3, 4]]
    assert torch.equal(render_discs(swapped, 20), render_discs(params, 20).transpose(-1, -2))
    middle = torch.tensor([[9.5, 9.5, 6.1, 0.3, 0.7]], dtype=torch.float64)  # (20 - 1) / 2
    image = render_discs(middle, 20)
    assert torch.equal(image, image.flip(-1)) and torch.equal(image, image.flip(-2))


def test_wrapped_disc_translates_by_integer_shifts_like_roll():
    params = torch.tensor([[3.3, 14.6, 5.0, 1.0, 0.25]], dtype=torch.float64)
    moved = params.clone()
    moved[:, 0] += 5
    moved[:, 1] -= 9
    expected = torch.roll(render_discs(params, 16, wrap=True), shifts=(5, -9), dims=(-2, -1))
    assert torch.allclose(render_discs(moved, 16, wrap=True), expected, atol=1e-12)


def test_autograd_tangent_vectors_match_finite_differences_and_closed_forms():
    """The tangent space the analysis uses: d image / d params, by autograd, is right."""
    size = 16
    params = torch.tensor([[7.31, 8.62, 4.77, 0.83, 0.21]], dtype=torch.float64)

    def render(p):
        return render_discs(p.view(1, 5), size).view(-1)

    jacobian = torch.autograd.functional.jacobian(render, params.view(-1))  # (size^2, 5)
    step = 1e-6
    for i in range(5):
        delta = torch.zeros(5, dtype=torch.float64)
        delta[i] = step
        central = (render(params.view(-1) + delta) - render(params.view(-1) - delta)) / (2 * step)
        assert torch.allclose(jacobian[:, i], central, atol=1e-6), DISC_PARAMS[i]
    cover = (render(params.view(-1)) - 0.21) / (0.83 - 0.21)
    assert torch.allclose(jacobian[:, 3], cover) and torch.allclose(jacobian[:, 4], 1 - cover)
    assert torch.linalg.matrix_rank(jacobian).item() == 5  # a 5-dimensional manifold


def test_radius_derivative_integrates_to_the_circumference():
    """d/dr of the expected area pi (r^2 + 1/12) is 2 pi r: the mean summed radial tangent."""
    size, radius = 24, 5.6
    params = random_centers(300, radius, size, seed=3).requires_grad_(True)
    total = render_discs(params, size).sum()
    (grad,) = torch.autograd.grad(total, params)
    assert grad[:, 2].mean().item() == pytest.approx(2 * math.pi * radius, rel=0.01)


def test_sampled_params_respect_ranges_and_frozen_factors():
    size = 32
    params = sample_disc_params(2000, size, seed=0)
    cy, cx, r, fg, bg = params.T
    assert r.min() >= 3 and r.max() <= (size - 3) / 2
    for c in (cy, cx):  # the whole disc lies inside [-1/2, size - 1/2]
        assert (c - r >= -0.5 - 1e-5).all() and (c + r <= size - 0.5 + 1e-5).all()
    assert fg.min() >= 0 and fg.max() <= 1 and bg.min() >= 0 and bg.max() <= 1
    assert r.std() > 2 and fg.std() > 0.2  # they do vary
    frozen = sample_disc_params(50, size, translate=False, scale=False, foreground=False,
                                background=False, seed=0)
    expected = torch.tensor([(size - 1) / 2, (size - 1) / 2, size / 4, 1.0, 0.0])
    assert torch.equal(frozen, expected.expand(50, 5))
    integer = sample_disc_params(200, size, continuous=False, wrap=True, seed=1)
    assert torch.equal(integer[:, :3], integer[:, :3].round())
    assert disc_free_params(translate=True, scale=False, foreground=False,
                            background=True) == (0, 1, 4)


def test_discs_returns_images_of_its_params_in_unit_range():
    images, params = discs(10, 20, seed=4, antialias=1)
    assert images.shape == (10, 1, 20, 20) and images.dtype == torch.float32
    assert params.shape == (10, 5) and params.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    assert torch.allclose(images, render_discs(params, 20, antialias=1), atol=1e-6)
    assert torch.equal(images, discs(10, 20, seed=4, antialias=1)[0])


def test_bad_disc_input_raises():
    with pytest.raises(ShapeError):
        render_discs(torch.zeros(3, 4), 16)
    with pytest.raises(ConfigError):
        render_discs(torch.zeros(1, 5), 16, antialias=9)
    with pytest.raises(ConfigError):
        discs(3, size=8)  # too small for the radius range
