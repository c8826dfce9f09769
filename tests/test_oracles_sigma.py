"""Oracles at a noise level given per call, the local machines at some pixels or another patch
size, and the patch size that follows the noise level."""

import math

import pytest
import torch

from gahr.errors import ConfigError, ShapeError
from gahr.oracles import (
    EmpiricalOracle,
    GaussianFitOracle,
    GaussianOracle,
    LocalEmpiricalOracle,
    PatchSizeSchedule,
    power_law,
)

SHAPE = (1, 5, 4)
SIGMAS = torch.tensor([0.1, 0.3, 0.6], dtype=torch.float64)


@pytest.fixture
def train():
    return torch.rand(8, *SHAPE, generator=torch.Generator().manual_seed(3))


@pytest.fixture
def noisy(train):
    gen = torch.Generator().manual_seed(4)
    return (train[:3] + SIGMAS.view(-1, 1, 1, 1) * torch.randn(3, *SHAPE, generator=gen,
                                                                dtype=torch.float64)).double()


def built_at(kind, train, sigma):
    """The oracle of `kind` built at a fixed `sigma` (None: blind)."""
    return {"empirical": lambda: EmpiricalOracle(train, sigma=sigma),
            "fit": lambda: GaussianFitOracle(train, sigma=sigma),
            "els": lambda: LocalEmpiricalOracle(train, 3, True, sigma),
            "ls": lambda: LocalEmpiricalOracle(train, 3, False, sigma, "zero")}[kind]()


@pytest.mark.parametrize("kind", ["empirical", "fit", "els", "ls"])
def test_sigma_at_the_call_is_the_oracle_built_at_that_sigma(kind, train, noisy):
    """forward(y, sigma=s) of a blind oracle (and of one built at another sigma) equals the
    oracle built at s, for one s and for one s per image."""
    for oracle in (built_at(kind, train, None), built_at(kind, train, 0.9)):
        torch.testing.assert_close(oracle(noisy, sigma=0.2), built_at(kind, train, 0.2)(noisy))
        expected = torch.cat([built_at(kind, train, float(s))(noisy[i:i + 1])
                              for i, s in enumerate(SIGMAS)])
        torch.testing.assert_close(oracle(noisy, sigma=SIGMAS), expected)


def test_gaussian_oracle_takes_sigma_at_the_call():
    oracle = GaussianOracle(power_law(2.0), SHAPE, mean=0.4)
    y = torch.rand(3, *SHAPE, dtype=torch.float64)
    torch.testing.assert_close(oracle(y, sigma=SIGMAS), oracle.wiener(y, SIGMAS))
    assert not torch.allclose(oracle(y, sigma=SIGMAS), oracle(y))  # blind: another sigma


def test_bad_sigmas_are_refused(train, noisy):
    oracle = EmpiricalOracle(train)
    with pytest.raises(ShapeError, match="2 sigmas for 3 images"):
        oracle(noisy, sigma=SIGMAS[:2])
    for bad in (0.0, -1.0, math.nan, torch.tensor([0.1, 0.0, 0.2])):
        with pytest.raises(ConfigError, match="> 0"):
            oracle(noisy, sigma=bad)


@pytest.mark.parametrize("equivariant", [True, False])
@pytest.mark.parametrize("boundary", ["circular", "zero", "broken"])
def test_denoise_pixels_is_forward_at_those_pixels(train, noisy, equivariant, boundary):
    oracle = LocalEmpiricalOracle(train, 3, equivariant, None, boundary, block_size=7)
    full = oracle(noisy, sigma=SIGMAS).flatten(2)
    gen = torch.Generator().manual_seed(0)
    pixels = torch.stack([torch.randperm(20, generator=gen)[:6] for _ in range(3)])
    got = oracle.denoise_pixels(noisy, pixels, sigma=SIGMAS)
    assert got.shape == (3, 1, 6)
    torch.testing.assert_close(got, full.gather(2, pixels[:, None, :]))
    with pytest.raises(ShapeError, match="flat indices"):
        oracle.denoise_pixels(noisy, pixels + 20)


