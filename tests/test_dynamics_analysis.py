"""Memorization in time, the analysis layer: crossing times, tau_mem, exponent, Gaussian share."""

import math

import numpy as np
import pytest
import torch

from gahr.analysis import memorization as mem
from gahr.analysis.dynamics import (
    crossing_step,
    exponent,
    f_mem_curve,
    gaussian_share,
    identity_psnr,
    onset_n,
    tau_best,
    tau_gen,
    tau_mem,
)
from gahr.errors import ConfigError, DataError
from gahr.oracles import GaussianFitOracle


def test_crossing_is_interpolated_in_log_steps():
    assert crossing_step([10, 100, 1000], [0.0, 0.4, 0.8], 0.2) == pytest.approx(math.sqrt(1000))
    assert crossing_step([10, 100, 1000], [0.5, 0.6, 0.7], 0.2) == 10  # already at the first
    assert crossing_step([10, 100, 1000], [0.0, 0.1, 0.2], 0.2) is None  # "exceeds": strictly
    with pytest.raises(DataError):
        crossing_step([100, 10], [0, 1], 0.5)


def test_tau_mem_and_its_interval():
    steps = [10, 100, 1000, 10000]
    flags = np.zeros((4, 40))
    flags[2:, :] = 1  # every sample a copy from step 1000 on
    found = tau_mem(steps, flags, 0.5, n_resamples=200)
    # f_mem jumps 0 -> 1 between 100 and 1000: crossing 0.5 halfway in log steps
    assert found["value"] == pytest.approx(math.sqrt(100 * 1000))
    assert found["low"] == pytest.approx(found["value"]) == pytest.approx(found["high"])
    flags[2, 20:] = 0  # f_mem exactly 0.5 at step 1000 (not above): it crosses right after
    found = tau_mem(steps, flags, 0.5, n_resamples=500)
    assert found["value"] == pytest.approx(1000)
    # resamples with more copies at step 1000 cross before it, those with fewer after it
    assert 100 < found["low"] < 1000 < found["high"] < 10000
    never = tau_mem(steps, np.zeros((4, 10)), 0.5, n_resamples=50)
    assert never["value"] is None and not never["reached"] and never["high"] is None


def test_exponent_recovers_a_power_law_with_an_interval():
    ns = [4, 8, 16, 32]
    taus = [30.0 * n ** 1.0 for n in ns]
    rng = np.random.default_rng(0)
    reps = [t * np.exp(rng.normal(0, 0.1, 400)) for t in taus]
    e = exponent(ns, taus, reps)
    assert e["value"] == pytest.approx(1.0) and e["n"] == 4
    assert e["low"] < 1.0 < e["high"] and e["high"] - e["low"] < 0.5
    reps[0][:100] = np.inf  # a quarter of the resamples never cross: no honest interval
    assert exponent(ns, taus, reps)["low"] is None
    assert exponent([4], [10.0]) is None


def test_tau_best_is_where_the_test_psnr_nears_its_best():
    steps = [10, 100, 1000, 10000]
    assert tau_best(steps, [20.0, 24.0, 25.0, 23.0], 1.0) == pytest.approx(100)
    assert tau_best(steps, [20.0, 24.0, 25.0, 23.0], 0.5) == pytest.approx(
        math.exp(math.log(100) + 0.5 * math.log(10)))  # 24.5 halfway from 24 to 25
    # a net that falls from its start (memorizes at once) or gains no more than the margin has
    # no generalization phase: no tau_best, not its first step
    assert tau_best(steps, [19.1, 19.2, 14.6, 13.4], 0.5) is None
    assert tau_best(steps, [19.1, 19.5, 17.0, 16.0], 0.5) is None
    assert tau_best(steps, [19.1, 19.7, 17.0, 16.0], 0.5) == pytest.approx(
        10 ** (1 + 0.1 / 0.6))  # 19.2, a sixth of the way from 19.1 to 19.7


