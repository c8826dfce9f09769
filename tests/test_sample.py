"""The batched sampler against a one-image loop, a Gaussian prior and a finite training set."""

import math

import numpy as np
import pytest
import torch

from gahr.errors import ConfigError, ShapeError
from gahr.oracles import EmpiricalOracle, GaussianOracle, power_law
from gahr.sample import PRESETS, FixedBudget, Schedule, synthesize, synthesize_budget
from gahr.sample.spectrum import band_mean, band_power, expected_band_power, radial_bands

SHAPE = (1, 8, 8)
HALF = Schedule(beta=0.5)



@pytest.fixture(scope="module")
def gauss():
    return GaussianOracle(power_law(f0=1 / 8), SHAPE, mean=0.5)


def reference(denoiser, seed, sigma_L=0.01, h_0=0.01, beta=0.01, noise_seed=None):
    """Algorithm 1 for one image, written plainly: the specification the batched loop meets."""
    gen = torch.Generator().manual_seed(seed)
    y = 0.5 + torch.randn(SHAPE, generator=gen)
    noise = gen if noise_seed is None else torch.Generator().manual_seed(noise_seed)
    t = 1
    while True:
        x_hat = denoiser(y[None])[0]
        d = x_hat - y
        sigma = float(d.double().norm()) / math.sqrt(d.numel())
        if sigma < sigma_L:
            return x_hat, t
        h = h_0 * t / (1 + h_0 * (t - 1))
        gamma = math.sqrt((1 - beta * h) ** 2 - (1 - h) ** 2) * sigma
        y = y + h * d + gamma * torch.randn(SHAPE, generator=noise)
        t += 1


def test_batched_sampler_equals_the_one_image_loop(gauss):
    seeds = [11, 12, 13, 14]
    refs = [reference(gauss, s, beta=0.3) for s in seeds]
    for batch_size in (1, 3):
        r = synthesize(gauss, SHAPE, 4, Schedule(beta=0.3), seeds=seeds, batch_size=batch_size)
        assert r.failed == []
        for i, (x, t) in enumerate(refs):
            assert int(r.steps[i]) == t
            assert torch.allclose(r.samples[i], x, atol=1e-5)
            assert len(r.sigmas[i]) == t


def test_a_sample_depends_on_its_seed_only(gauss):
    """Same seed, any batch size and any batch mates: bit-identical sample (the memorization
    experiment feeds the same noise to two denoisers this way)."""
    a = synthesize(gauss, SHAPE, 6, HALF, seeds=[1, 2, 3, 4, 5, 6], batch_size=4)
    b = synthesize(gauss, SHAPE, 3, HALF, seeds=[9, 4, 7], batch_size=3)
    c = synthesize(gauss, SHAPE, 1, HALF, seeds=[4])
    assert torch.equal(a.samples[3], b.samples[1]) and torch.equal(b.samples[1], c.samples[0])
    assert not torch.equal(a.samples[0], a.samples[1])
    g1 = synthesize(gauss, SHAPE, 3, HALF, generator=torch.Generator().manual_seed(5))
    g2 = synthesize(gauss, SHAPE, 3, HALF, generator=torch.Generator().manual_seed(5))
    assert torch.equal(g1.samples, g2.samples) and g1.seeds == g2.seeds


def test_beta_one_is_deterministic(gauss):
    """beta = 1 injects no noise (gamma = 0): the sample is a function of y_0 alone."""
    x, _ = reference(gauss, 3, beta=1.0)
    x_other_noise, _ = reference(gauss, 3, beta=1.0, noise_seed=99)
    assert torch.equal(x, x_other_noise)
    r = synthesize(gauss, SHAPE, 1, Schedule(beta=1.0), seeds=[3])
    assert torch.allclose(r.samples[0], x, atol=1e-5)
    y, _ = reference(gauss, 3, beta=0.5)
    y_other_noise, _ = reference(gauss, 3, beta=0.5, noise_seed=99)
    assert not torch.allclose(y, y_other_noise, atol=1e-3)


def _spectrum_check(r, oracle, h_max, n):
    """Band power of the samples against P^2 / (P + s_f^2) (the last iterate's noise s_f,
    recovered from its effective noise, Wiener-denoised).

    Tolerance per band, in log power: 4 standard errors of the band mean plus h_max / 2.
    Standard error: |c_k|^2 is exponential (relative variance 1) and c_{-k} = conj(c_k), so
    a band of frequencies with expected powers E_k, over n samples, has relative variance
    2 sum E_k^2 / (n (sum E_k)^2). Discretization: per step the variance of a frequency with
    prior power P falls short of the ideal P + s^2 by h^2 s^2 P / (P + s^2); relaxing at rate
    2 h s^2 / (P + s^2), the shortfall settles at h P / 2, a relative bias of at most h / 2.
    """
    final = torch.stack([s[-1] for s in r.sigmas])
    expected = expected_band_power(oracle, final)
    measured = band_power(r.samples, oracle.mean)
    P = oracle.spectrum[0].double()
    bands = radial_bands(*P.shape).flatten()
    E = (P**2 / (P + float(final.mean()) ** 2)).flatten()
    rel_var = torch.stack([2 * (E[bands == b] ** 2).sum() / (n * E[bands == b].sum() ** 2)
                           for b in range(len(expected))])
    tolerance = 4 * rel_var.sqrt() + h_max / 2
    assert ((measured / expected).log().abs() <= tolerance).all(), (measured / expected)


