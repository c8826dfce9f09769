"""Patch-size calibration on the net's own sampling trajectory (Kamb & Ganguli's criterion)."""

import pytest
import torch

from gahr.analysis.trajectory import calibrate_on_trajectory, record_trajectory, score_cosine
from gahr.oracles import LocalEmpiricalOracle
from gahr.sample import PRESETS, NoiseGrid


class Conditional:
    """A machine at fixed k standing in for a conditional net (it gets each level)."""

    blind = False

    def __init__(self, machine):
        self.machine = machine

    def __call__(self, y, sigma=None):
        return self.machine(y, sigma=sigma)


@pytest.fixture
def train():
    return torch.rand(4, 1, 7, 6, generator=torch.Generator().manual_seed(2))


def test_score_cosine_is_the_cosine_of_the_residuals():
    g = torch.Generator().manual_seed(0)
    y, a = torch.randn(3, 1, 4, 4, generator=g), torch.randn(3, 1, 4, 4, generator=g)
    torch.testing.assert_close(score_cosine(y, a, a), torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(score_cosine(y, a, 2 * y - a), -torch.ones(3, dtype=torch.float64))
    b = torch.randn(3, 1, 4, 4, generator=g)
    u, v = (a - y).flatten(1).double(), (b - y).flatten(1).double()
    torch.testing.assert_close(score_cosine(y, a, b), torch.nn.functional.cosine_similarity(u, v))


@pytest.mark.parametrize("schedule", [NoiseGrid((3.0, 1.0, 0.3, 0.1, 0.03)),
                                      PRESETS["deterministic"].replace(sigma_L=0.1)])
def test_a_net_that_is_the_machine_at_k_calibrates_to_k(train, schedule):
    """The net is the broken ELS at k = 3 given each level: at every step, every sample picks
    k = 3 with cosine 1, and the step's level is the one the sampler handed the net."""
    machine = LocalEmpiricalOracle(train, 3, True, boundary="broken")
    traj = record_trajectory(Conditional(machine), (1, 7, 6), [0, 1, 2], schedule)
    assert list(traj) == list(range(1, len(traj) + 1)) and len(traj) >= 4
    if isinstance(schedule, NoiseGrid):
        for t, rec in traj.items():
            assert rec["sigma"].tolist() == [schedule.sigmas[t - 1]] * 3
    cache = {}
    cal = calibrate_on_trajectory(machine, traj, [1, 3, 5], cache)
    assert [s["best"] for s in cal["steps"]] == [3] * len(traj)
    assert all(set(s["best_per_sample"]) == {3} for s in cal["steps"])  # samples that ran
    assert all(s["cosine"]["3"] == pytest.approx(1.0, abs=1e-9) for s in cal["steps"])
    assert all(s["cosine"]["1"] < 1 - 1e-6 for s in cal["steps"])
    # cached steps are not recomputed
    assert calibrate_on_trajectory(None, traj, [1, 3, 5], cache)["steps"] == cal["steps"]


def test_the_cosine_over_some_pixels_is_the_cosine_there(train):
    """`pixels`: the cosine over P random pixels per image, the same pixels for every k: the
    machine itself still scores 1, and P >= HW is the whole image."""
    machine = LocalEmpiricalOracle(train, 3, True, boundary="broken")
    traj = record_trajectory(Conditional(machine), (1, 7, 6), [0, 1],
                             NoiseGrid((3.0, 1.0, 0.3, 0.1)))
    some = calibrate_on_trajectory(machine, traj, [1, 3], pixels=12)
    assert all(s["cosine"]["3"] == pytest.approx(1.0, abs=1e-9) for s in some["steps"])
    assert [s["best"] for s in some["steps"]] == [3] * 4
    full = calibrate_on_trajectory(machine, traj, [1, 3])
    assert calibrate_on_trajectory(machine, traj, [1, 3], pixels=42) == full
    assert some["steps"][0]["cosine"]["1"] != full["steps"][0]["cosine"]["1"]
