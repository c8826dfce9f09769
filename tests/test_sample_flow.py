"""Probability-flow samplers (EDM's Heun, DDIM) and the sampler registry, on a conditional
Gaussian denoiser whose ODE is solved in closed form."""

import numpy as np
import pytest
import torch

from gahr.errors import ConfigError, SamplingError
from gahr.oracles import GaussianOracle, power_law
from gahr.sample import (
    PRESETS,
    ProbabilityFlow,
    preset,
    register_sampler,
    solve,
    synthesize,
)
from gahr.sample.flow import karras_sigmas
from gahr.sample.operators import random_pixels
from gahr.sample.spectrum import band_mean, band_power, radial_bands

SHAPE = (1, 16, 16)
SIGMA_0 = 20.0  # >> the prior's largest std (0.52): y_0 = mean + sigma_0 z is ~ p_{sigma_0}


class ConditionalGaussian(torch.nn.Module):
    """The MMSE denoiser of N(0.5, C) at the sigma it is handed (a conditional model)."""

    blind = False
    channels, image_size, meta = 1, 16, {}

    def __init__(self):
        super().__init__()
        self.oracle = GaussianOracle(power_law(f0=1 / 8), SHAPE, mean=0.5)

    def forward(self, y, sigma=None):
        assert sigma is not None, "a conditional model must be handed sigma"
        return self.oracle(y, sigma=sigma)


@pytest.fixture(scope="module")
def gauss():
    return ConditionalGaussian()


def exact_gain(P: torch.Tensor, grid: np.ndarray, method: str) -> torch.Tensor:
    """Per Fourier mode of power P the ODE dc/dsigma = f(sigma) c, f = sigma / (P + sigma^2),
    is scalar: the discrete solver multiplies c by a known gain per step."""
    g = torch.ones_like(P, dtype=torch.float64)
    P = P.double()
    for s, s_next in zip(grid[:-1], grid[1:]):
        f = s / (P + s**2)
        euler = 1 + (s_next - s) * f
        if method == "heun" and s_next > 0:
            f_next = s_next / (P + s_next**2)
            euler = 1 + (s_next - s) * (f + f_next * euler) / 2
        g = g * euler
    return g


@pytest.mark.parametrize("method", ["heun", "ddim"])
def test_each_sample_is_the_closed_form_solution_of_its_seed(gauss, method):
    """Sample = mean + F^-1 (g F(sigma_0 z)), z the seed's noise, g the discrete gain."""
    sampler = PRESETS[method].replace(sigma_0=SIGMA_0)
    r = synthesize(gauss, SHAPE, 3, sampler, seeds=[4, 5, 6])
    grid = sampler.sigmas(gauss)
    assert r.failed == [] and int(r.steps[0]) == sampler.calls()
    gain = exact_gain(gauss.oracle.spectrum, grid, method)
    for sample, seed in zip(r.samples, [4, 5, 6]):
        z = torch.randn(SHAPE, generator=torch.Generator().manual_seed(seed)).double()
        want = 0.5 + torch.fft.ifft2(gain * torch.fft.fft2(SIGMA_0 * z)).real
        assert float((sample.double() - want).abs().max()) < 1e-4


@pytest.mark.parametrize("method, bias", [("heun", 0.11), ("ddim", 0.17)])
def test_samples_have_the_prior_spectrum(gauss, method, bias):
    """Band power of 128 samples against the prior's P. Tolerance per band in log power: 4
    standard errors of the band mean (|c_k|^2 exponential, c_{-k} = conj(c_k): relative
    variance 2 sum P_k^2 / (n (sum P_k)^2)) plus the solver's bias, which the exact discrete
    gain bounds: max |log| of its power over P (sigma_0^2 / (P + sigma_0^2), the start's
    shortfall, is < 0.1 %) is 0.103 for Heun's 18 steps and 0.160 for DDIM's 35."""
    n = 128
    sampler = PRESETS[method].replace(sigma_0=SIGMA_0)
    r = synthesize(gauss, SHAPE, n, sampler, seeds=range(n), batch_size=64)
    P = gauss.oracle.spectrum[0].double()
    solver = exact_gain(P, sampler.sigmas(gauss), method) ** 2 * SIGMA_0**2
    assert float((solver / P).log().abs().max()) <= bias
    bands = radial_bands(*P.shape).flatten()
    E = P.flatten()
    rel_var = torch.stack([2 * (E[bands == b] ** 2).sum() / (n * E[bands == b].sum() ** 2)
                           for b in range(8)])
    log_err = (band_power(r.samples, 0.5) / band_mean(P)).log().abs()
    assert (log_err <= 4 * rel_var.sqrt() + bias).all(), log_err


