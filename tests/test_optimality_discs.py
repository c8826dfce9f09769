"""Disc manifold: tangent space, principal angles, and the optimal (projection) denoiser."""

import math

import numpy as np
import pytest
import torch

from gahr.analysis.disc_manifold import (
    disc_analysis,
    principal_angles,
    tangent_space,
    vector_angles,
)
from gahr.data.synthetic import render_discs
from gahr.errors import ConfigError, ShapeError

PARAMS = torch.tensor([7.3, 8.6, 4.2, 0.8, 0.25])



def test_principal_angles_of_known_subspaces():
    t = 0.3
    e = torch.eye(6, dtype=torch.float64)
    U = e[:, [0, 1]]
    V = torch.stack([math.cos(t) * e[0] + math.sin(t) * e[2], e[1]], dim=1)
    torch.testing.assert_close(principal_angles(U, V), torch.tensor([0.0, t], dtype=torch.float64),
                               atol=1e-7, rtol=0)
    # invariant to the choice of basis of each span
    M = torch.tensor([[2.0, 1.0], [0.5, -1.0]], dtype=torch.float64)
    torch.testing.assert_close(principal_angles(U @ M, V), principal_angles(U, V))
    assert principal_angles(e[:, [0]], e[:, [3]]).item() == pytest.approx(math.pi / 2)
    with pytest.raises(ShapeError):
        principal_angles(U, torch.zeros(5, 2))


def test_tangent_space_spans_the_finite_differences():
    size = 16
    T = tangent_space(PARAMS, size)
    assert T.shape == (256, 5)
    torch.testing.assert_close(T.T @ T, torch.eye(5, dtype=torch.float64), atol=1e-10, rtol=0)
    h = 1e-4
    base = PARAMS.double()
    fd = torch.stack([(render_discs((base + h * torch.eye(5, dtype=torch.float64)[i])[None], size)
                       - render_discs((base - h * torch.eye(5, dtype=torch.float64)[i])[None],
                                      size)).reshape(-1) / (2 * h) for i in range(5)], dim=1)
    assert principal_angles(fd, T).max() < 1e-4
    assert tangent_space(PARAMS, size, free=(0, 1)).shape == (256, 2)
    with pytest.raises(ConfigError, match="dependent"):
        tangent_space(torch.tensor([7.3, 8.6, 4.2, 0.5, 0.5]), size)


def test_projection_denoiser_is_optimal_on_the_manifold():
    # x_hat = x + P_T (y - x): the small-sigma optimum; J = P_T exactly
    size = 12
    x = render_discs(PARAMS[None], size).clamp(0, 1).double()
    T = tangent_space(PARAMS, size)
    P = T @ T.T

    def den(y):
        r = (y.double() - x).reshape(y.shape[0], -1) @ P
        return (x.reshape(1, -1) + r).reshape(y.shape).to(y)

    rows = disc_analysis(den, PARAMS[None], size, [0.01, 0.05], seed=0)
    for row in rows:
        assert row["manifold_dim"] == 5
        assert row["effective_dimension"] == pytest.approx(5.0, abs=1e-3)
        assert max(row["angles_deg"]) < 0.1 and max(row["vector_angles_deg"]) < 0.1
        assert row["tail_ratio"] == pytest.approx(0.0, abs=1e-3)
        assert row["asymmetry_y"] < 1e-4
        assert row["lambda_top"][:5] == pytest.approx([1.0] * 5, abs=1e-3)
        assert max(abs(v) for v in row["lambda_top"][5:]) < 1e-3
        assert 0.05 < row["mse_ratio"] < 4  # chi^2_5 / 5 for one draw
        # the projections of the top five eigenvectors on T_x are the eigenvectors themselves
        first = row["shown"]
        np.testing.assert_allclose(first["tangent_projection"][:5], first["e_k"][:5], atol=1e-4)
        assert np.abs(first["tangent_projection"][5:]).max() < 1e-4
    # the identity (no denoising) keeps all D dimensions and the error sigma^2 D
    rows = disc_analysis(lambda y: y, PARAMS[None], size, [0.05], seed=0)
    assert rows[0]["effective_dimension"] == pytest.approx(size * size, rel=1e-5)
    assert rows[0]["mse_ratio"] == pytest.approx(size * size / 5, rel=0.3)


def test_vector_angles_follow_the_vectors():
    t = 0.4
    e = torch.eye(5, dtype=torch.float64)
    T = e[:, [0, 1]]
    E = torch.stack([e[1], 3 * (math.cos(t) * e[0] + math.sin(t) * e[3]), e[4]], dim=1)
    torch.testing.assert_close(vector_angles(E, T), torch.tensor(
        [0.0, t, math.pi / 2], dtype=torch.float64), atol=1e-7, rtol=0)