def test_constant_step_samples_have_the_prior_spectrum():
    """Constant small step: the samples' spectrum is the prior's, after the final denoising.

    The prior's largest power (0.27) stays below sigma_0^2 = 1, as the algorithm assumes."""
    oracle = GaussianOracle(power_law(f0=1 / 8), (1, 16, 16), mean=0.5)
    n, h_0 = 128, 0.05
    schedule = Schedule(rule="constant", h_0=h_0, beta=0.5, sigma_L=0.05)
    r = synthesize(oracle, (1, 16, 16), n, schedule, seeds=range(n))
    assert r.failed == []
    _spectrum_check(r, oracle, h_0, n)
    # without the final-denoising correction the high bands would be far off
    naive = band_mean(oracle.spectrum)
    assert (band_power(r.samples, 0.5) / naive)[-1] < 0.8


def test_growing_step_spectrum_within_its_larger_step(gauss):
    """The 2021 defaults: h_t grows towards 1, so the discretization bias bound h_max/2 is
    larger (h_max is the last step size used)."""
    n = 96
    r = synthesize(gauss, SHAPE, n, seeds=range(n))
    t = int(r.steps.max())
    h_max = 0.01 * t / (1 + 0.01 * (t - 1))
    _spectrum_check(r, gauss, h_max, n)


@pytest.mark.slow
def test_constant_step_needs_many_more_calls(gauss):
    """The issue's trade-off: the 2024 constant step costs ~10x the calls of the 2021 rule."""
    grow = synthesize(gauss, SHAPE, 4, PRESETS["kadkhodaie2021"], seeds=range(4))
    const = synthesize(gauss, SHAPE, 4, PRESETS["kadkhodaie2024"], seeds=range(4))
    ratio = const.steps.double().mean() / grow.steps.double().mean()
    assert 5 < ratio < 40


def test_empirical_oracle_samples_are_training_images():
    """With the memorizing MMSE denoiser every sample is (a copy of) a training image."""
    gen = torch.Generator().manual_seed(1)
    train = GaussianOracle(power_law(f0=1 / 8), SHAPE, mean=0.5).sample(10, gen).clamp(0, 1)
    # beta = 0.1 as in the 2024 paper: with beta = 0.01 sigma_t = |d| / sqrt(D), which here
    # overestimates the noise between training images, makes a few samples diverge.
    r = synthesize(EmpiricalOracle(train), SHAPE, 8, Schedule(beta=0.1), seeds=range(8))
    assert r.failed == []
    s, t = r.samples.flatten(1), train.flatten(1)
    cos = torch.nn.functional.cosine_similarity(s[:, None], t[None], dim=-1)
    assert (cos.max(1).values > 0.99).all()
    nearest = t[cos.argmax(1)]
    assert ((s - nearest).norm(dim=1) < 0.01 * (nearest - 0.5).norm(dim=1)).all()
    assert len(set(cos.argmax(1).tolist())) > 1  # not one image for every seed


def test_fixed_budget_has_exactly_its_calls(gauss):
    r = synthesize(gauss, SHAPE, 6, FixedBudget(num_steps=40, sigma_L=0.02), seeds=range(6))
    assert r.failed == [] and (r.steps == 41).all()
    final = torch.stack([s[-1] for s in r.sigmas])
    assert (final < 2 * 0.02).all()
    # the effective noise never lags the geometric targets (it may run ahead of them: for
    # this prior |d| / sqrt(D) underestimates the noise, which speeds up its decay)
    sig = torch.stack(r.sigmas).mean(0)
    target = 1.0 * (0.02 / 1.0) ** (torch.arange(41, dtype=torch.float64) / 40)
    assert (sig[1:] <= 1.1 * target[:-1]).all()