@pytest.mark.parametrize("method, order", [("heun", 2), ("ddim", 1)])
def test_the_solvers_converge_at_their_order(gauss, method, order):
    """Doubling the steps divides the power error by about 2^order (Heun second order, DDIM
    = Euler first order): the grid and the steps are the ODE's, not another process."""
    P = gauss.oracle.spectrum[0].double()
    errors = [float((exact_gain(P, ProbabilityFlow(method, k, SIGMA_0).sigmas(gauss), method)
                     ** 2 * SIGMA_0**2 / P).log().abs().max()) for k in (36, 72, 144)]
    ratios = [a / b for a, b in zip(errors, errors[1:])]
    assert all(0.8 * 2**order < r < 1.4 * 2**order for r in ratios), ratios


def test_same_seed_same_sample_whatever_the_batch(gauss):
    a = synthesize(gauss, SHAPE, 4, "heun", seeds=[1, 2, 3, 4], batch_size=4)
    b = synthesize(gauss, SHAPE, 2, "heun", seeds=[3, 9], batch_size=1)
    c = synthesize(gauss, SHAPE, 4, "heun", seeds=[1, 2, 3, 4], batch_size=4)
    assert torch.equal(a.samples, c.samples)
    assert torch.allclose(a.samples[2], b.samples[0], atol=1e-6)
    assert not torch.allclose(a.samples[0], a.samples[1])


def test_callback_sees_each_step_at_its_grid_level(gauss):
    seen = []
    sampler = ProbabilityFlow("ddim", num_steps=6, sigma_0=2.0, sigma_L=0.01)
    synthesize(gauss, SHAPE, 2, sampler, seeds=[0, 1],
               callback=lambda info: seen.append(info["t"].tolist()))
    assert seen == [[k, k] for k in range(1, 7)]
    grid = sampler.sigmas(gauss)
    assert np.allclose(grid, karras_sigmas(6, 2.0, 0.01)) and grid[-1] == 0
    assert np.allclose(grid[[0, -2]], [2.0, 0.01])


def test_table_grid_uses_the_denoisers_table(gauss):
    class Tabled(ConditionalGaussian):
        table_sigmas = np.geomspace(0.005, 5.0, 100)

    sampler = ProbabilityFlow("ddim", num_steps=10, grid="table")
    grid = sampler.sigmas(Tabled())
    assert len(grid) == 11 and grid[0] == 5.0 and grid[-2] == 0.005 and grid[-1] == 0
    assert set(grid[:-1]) <= set(Tabled.table_sigmas)
    with pytest.raises(SamplingError, match="table"):
        sampler.sigmas(gauss)


def test_a_user_defined_schedule_object_runs_algorithm_1(gauss):
    """Any object with sigma_0, limit(), done(t, sigma), step(t, sigma) is a schedule."""
    class Halving:
        sigma_0, calls = 1.0, 0

        def limit(self):
            return 50

        def done(self, t, sigma):
            return t > 4

        def step(self, t, sigma):
            Halving.calls += len(t)  # sample-steps taken
            return np.full(len(t), 0.5), np.zeros(len(t))

    r = synthesize(gauss, SHAPE, 2, Halving(), seeds=[0, 1])
    assert r.failed == [] and r.steps.tolist() == [5, 5] and Halving.calls == 8
    register_sampler("halving", Halving())
    try:
        again = synthesize(gauss, SHAPE, 2, preset("halving"), seeds=[0, 1])
        assert torch.equal(again.samples, r.samples)
        with pytest.raises(ConfigError, match="no changes"):
            preset("halving", sigma_L=0.1)
    finally:
        del PRESETS["halving"]


def test_bad_samplers_are_refused(gauss):
    with pytest.raises(ConfigError, match="not a sampler"):
        register_sampler("nothing", object())
    with pytest.raises(ConfigError, match="no setting h_0"):
        preset("heun", h_0=0.1)
    with pytest.raises(ConfigError, match="unknown sampler preset"):
        preset("eulerr")
    with pytest.raises(ConfigError, match="schedule="):
        synthesize(gauss, SHAPE, 1, object())
    op = random_pixels(SHAPE, 0.5, generator=torch.Generator().manual_seed(0))
    m = op.measure(torch.full((1, *SHAPE), 0.5))
    with pytest.raises(ConfigError, match="schedule="):
        solve(gauss, op, m, PRESETS["heun"])