def test_tau_gen_is_where_the_test_psnr_first_beats_the_identity_by_the_gain():
    sigmas = [5 / 255, 25 / 255, 50 / 255, 100 / 255]
    reference = identity_psnr(sigmas)
    assert reference == pytest.approx(np.mean([20 * math.log10(255 / s) for s in (5, 25, 50, 100)]))
    assert identity_psnr([0.1]) == pytest.approx(20.0)
    steps = [10, 100, 1000, 10000]
    # 1 dB above the identity halfway (in log steps) between 10 and 100, whatever comes later
    curve = [reference, reference + 2, reference + 5, reference - 3]
    assert tau_gen(steps, curve, reference, 1.0) == pytest.approx(10 ** 1.5)
    assert tau_gen(steps, [reference + 0.5, reference - 4, reference - 6, reference - 7],
                   reference, 1.0) is None  # memorizes before it generalizes
    with pytest.raises(DataError):
        identity_psnr([0.0])


def test_onset_n_is_where_the_final_f_mem_falls_through_the_threshold():
    found = onset_n([2, 4, 8, 16], [1.0, 0.8, 0.1, 0.0], 0.5)
    assert found == pytest.approx(math.exp(math.log(4) + 0.3 / 0.7 * math.log(2)))
    assert onset_n([2, 4], [0.9, 0.8], 0.5) is None  # every N memorizes: outside the sweep
    assert onset_n([2, 4], [0.1, 0.0], 0.5) is None


def test_ratio_test_flags_each_sample():
    d = torch.tensor([[1.0, 4.0], [1.0, 2.0], [0.0, 0.0]])
    assert mem.ratio_test(d).tolist() == [True, False, False]
    assert mem.ratio_test_fraction(d) == pytest.approx(1 / 3)


def test_gaussian_share_is_one_for_the_wiener_denoiser_and_exact_for_a_scaled_one():
    g = torch.Generator().manual_seed(0)
    train = torch.rand(20, 1, 4, 4, generator=g)
    test = torch.rand(12, 1, 4, 4, generator=g)
    oracle = GaussianFitOracle(train)
    sigmas = [0.1, 0.5]

    def wiener(y, sigma=None):
        return oracle.wiener(y, sigma)

    wiener.blind = False
    assert all(v == pytest.approx(1.0) for v in
               gaussian_share(wiener, oracle, test, sigmas, seed=1).values())
    mu = oracle.mean.view(1, 1, 4, 4).float()

    def doubled(y, sigma=None):  # mu + 2 (G(y) - mu): share 1 - (1 - 2)^2 / 2^2 = 0.75
        return mu + 2 * (oracle.wiener(y, sigma) - mu)

    doubled.blind = False
    for v in gaussian_share(doubled, oracle, test, sigmas, seed=1).values():
        assert v == pytest.approx(0.75, abs=1e-5)


def test_failed_samples_are_left_out_of_f_mem_and_tau_mem():
    nan = np.nan
    flags = np.array([[0, 0, nan, nan], [1, nan, nan, 0], [1, 1, nan, 1]], dtype=float)
    assert np.allclose(f_mem_curve(flags), [0, 0.5, 1])
    assert np.isnan(f_mem_curve([[nan, nan]]))[0]
    found = tau_mem([10, 100, 1000], flags, 0.25, n_resamples=100)
    # f_mem 0 -> 0.5 between steps 10 and 100: 0.25 is crossed halfway in log steps
    assert found["value"] == pytest.approx(math.sqrt(10 * 100))


def test_a_copy_at_another_contrast_is_a_copy_under_the_cosine_distance_only():
    g = torch.Generator().manual_seed(0)
    train = torch.rand(3, 1, 8, 8, generator=g)
    samples = torch.stack([0.4 * train[0] + 0.1,  # training image 0, dimmer and brighter
                           train[1] + 0.001 * torch.randn(1, 8, 8, generator=g),  # near-copy
                           0.5 * (train[0] + train[2])])  # a blend: no copy
    cosine = mem.copy_distances(samples, train, "cosine")
    l2 = mem.copy_distances(samples, train, "l2")
    assert cosine[0, 0] < 1e-3 and l2[0, 0] > 1  # exact closed form: mean-removed, it is train[0]
    assert mem.ratio_test(cosine).tolist() == [True, True, False]
    assert mem.ratio_test(l2).tolist() == [False, True, False]
    c = mem.nearest_neighbors(samples, train, k=2, metric="cosine").values
    assert torch.allclose(cosine, (2 - 2 * c).clamp_min(0).sqrt())
    with pytest.raises(ConfigError, match="copy distance"):
        mem.copy_distances(samples, train, "manhattan")
