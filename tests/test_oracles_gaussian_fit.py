"""The Gaussian denoiser fitted to a training set (Li et al. 2024) against its closed forms."""

import pytest
import torch

from gahr.errors import ConfigError, ShapeError
from gahr.oracles import GaussianFitOracle, GaussianOracle, power_law

SHAPE = (1, 4, 4)
EYE = torch.eye(16, dtype=torch.float64)


@pytest.fixture
def train():
    gen = torch.Generator().manual_seed(4)
    mix = torch.randn(16, 16, generator=gen, dtype=torch.float64) / 4  # correlated pixels
    return (0.5 + torch.randn(200, 16, generator=gen, dtype=torch.float64) @ mix).view(200,
                                                                                     *SHAPE)


def test_wiener_is_the_closed_form(train):
    """x_hat = mu + Sigma (Sigma + sigma^2 I)^-1 (y - mu), Sigma the biased sample covariance."""
    sigma = 0.3
    x = train.flatten(1)
    mu = x.mean(0)
    cov = torch.cov(x.T, correction=0)
    y = torch.rand(5, *SHAPE, dtype=torch.float64)
    rhs = (y.flatten(1) - mu).T
    expected = (mu[:, None] + cov @ torch.linalg.solve(cov + sigma**2 * EYE, rhs)).T
    for got in (GaussianFitOracle(train, sigma=sigma)(y),
                GaussianFitOracle(train).wiener(y, sigma)):
        torch.testing.assert_close(got.flatten(1), expected, atol=1e-10, rtol=0)


def test_blind_sigma_maximizes_the_gaussian_likelihood(train):
    o = GaussianFitOracle(train)
    y = train[:6] + 0.2 * torch.randn(6, *SHAPE, dtype=torch.float64)
    s = o.estimate_sigma(y)
    x = train.flatten(1)
    cov = torch.cov(x.T, correction=0)

    def loglik(s2):
        dist = torch.distributions.MultivariateNormal(x.mean(0), cov + s2 * EYE)
        return dist.log_prob(y.flatten(1)[i])

    for i in range(len(y)):
        for f in (0.97, 1.03):
            assert loglik(s[i] ** 2) > loglik((f * s[i]) ** 2)
        torch.testing.assert_close(o(y)[i], o.wiener(y[i:i + 1], float(s[i]))[0], atol=1e-12,
                                   rtol=0)


def test_fit_recovers_a_stationary_gaussian():
    """Fitted to many samples of a stationary Gaussian prior, it is that prior's Wiener filter
    (up to the sampling error of the covariance, ~ sqrt(D / N))."""
    gauss = GaussianOracle(power_law(f0=1 / 8), (1, 6, 6), mean=0.5)
    fit = GaussianFitOracle(gauss.sample(20000, torch.Generator().manual_seed(5)).double())
    assert fit.mse(0.2) == pytest.approx(gauss.mse(0.2), rel=0.03)
    y = gauss.sample(8, torch.Generator().manual_seed(6)).double() + 0.2 * torch.randn(8, 1, 6, 6)
    assert (fit.wiener(y, 0.2) - gauss.wiener(y, 0.2)).abs().max() < 0.03
    assert (fit(y) - gauss(y)).abs().max() < 0.05  # blind: both ML sigmas


def test_fewer_images_than_pixels_stays_in_their_span():
    """N < D: Sigma has rank N - 1; x_hat - mu lies in the span of the centred training
    images (the other directions get a gain ~ 1e-12 / sigma^2), blind as well."""
    x = torch.rand(5, *SHAPE, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    o = GaussianFitOracle(x)
    y = torch.rand(3, *SHAPE, dtype=torch.float64)
    out = (o(y).flatten(1) - o.mean)
    assert torch.isfinite(out).all() and (o.estimate_sigma(y) > 0).all()
    span = torch.linalg.qr((x.flatten(1) - o.mean).T).Q
    residual = out - (out @ span) @ span.T
    assert residual.abs().max() < 1e-9 and out.abs().max() > 1e-2


def test_jacobian_is_the_principal_component_shrinkage(train):
    o = GaussianFitOracle(train)
    sigma = 0.2
    J = o.jacobian(sigma)
    torch.testing.assert_close(J, J.T, atol=1e-12, rtol=0)
    gains = (o.eigenvalues / (o.eigenvalues + sigma**2)).sort().values
    torch.testing.assert_close(torch.linalg.eigvalsh(J), gains, atol=1e-10, rtol=0)
    y = train[:1] + 0.1
    auto = torch.func.jacfwd(lambda v: o.wiener(v[None], sigma)[0])(y[0]).reshape(16, 16)
    torch.testing.assert_close(auto, J, atol=1e-10, rtol=0)


def test_gaussian_fit_bad_input(train):
    with pytest.raises(ShapeError, match=r"\(N, C, H, W\)"):
        GaussianFitOracle(train[0])
    with pytest.raises(ConfigError, match="N >= 2"):
        GaussianFitOracle(train[:1])
    with pytest.raises(ConfigError, match="or None"):
        GaussianFitOracle(train, sigma=-1.0)
    with pytest.raises(ConfigError, match="downsample"):
        GaussianFitOracle(torch.zeros(2, 1, 129, 128))
    with pytest.raises(ShapeError, match=r"pass \(B, 1, 4, 4\)"):
        GaussianFitOracle(train)(torch.rand(1, 1, 4, 5))
