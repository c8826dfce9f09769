"""Inverse problems with a Gaussian prior, where the exact posterior is known."""

import pytest
import torch

from gahr.errors import ShapeError
from gahr.oracles import GaussianOracle, power_law
from gahr.sample import make_operator, solve

SHAPE = (1, 16, 16)
N = 48



@pytest.fixture(scope="module")
def problem():
    oracle = GaussianOracle(power_law(), SHAPE, mean=0.5)
    x = oracle.sample(1, torch.Generator().manual_seed(3))
    return oracle, x, oracle.covariance()


def posterior(oracle, cov, op, m):
    """Exact Gaussian posterior given m = M^T x: mean mu + C M (M^T C M)^-1 (m - M^T mu),
    covariance C - C M (M^T C M)^-1 M^T C, and the projector onto the unmeasured subspace."""
    M = op.lift(torch.eye(op.dim, dtype=torch.float64)).flatten(1).T
    mu = oracle.mean.flatten()
    gain = cov @ M @ torch.linalg.inv(M.T @ cov @ M)
    mean = mu + gain @ (m.double()[0] - M.T @ mu)
    sigma = cov - gain @ M.T @ cov
    return mean, sigma, torch.eye(len(mu), dtype=torch.float64) - M @ M.T


def run(problem, task):
    oracle, x, cov = problem
    op = make_operator(task, SHAPE, factor=4, p=0.25, generator=torch.Generator().manual_seed(0))
    m = op.measure(x)
    r = solve(oracle, op, m.repeat(N, 1), seeds=range(N))
    assert r.failed == []
    mean, sigma, perp = posterior(oracle, cov, op, m)
    err = (r.samples.flatten(1).double().mean(0) - mean) @ perp
    stat = (torch.trace(perp @ sigma @ perp) / N).sqrt()
    return op, m, r, mean, perp, err, stat


@pytest.mark.parametrize("task", ["inpaint", "superres", "lowpass"])
def test_posterior_mean_in_the_unmeasured_subspace(problem, task):
    """The sample mean of N reconstructions is the exact posterior mean up to sampling noise.

    If the reconstructions were exact posterior samples, |P_perp (mean - posterior mean)|^2
    would have expectation tr(P_perp Sigma_post P_perp) / N =: stat^2 and, as a sum of many
    weighted chi^2 terms, concentrate there; 3 stat leaves room for the sampler's own error.
    For lowpass the posterior mean of the unmeasured (high) frequencies is the prior's: zero.
    """
    op, m, r, mean, perp, err, stat = run(problem, task)
    assert err.norm() <= 3 * stat
    assert torch.allclose(op.measure(r.samples), m.expand(N, -1), atol=1e-5)


@pytest.mark.parametrize("task", ["pixels", "compressive"])
def test_posterior_mean_direction_for_scattered_measurements(problem, task):
    """Scattered measurements: the mean points along the exact posterior mean (cosine > 0.95).

    Algorithm 2 with a blind, unconditional denoiser has a bias here: the noise in y lives in
    the unmeasured subspace only, but the denoiser treats it as white (we measure about
    2-4 stat, 25% of |P_perp (posterior mean - mu)|), so only the direction is asserted.
    """
    oracle = problem[0]
    op, m, r, mean, perp, err, stat = run(problem, task)
    mu = oracle.mean.flatten()
    got = (r.samples.flatten(1).double().mean(0) - mu) @ perp
    want = (mean - mu) @ perp
    assert torch.nn.functional.cosine_similarity(got, want, dim=0) > 0.95
    assert torch.allclose(op.measure(r.samples), m.expand(N, -1), atol=1e-5)


def test_solve_checks_the_measurement(problem):
    op = make_operator("superres", SHAPE, factor=4)
    with pytest.raises(ShapeError):
        solve(problem[0], op, torch.zeros(2, op.dim + 1))
    one = solve(problem[0], op, op.measure(problem[1])[0], seeds=[0])
    assert one.samples.shape == (1, *SHAPE)
