"""Agreement between a denoiser and an analytic model: closed forms with oracles standing in."""

import numpy as np
import pytest
import torch

from gahr.analysis import (
    agreement,
    agreement_at,
    calibrate_patch_size,
    denoiser_agreement,
    pixel_sample,
    sample_correlation,
)
from gahr.errors import ConfigError
from gahr.metrics import noise_sample
from gahr.oracles import EmpiricalOracle, GaussianFitOracle, LocalEmpiricalOracle

SHAPE = (1, 6, 5)


@pytest.fixture(scope="module")
def train():
    return torch.rand(12, *SHAPE, generator=torch.Generator().manual_seed(5))


@pytest.fixture(scope="module")
def test_images():
    return torch.rand(5, *SHAPE, generator=torch.Generator().manual_seed(6))


def test_agreement_is_the_per_image_mse(train, test_images):
    """Against a hand computation with the shared noise draw; a model equal to the reference
    agrees exactly, and every pixel taken in another order is the whole image."""
    sigma = 0.2
    net = EmpiricalOracle(train)  # blind, as a net is
    model = GaussianFitOracle(train)
    got = agreement_at(net, model, test_images, sigma, seed=3, batch_size=2)
    y = test_images + sigma * noise_sample(test_images.shape, 3)
    f, g = net(y).double(), model(y, sigma=sigma).double()
    torch.testing.assert_close(got.to_reference, (f - g).square().flatten(1).mean(1))
    torch.testing.assert_close(got.to_clean, (g - test_images).square().flatten(1).mean(1))
    torch.testing.assert_close(got.reference_to_clean,
                               (f - test_images).square().flatten(1).mean(1))
    same = agreement_at(lambda y: model(y, sigma=sigma), model, test_images, sigma, seed=3)
    assert (same.to_reference == 0).all()
    torch.testing.assert_close(same.to_clean, same.reference_to_clean)
    both = agreement(net, model, test_images, [0.5, sigma], seed=3, batch_size=2)
    for name in ("to_reference", "to_clean", "reference_to_clean"):  # stacked = one at a time
        torch.testing.assert_close(getattr(both[sigma], name), getattr(got, name))
    assert not torch.allclose(both[0.5].to_clean, got.to_clean)
    every = torch.stack([torch.randperm(30) for _ in range(5)])
    shuffled = agreement_at(net, model, test_images, sigma, seed=3, pixels=every)
    torch.testing.assert_close(shuffled.to_reference, got.to_reference)


def test_pixel_subsets_use_the_local_machine_at_those_pixels(train, test_images):
    """The ELS machine is evaluated at the sampled pixels only (denoise_pixels), and the MSE
    over them is the MSE of the whole images at those pixels."""
    sigma = 0.3
    els = LocalEmpiricalOracle(train, 3)
    px = pixel_sample(5, 30, 7, seed=1)
    assert px.shape == (5, 7) and all(len(set(row.tolist())) == 7 for row in px)
    assert torch.equal(px, pixel_sample(5, 30, 7, seed=1)) and pixel_sample(5, 30, 30, 1) is None
    net = EmpiricalOracle(train)
    got = agreement_at(net, els, test_images, sigma, seed=0, pixels=px)
    y = test_images + sigma * noise_sample(test_images.shape, 0)
    diff = (net(y).double() - els(y, sigma=sigma).double()).flatten(1)
    torch.testing.assert_close(got.to_reference, diff.gather(1, px).square().mean(1))


def test_calibration_finds_the_patch_size_of_the_machine_it_is_given(train, test_images):
    """A reference that is the ELS machine at k = 3 (at the true sigma) is matched exactly by
    k = 3 at every sigma and by no other k of the grid."""
    els = LocalEmpiricalOracle(train, 1)
    sigmas = [0.1, 0.4]
    cache: dict = {}
    for sigma in sigmas:
        def reference(y, sigma=sigma):
            return els.with_patch_size(3)(y, sigma=sigma)
        found = calibrate_patch_size(reference, els, test_images, [sigma], [1, 3, 5, 7],
                                     seed=0, pixels=10, cache=cache)
        label = next(iter(found["best"]))
        assert found["best"][label] == 3 and found["patch_sizes"] == [1, 3, 5, 7]
        assert max(found["mse"][label][3]) == 0
        assert min(min(found["mse"][label][k]) for k in (1, 5, 7)) > 0
    assert len(cache) == 8 and set(cache["k=3@25.5"]) == {"to_reference", "to_clean",
                                                          "reference_to_clean"}


def test_the_cache_keeps_finished_work(train, test_images):
    """One model call per batch serves every sigma (one sigma per image); a (model, sigma)
    already in the cache is not computed again, a new sigma alone is."""
    calls = []

    class Counting(torch.nn.Module):
        def forward(self, y, sigma=None):
            calls.append(sigma.tolist())
            return y
    cache: dict = {}
    args = dict(seed=0, cache=cache, batch_size=8)
    first = denoiser_agreement(EmpiricalOracle(train), {"id": Counting()}, test_images,
                               [0.1, 0.2], **args)
    again = denoiser_agreement(EmpiricalOracle(train), {"id": Counting()}, test_images,
                               [0.1, 0.2], **args)
    assert calls == [[0.1] * 5 + [0.2] * 5] and first == again
    assert set(first) == {"reference", "id"} and set(first["id"]) == {"25.5", "51"}
    denoiser_agreement(EmpiricalOracle(train), {"id": Counting()}, test_images,
                       [0.1, 0.3, 0.2], **args)
    assert calls[1:] == [[0.3] * 5] and set(cache) == {"id@25.5", "id@51", "id@76.5"}


def test_sample_correlation_is_pearson_r(train):
    a, b = train[:4], train[4:8] * 0.5 + 0.1 * train[:4]
    got = sample_correlation(a, b)
    expected = [np.corrcoef(a[i].flatten().numpy(), b[i].flatten().numpy())[0, 1]
                for i in range(4)]
    np.testing.assert_allclose(got["pearson_r"], expected, rtol=1e-5)
    different = [np.corrcoef(a[i].flatten().numpy(), b[j].flatten().numpy())[0, 1]
                 for i in range(4) for j in range(4) if i != j]
    assert got["different_seed_median_r"] == pytest.approx(np.median(different), rel=1e-5)
    assert sample_correlation(a, 2 * a + 1)["pearson_r"] == pytest.approx([1.0] * 4)
    with pytest.raises(ConfigError):
        sample_correlation(a, b[:3])