def test_failures_are_reported_and_never_returned_as_images(gauss):
    """Samples whose start trips the denoiser fail by index with NaN rows; the others are
    exactly those of a clean run."""
    clean, poisoned = [0, 1, 4, 5], [2, 3]
    starts = torch.stack([0.5 + torch.randn(SHAPE, generator=torch.Generator().manual_seed(s))
                          for s in poisoned])

    def fragile(y):  # NaN for exactly the two poisoned starting points
        bad = (y[:, None] == starts[None]).flatten(2).all(-1).any(-1).view(-1, 1, 1, 1)
        x_hat = gauss(y)
        return torch.where(bad, torch.full_like(x_hat, float("nan")), x_hat)

    r = synthesize(fragile, SHAPE, 6, seeds=[0, 1, 2, 3, 4, 5], batch_size=3)
    assert r.failed == [2, 3] and "diverged" in r.reasons[2]
    assert torch.isnan(r.samples[[2, 3]]).all() and torch.isfinite(r.good()).all()
    ok = synthesize(gauss, SHAPE, 4, seeds=clean)
    assert torch.equal(r.good(), ok.samples)


def test_running_out_of_steps_is_a_failure(gauss):
    r = synthesize(gauss, SHAPE, 3, Schedule(max_steps=5), seeds=range(3))
    assert r.failed == [0, 1, 2] and (r.steps == 5).all()
    assert "5 calls" in r.reasons[0] and torch.isnan(r.samples).all()


def test_callback_sees_every_call(gauss):
    seen = {}

    def callback(info):
        for i, s in zip(info["index"].tolist(), info["sigma"].tolist()):
            seen.setdefault(i, []).append(s)
        assert info["y"].shape == info["x_hat"].shape == (len(info["index"]), *SHAPE)

    r = synthesize(gauss, SHAPE, 5, Schedule(beta=0.3), seeds=range(5), batch_size=2,
                   callback=callback)
    for i in range(5):
        assert seen[i] == r.sigmas[i].tolist() and len(seen[i]) == int(r.steps[i])


def test_save_writes_a_plain_npz(tmp_path, gauss):
    r = synthesize(gauss, SHAPE, 3, Schedule(max_steps=400), seeds=[0, 1, 2])
    path = r.save(tmp_path / "s.npz")
    with np.load(path, allow_pickle=False) as f:
        assert f["samples"].shape == (3, *SHAPE)
        assert list(f["seeds"]) == [0, 1, 2]
        assert f["sigmas"].shape[0] == 3 and np.array_equal(f["steps"], r.steps.numpy())


def test_bad_arguments(gauss):
    with pytest.raises(ShapeError):
        synthesize(gauss, (8, 8), 2)
    with pytest.raises(ConfigError):
        synthesize(gauss, SHAPE, 2, seeds=[1])
    with pytest.raises(ConfigError):
        synthesize(gauss, SHAPE, 2, seeds=[1, 2], generator=torch.Generator())
    with pytest.raises(ConfigError):
        Schedule(rule="linear")
    with pytest.raises(ConfigError):
        Schedule(h_0=1.5)
    with pytest.raises(ConfigError):
        Schedule(sigma_L=0.0)
    with pytest.raises(ConfigError):
        Schedule(sigma_0=0.0)
    with pytest.raises(ConfigError, match="pass a gahr.sample.Schedule"):
        synthesize(gauss, SHAPE, 2, torch.Generator())
    with pytest.raises(TypeError, match="sigma_l"):
        synthesize(gauss, SHAPE, 2, sigma_l=0.1)
    with pytest.raises(ShapeError):
        synthesize(lambda y: y[:, :, :4], SHAPE, 2)
    with pytest.raises(ShapeError):
        synthesize(gauss, SHAPE, 2, start_mean=torch.zeros(3))


def test_the_old_keywords_still_work_for_a_release(gauss):
    """Deprecated until 0.2: the schedule's settings as keywords, `**PRESETS[name]`, and
    `synthesize_budget` give the same samples as the Schedule object."""
    new = synthesize(gauss, SHAPE, 2, Schedule(beta=0.3, max_steps=400), seeds=[0, 1])
    with pytest.deprecated_call():
        old = synthesize(gauss, SHAPE, 2, seeds=[0, 1], beta=0.3, max_steps=400)
    assert torch.equal(new.samples, old.samples)
    with pytest.deprecated_call():
        unpacked = synthesize(gauss, SHAPE, 2, seeds=[0, 1], **PRESETS["kadkhodaie2021"])
    assert torch.equal(unpacked.samples,
                       synthesize(gauss, SHAPE, 2, PRESETS["kadkhodaie2021"], seeds=[0, 1]).samples)
    with pytest.deprecated_call():
        budget = synthesize_budget(gauss, SHAPE, 2, 10, seeds=[0, 1], sigma_L=0.02)
    assert torch.equal(budget.samples, synthesize(gauss, SHAPE, 2, FixedBudget(10, sigma_L=0.02),
                                                  seeds=[0, 1]).samples)
    with pytest.deprecated_call():
        from gahr.sample import Algorithm1
    assert Algorithm1 is Schedule
