"""The closed-form oracles against their defining identities."""

import math

import pytest
import torch

from gahr.errors import ConfigError, GahrError, ShapeError
from gahr.oracles import EmpiricalOracle, GaussianOracle, power_law

SHAPE = (1, 8, 8)



@pytest.fixture
def gauss():
    return GaussianOracle(power_law(f0=1 / 16), SHAPE, mean=0.5)


def test_power_law_sets_pixel_variance_and_is_even():
    g = GaussianOracle(power_law(pixel_variance=0.03), (2, 6, 10))
    assert g.spectrum.mean().item() == pytest.approx(0.03)
    cov = g.covariance()
    assert torch.allclose(cov, cov.T, atol=1e-12)
    assert torch.diagonal(cov).mean().item() == pytest.approx(0.03)


def test_wiener_is_fourier_shrinkage(gauss):
    """Each Fourier coefficient of y - mu is scaled by P / (P + sigma^2)."""
    y = torch.rand(3, *SHAPE, dtype=torch.float64)
    sigma = 0.2
    x_hat = gauss.wiener(y, sigma)
    c_in = torch.fft.fft2(y - 0.5, norm="ortho")
    c_out = torch.fft.fft2(x_hat - 0.5, norm="ortho")
    gain = gauss.spectrum / (gauss.spectrum + sigma**2)
    assert torch.allclose(c_out, gain * c_in, atol=1e-12)


def test_mse_matches_monte_carlo(gauss):
    """The exact MSE at sigma equals the empirical error of the known-sigma Wiener estimate
    within 5 standard errors of the Monte-Carlo mean."""
    gen = torch.Generator().manual_seed(1)
    x = gauss.sample(4000, gen).double()
    sigma = 0.15
    err = (gauss.wiener(x + sigma * torch.randn(x.shape, generator=gen, dtype=x.dtype),
                        sigma) - x).square().flatten(1).mean(1)
    assert abs(err.mean().item() - gauss.mse(sigma)) < 5 * err.std().item() / math.sqrt(len(err))
    assert gauss.mse(sigma) < sigma**2  # the prior helps


@pytest.mark.parametrize("sigma", [0.05, 0.2, 0.8])
def test_ml_sigma_is_consistent(sigma):
    """For y = x + sigma z with x from the prior, the ML estimate concentrates around sigma:
    its relative spread is about sqrt(2 / D) for white-dominated frequencies (D = 1024)."""
    g = GaussianOracle(power_law(), (1, 32, 32), mean=0.5)
    gen = torch.Generator().manual_seed(2)
    x = g.sample(64, gen)
    est = g.estimate_sigma(x + sigma * torch.randn(x.shape, generator=gen))
    assert abs(est.mean().item() / sigma - 1) < 0.05
    assert est.std().item() / sigma < 0.15


def test_ml_sigma_is_a_likelihood_maximum(gauss):
    y = gauss.sample(5) + 0.3 * torch.randn(5, *SHAPE)
    s = gauss.estimate_sigma(y).double()
    c2 = torch.fft.fft2(y.double() - 0.5, norm="ortho").abs().square()

    def loglik(s2):
        q = gauss.spectrum + s2.view(-1, 1, 1, 1)
        return -(c2 / q + q.log()).flatten(1).sum(1) / 2

    for f in (0.97, 1.03):
        assert (loglik(s**2) > loglik((f * s) ** 2)).all()


def test_blind_oracle_is_odd_around_the_mean(gauss):
    """Reflecting y through mu keeps |c_k|^2, hence sigma_hat, and reflects x_hat (the prior
    is symmetric); it is not homogeneous: the prior has a scale."""
    y = gauss.sample(4) + 0.2 * torch.randn(4, *SHAPE)
    assert torch.allclose(gauss(1.0 - y) - 0.5, -(gauss(y) - 0.5), atol=1e-6)
    assert not torch.allclose(gauss(0.5 + 2 * (y - 0.5)) - 0.5, 2 * (gauss(y) - 0.5), atol=1e-3)


def test_fixed_sigma_jacobian_spectrum(gauss):
    sigma = 0.1
    J = gauss.jacobian(sigma)
    assert torch.allclose(J, J.T, atol=1e-12)
    eig = torch.linalg.eigvalsh(J)
    expected = (gauss.spectrum / (gauss.spectrum + sigma**2)).flatten().sort().values
    assert torch.allclose(eig, expected, atol=1e-10)


def test_blind_jacobian_closed_form_matches_torch_func(gauss):
    """jacfwd and jvp through the blind oracle (bisection + Newton) give the closed-form
    Jacobian W + v u^T of the implicit ML sigma."""
    y = (gauss.sample(1) + 0.1 * torch.randn(1, *SHAPE)).double()
    exact = gauss.jacobian_at(y)[0]
    D = exact.shape[0]
    auto = torch.func.jacfwd(lambda v: gauss(v[None])[0])(y[0]).reshape(D, D)
    assert torch.allclose(auto, exact, atol=1e-9)
    # the rank-one correction matters: the fixed-sigma Jacobian differs
    fixed = gauss.jacobian(float(gauss.estimate_sigma(y)))
    assert (fixed - exact).abs().max() > 1e-4
    v = torch.randn_like(y)
    _, jv = torch.func.jvp(gauss, (y,), (v,))
    assert torch.allclose(jv.flatten(), exact @ v.flatten(), atol=1e-9)


