"""The deterministic sampler (beta = 1) and the noise level it hands to oracles (give_sigma)."""

import pytest
import torch

from gahr.oracles import EmpiricalOracle, GaussianFitOracle
from gahr.sample import PRESETS, Schedule, step_size, synthesize

SHAPE = (1, 6, 6)
DET = PRESETS["deterministic"]


@pytest.fixture(scope="module")
def train():
    gen = torch.Generator().manual_seed(2)
    smooth = torch.nn.functional.avg_pool2d(torch.rand(64, 1, 12, 12, generator=gen), 2)
    return smooth.clamp(0, 1)


class Recorder(torch.nn.Module):
    """An oracle that records the noise levels it is handed."""

    def __init__(self, oracle):
        super().__init__()
        self.oracle, self.seen = oracle, []

    def forward(self, y, sigma=None):
        self.seen.append(None if sigma is None else sigma.clone())
        return self.oracle(y, sigma=sigma)


def test_the_deterministic_preset_is_the_2021_one_without_injected_noise():
    assert DET == PRESETS["kadkhodaie2021"].deterministic()
    assert DET.beta == 1.0 and Schedule(beta=0.3, h_0=0.05).deterministic() == \
        Schedule(beta=1.0, h_0=0.05)
    _, gamma = DET.step(torch.arange(1, 40).numpy(), torch.full((39,), 0.7).numpy())
    assert (gamma == 0).all()


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_give_sigma_hands_the_schedules_noise_level(train, beta):
    """sigma_0 at the first call, then (1 - beta h_t) sigma_t: the level Algorithm 1 puts in
    y_t, from the effective noise sigma_t measured at the call before."""
    oracle = Recorder(GaussianFitOracle(train))
    calls = []
    r = synthesize(oracle, SHAPE, 3, DET.replace(beta=beta), seeds=[1, 2, 3], give_sigma=True,
                   start_mean=0.4, callback=lambda info: calls.append(
                       (info["index"].clone(), info["t"].clone(), info["sigma"].clone())))
    assert r.failed == [] and len(oracle.seen) == len(calls)
    assert torch.equal(oracle.seen[0], torch.ones(3, dtype=torch.float64))
    last = {}
    for (index, t, sigma), seen in zip(calls, oracle.seen, strict=True):
        for i, ti, si in zip(index.tolist(), t.tolist(), seen.tolist(), strict=True):
            if ti > 1:
                s_prev = last[i]
                h = float(step_size(ti - 1, DET.h_0, DET.rule))
                assert si == pytest.approx((1 - beta * h) * s_prev, rel=1e-12)
        last.update(zip(index.tolist(), sigma.tolist()))
    plain = synthesize(GaussianFitOracle(train), SHAPE, 3, DET.replace(beta=beta),
                       seeds=[1, 2, 3], start_mean=0.4)
    assert not torch.allclose(plain.samples, r.samples)  # the blind ML sigma differs


def test_a_deterministic_sample_is_a_function_of_its_start(train):
    """beta = 1: every update is y_t = y_{t-1} + h_t d_t exactly; the same seeds give the same
    start for any two denoisers and the same samples at any batch size."""
    starts, steps = {}, []

    def watch(name):
        def callback(info):
            if int(info["iteration"]) == 0:
                starts[name] = info["y"].clone()
            steps.append((info["index"].clone(), info["t"].clone(), info["y"].clone(),
                          info["d"].clone()))
        return callback
    fit = GaussianFitOracle(train)
    a = synthesize(fit, SHAPE, 4, DET, seeds=range(4), give_sigma=True, start_mean=0.4,
                   batch_size=4, callback=watch("fit"))
    b = synthesize(fit, SHAPE, 4, DET, seeds=range(4), give_sigma=True, start_mean=0.4,
                   batch_size=1)
    assert a.failed == [] and torch.equal(a.samples, b.samples)
    prev = {}
    for index, t, y, d in steps:
        for row, (i, ti) in enumerate(zip(index.tolist(), t.tolist(), strict=True)):
            if ti > 1:
                y0, d0 = prev[i]
                h = float(step_size(ti - 1, DET.h_0, DET.rule))
                torch.testing.assert_close(y[row], y0 + h * d0)
            prev[i] = (y[row], d[row])
    synthesize(EmpiricalOracle(train), SHAPE, 4, DET, seeds=range(4), start_mean=0.4,
               batch_size=4, callback=watch("memorizer"))
    assert torch.equal(starts["fit"], starts["memorizer"])


@pytest.mark.parametrize("give_sigma", [False, True])
def test_with_one_training_image_every_sample_is_that_image(train, give_sigma):
    """The memorizer of N = 1 returns x_1 at every call, so every seed ends at x_1."""
    r = synthesize(EmpiricalOracle(train[:1]), SHAPE, 5, DET, seeds=range(5), start_mean=0.4,
                   give_sigma=give_sigma)
    assert r.failed == []
    torch.testing.assert_close(r.samples, train[:1].expand(5, -1, -1, -1), atol=1e-6, rtol=0)