def test_with_patch_size_is_a_new_machine_on_the_same_pixels(train, noisy):
    oracle = LocalEmpiricalOracle(train, 3, sigma=0.3)
    wider = oracle.with_patch_size(5)
    assert (oracle.patch_size, wider.patch_size) == (3, 5)
    assert wider.pixels.data_ptr() == oracle.pixels.data_ptr()
    torch.testing.assert_close(wider(noisy), LocalEmpiricalOracle(train, 5, sigma=0.3)(noisy))
    torch.testing.assert_close(oracle(noisy), LocalEmpiricalOracle(train, 3, sigma=0.3)(noisy))
    with pytest.raises(ConfigError, match="odd"):
        oracle.with_patch_size(4)


def test_patch_size_schedule_takes_the_nearest_level_in_log_sigma(train, noisy):
    base = LocalEmpiricalOracle(train, 1)
    schedule = PatchSizeSchedule(base, {0.1: 1, 0.4: 3, 1.0: 5})
    # log-midpoint of 0.1 and 0.4 is 0.2: 0.19 -> k=1, 0.21 -> k=3
    assert [schedule.patch_size_at(s) for s in (0.01, 0.19, 0.21, 0.63, 0.64, 9.0)] == \
        [1, 1, 3, 3, 5, 5]
    sigmas = torch.tensor([0.05, 0.3, 0.9], dtype=torch.float64)
    expected = torch.cat([LocalEmpiricalOracle(train, k, sigma=float(s))(noisy[i:i + 1])
                          for i, (s, k) in enumerate(zip(sigmas, (1, 3, 5)))])
    torch.testing.assert_close(schedule(noisy, sigma=sigmas), expected)
    # blind: the oracle's own estimate chooses k and is the noise level used
    est = base.estimate_sigma(noisy).double()
    blind = torch.cat([LocalEmpiricalOracle(train, schedule.patch_size_at(float(s)),
                                            sigma=float(s))(noisy[i:i + 1])
                       for i, s in enumerate(est)])
    torch.testing.assert_close(schedule(noisy), blind)
    with pytest.raises(ConfigError, match="LocalEmpiricalOracle"):
        PatchSizeSchedule(EmpiricalOracle(train), {0.1: 3})


@pytest.mark.parametrize("equivariant", [True, False])
def test_small_sigma_where_most_logits_are_floored_is_still_exact(train, noisy, equivariant):
    """At sigma = 0.03 nearly every logit lies more than 600 below the best one (the floor that
    keeps subnormal numbers out of exp and the matmul): the output is the definition's."""
    from test_oracles_local import brute_force, brute_patch

    sigma = 0.03
    expected = brute_force(train, noisy, 3, equivariant, "circular", sigma)
    q = brute_patch(noisy[0], 2, 2, 3, "circular")
    d = torch.stack([(q - brute_patch(x.double(), i, j, 3, "circular")).square().sum()
                     for x in train for i in range(5) for j in range(4)]) / (2 * sigma**2)
    assert (d - d.min() > 600).double().mean() > 0.5  # the logits of pixel (2, 2)
    for block in (7, 1 << 18):
        got = LocalEmpiricalOracle(train, 3, equivariant, sigma, block_size=block)(noisy)
        torch.testing.assert_close(got, expected, atol=1e-12, rtol=0)


def test_patch_size_schedule_counts_levels_its_calibration_does_not_cover(train, noisy):
    """Within sqrt 2 of a calibrated level a noise level is covered; beyond (above the
    largest, below the smallest, in a gap of the grid) the nearest k still answers but the
    image is counted."""
    schedule = PatchSizeSchedule(LocalEmpiricalOracle(train, 1), {0.1: 1, 0.4: 3})
    assert [schedule.covers(s) for s in (0.071, 0.141, 0.2, 0.29, 0.56, 0.57, 0.07)] == \
        [True, True, False, True, True, False, False]
    schedule(noisy, sigma=torch.tensor([0.3, 0.6, 0.05], dtype=torch.float64))
    assert schedule.uncovered == 2
    assert schedule.describe()["patch_sizes"] == [[0.1, 1], [0.4, 3]]
