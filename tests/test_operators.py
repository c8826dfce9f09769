"""Measurement operators: orthonormal rows, orthogonal projections, and their meaning."""

import pytest
import torch

from gahr.errors import ConfigError, ShapeError
from gahr.sample import make_operator

SHAPE = (2, 8, 12)
TASKS = ["inpaint", "pixels", "superres", "lowpass", "compressive", "mask"]


def build(task, shape=SHAPE):
    mask = torch.rand(shape[1:], generator=torch.Generator().manual_seed(0)) > 0.6
    return make_operator(task, shape, factor=4, p=0.3, mask=mask,
                         generator=torch.Generator().manual_seed(1))


def dense(op):
    """M as a dense (D, K) float64 matrix, column k = lift(e_k)."""
    return op.lift(torch.eye(op.dim, dtype=torch.float64)).flatten(1).T


@pytest.mark.parametrize("task", TASKS)
def test_rows_are_orthonormal_and_mmt_is_an_orthogonal_projection(task):
    op = build(task)
    M = dense(op)
    tol = 1e-6 if task == "compressive" else 1e-12  # its basis is stored in float32
    assert torch.allclose(M.T @ M, torch.eye(op.dim, dtype=torch.float64), atol=tol)
    Pm = M @ M.T
    assert torch.allclose(Pm @ Pm, Pm, atol=tol) and torch.allclose(Pm, Pm.T, atol=tol)
    # measure is the transpose of lift
    x = torch.randn(3, *SHAPE, dtype=torch.float64)
    assert torch.allclose(op.measure(x), x.flatten(1) @ M, atol=tol)
    assert torch.allclose(op.project(x), (x.flatten(1) @ Pm).view_as(x), atol=tol)


@pytest.mark.parametrize("task", TASKS)
def test_operators_work_under_torch_func(task):
    op = build(task)
    x = torch.randn(1, *SHAPE, dtype=torch.float64)
    J = torch.func.jacfwd(op.measure)(x).reshape(op.dim, -1)
    assert torch.allclose(J, dense(op).T, atol=1e-6)


def test_pixel_operators_keep_the_pixels():
    op = build("inpaint")
    x = torch.rand(2, *SHAPE)
    kept = op.project(x)
    box = (slice(None), slice(None), slice(2, 6), slice(3, 9))  # the default central box
    assert (kept[box] == 0).all()
    assert torch.equal(kept + (x - kept), x) and kept.ne(0).sum() == x.numel() - 2 * 2 * 4 * 6
    pix = build("pixels")
    assert pix.dim == 2 * round(0.3 * 8 * 12)


def test_superres_measures_scaled_block_means():
    op = build("superres")
    x = torch.rand(1, *SHAPE, dtype=torch.float64)
    means = x.view(1, 2, 2, 4, 3, 4).mean(dim=(3, 5))
    assert torch.allclose(op.measure(x).view_as(means), 4 * means)
    assert torch.allclose(op.project(x), means.repeat_interleave(4, 2).repeat_interleave(4, 3))


def test_lowpass_keeps_low_frequencies_only():
    op = build("lowpass")
    x = torch.rand(1, *SHAPE, dtype=torch.float64)
    c = torch.fft.fft2(op.project(x), norm="ortho")
    cx = torch.fft.fft2(x, norm="ortho")
    kept = (c - cx).abs() < 1e-10
    removed = c.abs() < 1e-10
    assert (kept | removed).all()  # each coefficient is either kept exactly or removed
    radius = torch.fft.fftfreq(8)[:, None] ** 2 + torch.fft.fftfreq(12)[None, :] ** 2
    assert radius[kept[0, 0]].max() <= radius[removed[0, 0]].min()
    assert abs(kept[0, 0].sum().item() - 0.3 * 96) <= 2  # whole conjugate pairs


def test_bad_operator_arguments():
    with pytest.raises(ShapeError):
        make_operator("superres", (1, 10, 10), factor=4)
    with pytest.raises(ConfigError):
        make_operator("pixels", SHAPE, p=0.0)
    with pytest.raises(ConfigError):
        make_operator("blur", SHAPE)
    with pytest.raises(ConfigError):
        make_operator("mask", SHAPE)
    with pytest.raises(ConfigError):
        make_operator("inpaint", SHAPE, box=(0, 0, 20, 2))
    with pytest.raises(ShapeError):
        build("superres").measure(torch.rand(1, 1, 8, 12))
    with pytest.raises(ShapeError):
        build("superres").lift(torch.rand(1, 5))