def test_gaussian_oracle_bad_input():
    with pytest.raises(ConfigError):
        GaussianOracle(lambda fy, fx: fx + 1.0, SHAPE)  # not even in f
    with pytest.raises(ConfigError):
        GaussianOracle(-torch.ones(8, 8), SHAPE)
    with pytest.raises(ShapeError):
        GaussianOracle(torch.ones(4, 4), SHAPE)
    with pytest.raises(ShapeError):
        GaussianOracle(power_law(), SHAPE)(torch.rand(2, 1, 8, 9))


def test_blind_jacobian_on_the_zero_noise_branch(gauss):
    """Where the ML noise estimate is 0 (a noiseless, prior-typical image) the blind oracle
    returns y and its Jacobian is the identity; the closed form must agree with jacfwd."""
    y = (gauss.mean + 0.01 * gauss.sample(1).double() - 0.01 * gauss.mean)
    assert gauss.estimate_sigma(y).item() == 0.0
    exact = gauss.jacobian_at(y)[0]
    D = exact.shape[0]
    auto = torch.func.jacfwd(lambda v: gauss(v[None])[0])(y[0]).reshape(D, D)
    torch.testing.assert_close(exact, torch.eye(D, dtype=exact.dtype), atol=1e-9, rtol=0)
    torch.testing.assert_close(auto, exact, atol=1e-9, rtol=0)


@pytest.fixture
def train():
    gen = torch.Generator().manual_seed(3)
    return torch.rand(12, *SHAPE, generator=gen)


def test_empirical_oracle_is_the_posterior_mean(train):
    """At known sigma, x_hat = sum_n softmax(-|y - x_n|^2 / 2 sigma^2) x_n, for any chunking."""
    sigma = 0.4
    y = torch.rand(5, *SHAPE, dtype=torch.float64)
    d = (y.flatten(1)[:, None] - train.flatten(1).double()[None]).square().sum(-1)
    w = torch.softmax(-d / (2 * sigma**2), dim=1)
    expected = (w @ train.flatten(1).double()).view_as(y)
    for chunk in (1, 5, 100):
        got = EmpiricalOracle(train, sigma=sigma, chunk_size=chunk)(y)
        assert torch.allclose(got, expected, atol=1e-12)


def test_empirical_oracle_memorizes_at_low_noise(train):
    """As sigma -> 0 (blind), the output is the nearest training image."""
    y = train[[3, 7]] + 0.01 * torch.randn(2, *SHAPE)
    assert torch.allclose(EmpiricalOracle(train)(y), train[[3, 7]], atol=1e-6)


def test_empirical_blind_sigma_is_the_em_fixed_point(train):
    """sigma_hat^2 = sum_n w_n(sigma_hat) |y - x_n|^2 / D, and it tracks the true noise."""
    e = EmpiricalOracle(train)
    y = train[:4] + 0.2 * torch.randn(4, *SHAPE)
    s = e.estimate_sigma(y).double()
    d = e.sq_distances(y)
    w = torch.softmax(-d / (2 * s[:, None] ** 2), dim=1)
    assert torch.allclose(s**2, (w * d).sum(1) / e.dim, rtol=1e-5)
    assert ((s / 0.2 - 1).abs() < 0.35).all()  # D = 64: relative spread ~ 1/sqrt(2 D) = 0.09


def test_empirical_jacobian_is_posterior_covariance(train):
    """Tweedie, differentiated: dx_hat/dy = Cov[x | y] / sigma^2, checked against jacfwd."""
    e = EmpiricalOracle(train, sigma=0.5)
    y = torch.rand(1, *SHAPE, dtype=torch.float64)
    auto = torch.func.jacfwd(lambda v: e(v[None])[0])(y[0]).reshape(e.dim, e.dim)
    exact = e.jacobian(y)[0]
    assert torch.allclose(auto, exact, atol=1e-10)
    assert torch.linalg.eigvalsh(exact).min() > -1e-10  # a covariance


def test_blind_empirical_oracle_works_with_torch_func(train):
    """jacfwd and jacrev agree and match central finite differences."""
    e = EmpiricalOracle(train)
    y = (train[:1] + 0.5 * torch.randn(1, *SHAPE)).double()
    f = lambda v: e(v[None])[0].flatten()  # noqa: E731
    fwd = torch.func.jacfwd(f)(y[0])
    rev = torch.func.jacrev(f)(y[0])
    assert torch.allclose(fwd, rev, atol=1e-10)
    v = torch.randn_like(y)
    eps = 1e-6
    fd = (e(y + eps * v) - e(y - eps * v)).flatten() / (2 * eps)
    assert torch.allclose(fd, fwd.reshape(e.dim, e.dim) @ v.flatten(), atol=1e-5)
    assert fwd.abs().max() > 1e-3  # at this noise the posterior is spread: x_hat depends on y


def test_empirical_oracle_bad_input(train):
    with pytest.raises(ShapeError):
        EmpiricalOracle(train[0])
    with pytest.raises(ConfigError):
        EmpiricalOracle(train, sigma=0.0)
    bad = train.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(GahrError):
        EmpiricalOracle(bad)
    with pytest.raises(ShapeError):
        EmpiricalOracle(train)(torch.rand(1, 1, 4, 4))
    with pytest.raises(ConfigError):
        EmpiricalOracle(train).jacobian(train[:1])
