"""Eigenbasis and effective dimension: dense vs Lanczos, closed forms of linear denoisers."""

import pytest
import torch
from test_jacobian import tiny_unet

from gahr.analysis.eigen import effective_dimension, effective_dimension_curve, eigen
from gahr.analysis.jacobian import jacobian
from gahr.errors import ConfigError
from gahr.oracles import GaussianOracle, power_law


def _linear(A):
    def den(y):
        return (y.reshape(y.shape[0], -1) @ A.T.to(y)).reshape(y.shape)
    return den


def _wiener(shape=(1, 8, 8), sigma=0.1):
    oracle = GaussianOracle(power_law(2.0, 0.04, f0=1 / 8), shape)
    gains = (oracle.spectrum / (oracle.spectrum + sigma**2)).flatten().double()
    return (lambda y: oracle.wiener(y, sigma)), gains


def test_dense_eigen_of_a_net():
    den = tiny_unet()
    y = torch.rand(1, 1, 8, 8)
    basis = eigen(den, y)
    J = jacobian(den, y).double()
    S = (J + J.T) / 2
    E = basis.e_k.reshape(64, 64).double()
    assert basis.e_k.shape == (64, 1, 8, 8)
    assert (basis.lambda_k[:-1] >= basis.lambda_k[1:]).all()
    torch.testing.assert_close(E @ E.T, torch.eye(64, dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(E @ S @ E.T, torch.diag(basis.lambda_k), atol=1e-5, rtol=0)
    expected = float(torch.linalg.norm(J - J.T) / torch.linalg.norm(J))
    assert basis.exact_asymmetry and basis.asymmetry == pytest.approx(expected, rel=1e-6)
    assert basis.asymmetry > 1e-3  # a random net is not symmetric: the quantity is not trivial
    # coefficients reconstruct the image: y = sum_k <y, e_k> e_k
    torch.testing.assert_close(basis.coefficients(y) @ E, y.reshape(-1).double(), atol=1e-5,
                               rtol=0)


def test_wiener_filter_eigenvalues_are_the_shrinkage_factors():
    den, gains = _wiener()
    basis = eigen(den, torch.rand(1, 1, 8, 8))
    torch.testing.assert_close(basis.lambda_k, gains.sort(descending=True).values, atol=1e-6,
                               rtol=0)
    assert basis.asymmetry < 1e-6


def test_lanczos_top_k_matches_dense():
    g = torch.Generator().manual_seed(0)
    Q, _ = torch.linalg.qr(torch.randn(100, 100, generator=g, dtype=torch.float64))
    lam = torch.cat([torch.tensor([1.0, 0.9, 0.8, 0.7, 0.6]), 0.5 * torch.rand(95, generator=g,
                                                                             dtype=torch.float64)])
    N = 0.02 * torch.randn(100, 100, generator=g, dtype=torch.float64)
    A = (Q * lam) @ Q.T + N  # a nearly symmetric map, like a denoiser's Jacobian
    den = _linear(A.float())
    y = torch.rand(1, 10, 10)
    full, top = eigen(den, y), eigen(den, y, k=5, tol=1e-10, probes=256)
    torch.testing.assert_close(top.lambda_k, full.lambda_k[:5], atol=1e-5, rtol=0)
    overlap = (top.e_k.reshape(5, -1) * full.e_k[:5].reshape(5, -1)).sum(1)
    torch.testing.assert_close(overlap, torch.ones(5), atol=1e-4, rtol=0)  # same signs too
    assert not top.exact_asymmetry
    assert top.asymmetry == pytest.approx(full.asymmetry, rel=0.15)


def test_asymmetry_within_the_retained_subspace_has_a_closed_form():
    """J = S + A with A antisymmetric on the top pair (a) and on suppressed directions (b):
    only `a` shows in the top-subspace asymmetry, both in the full one."""
    g = torch.Generator().manual_seed(1)
    Q, _ = torch.linalg.qr(torch.randn(16, 16, generator=g, dtype=torch.float64))
    lam = torch.tensor([1.0, 0.9] + [0.02] * 14, dtype=torch.float64)  # tr J = 2.18 -> top 2
    a, b = 0.05, 0.3

    def rotation(i, j):
        return torch.outer(Q[:, i], Q[:, j]) - torch.outer(Q[:, j], Q[:, i])
    J = (Q * lam) @ Q.T + a * rotation(0, 1) + b * rotation(5, 9)
    expected_top = (8 * a**2) ** 0.5 / (1.0 + 0.81 + 2 * a**2) ** 0.5
    y = torch.rand(1, 4, 4)
    full, top = eigen(_linear(J.float()), y), eigen(_linear(J.float()), y, k=2, tol=1e-10)
    assert full.top_dim == 2 and top.top_dim == 2
    assert full.asymmetry_top == pytest.approx(expected_top, rel=1e-4)
    assert top.asymmetry_top == pytest.approx(expected_top, rel=1e-4)
    assert full.asymmetry > 5 * full.asymmetry_top  # the suppressed rotation dominates ||J-J^T||


def test_lanczos_on_a_net():
    den = tiny_unet()
    y = torch.rand(1, 1, 8, 8)
    full, top = eigen(den, y), eigen(den, y, k=3, tol=1e-6)
    torch.testing.assert_close(top.lambda_k, full.lambda_k[:3], atol=1e-4, rtol=0)
    overlap = (top.e_k.reshape(3, -1) * full.e_k[:3].reshape(3, -1)).sum(1).abs()
    assert overlap.min() > 0.99


def test_effective_dimension_exact_is_the_trace():
    den, gains = _wiener()
    d = effective_dimension(den, torch.rand(1, 1, 8, 8), chunk_size=24)
    assert d.probes == 0 and d.stderr == 0
    assert d.value == pytest.approx(float(gains.sum()), rel=1e-5)
    net = tiny_unet()
    y = torch.rand(1, 1, 8, 8)
    assert effective_dimension(net, y).value == pytest.approx(
        float(torch.trace(jacobian(net, y))), rel=1e-5)


def test_hutchinson_within_its_standard_error():
    g = torch.Generator().manual_seed(1)
    B = torch.randn(144, 144, generator=g, dtype=torch.float64) / 12
    A = B @ B.T
    den = _linear(A.float())
    y = torch.rand(1, 12, 12)
    P = 400
    d = effective_dimension(den, y, probes=P, seed=5)
    # closed form of the Rademacher variance: 2 (||A||_F^2 - sum_i A_ii^2) for symmetric A
    sd = (2 * (A.pow(2).sum() - A.diag().pow(2).sum())).sqrt().item()
    assert d.probes == P
    assert d.stderr == pytest.approx(sd / P**0.5, rel=0.25)
    assert abs(d.value - float(A.trace())) < 4 * d.stderr
    assert effective_dimension(den, y, probes=P, seed=5).value == d.value  # seeded
    assert effective_dimension(den, y, probes=P, seed=6).value != d.value


def test_effective_dimension_curve_decreases_for_wiener():
    oracle = GaussianOracle(power_law(2.0, 0.04, f0=1 / 8), (1, 8, 8))
    x = oracle.sample(1, generator=torch.Generator().manual_seed(0))
    curve = effective_dimension_curve(oracle, x, [0.05, 0.1, 0.2, 0.4], seed=0)
    dims = [c["effective_dimension"] for c in curve]
    assert [c["sigma"] for c in curve] == [0.05, 0.1, 0.2, 0.4]
    assert all(a > b for a, b in zip(dims, dims[1:]))
    assert curve == effective_dimension_curve(oracle, x, [0.05, 0.1, 0.2, 0.4], seed=0)


def test_bad_arguments():
    den = tiny_unet()
    y = torch.rand(1, 1, 8, 8)
    with pytest.raises(ConfigError, match="k=64"):
        eigen(den, y, k=64)
    with pytest.raises(ConfigError, match="probes"):
        effective_dimension(den, y, probes=1)
