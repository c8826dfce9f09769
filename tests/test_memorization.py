"""Memorization metrics against planted copies, brute-force references and closed forms."""

import math

import numpy as np
import pytest
import torch

from gahr.analysis.memorization import (
    cosine_similarity,
    distance_to_memorization,
    fraction_above,
    nearest_neighbors,
    patch_nearest_neighbors,
    ratio_test_fraction,
    same_seed_similarity,
    train_test_gap,
)
from gahr.errors import ConfigError, DataError, GahrError, ShapeError


def brute_cosine(samples, train):
    """Full (M, N) matrix of mean-removed cosine similarities, float64, no chunking."""
    a = samples.double().flatten(1)
    b = train.double().flatten(1)
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return (a / a.norm(dim=1, keepdim=True)) @ (b / b.norm(dim=1, keepdim=True)).T


@pytest.fixture
def sets():
    gen = torch.Generator().manual_seed(1)
    return torch.rand(300, 2, 6, 5, generator=gen), torch.rand(17, 2, 6, 5, generator=gen)


@pytest.mark.parametrize("chunk_size", [2, 7, 300, None])
def test_cosine_neighbors_match_brute_force(sets, chunk_size):
    train, samples = sets
    found = nearest_neighbors(samples, train, k=3, chunk_size=chunk_size)
    ref_values, ref_indices = brute_cosine(samples, train).topk(3, dim=1)
    assert torch.equal(found.indices, ref_indices)
    torch.testing.assert_close(found.values.double(), ref_values, atol=1e-6, rtol=0)


def test_planted_affine_copies_are_found_with_similarity_one(sets):
    train, samples = sets
    planted = {0: 123, 5: 0, 16: 299}
    for row, source in planted.items():  # contrast and brightness changes keep the direction
        samples[row] = 0.5 * train[source] + 0.2
    found = nearest_neighbors(samples, train.numpy(), k=2, chunk_size=64)
    for row, source in planted.items():
        assert found.indices[row, 0] == source
        assert found.values[row, 0] == pytest.approx(1.0, abs=1e-6)
        assert found.values[row, 1] < 0.9


def test_l2_neighbors_match_cdist_and_ratio_test(sets):
    train, samples = sets
    samples[3] = train[42] + 1e-3 * torch.randn(train[42].shape)
    found = nearest_neighbors(samples, train, k=2, metric="l2", chunk_size=11)
    ref_values, ref_indices = torch.cdist(samples.double().flatten(1),
                                          train.double().flatten(1)).topk(2, largest=False)
    assert torch.equal(found.indices, ref_indices)
    torch.testing.assert_close(found.values.double(), ref_values, atol=1e-5, rtol=0)
    memorized = found.values[:, 0] < found.values[:, 1] / 3
    assert memorized[3] and memorized.sum() == 1  # random samples are not near-copies
    assert ratio_test_fraction(found.values) == pytest.approx(1 / 17)


def test_constant_images_have_no_direction():
    train = torch.rand(5, 1, 4, 4)
    train[2] = 0.7
    samples = torch.rand(3, 1, 4, 4)
    samples[1] = 0.3
    found = nearest_neighbors(samples, train, k=5)
    assert torch.isnan(found.values[1]).all() and (found.indices[1] == -1).all()
    kept = found.indices[[0, 2]]
    at_constant = found.values[[0, 2]][kept == 2]
    assert torch.equal(at_constant, torch.zeros(2))


def test_patch_neighbors_find_the_source_of_every_tile_of_a_collage():
    gen = torch.Generator().manual_seed(3)
    train = torch.rand(40, 1, 8, 8, generator=gen)
    collage = torch.empty(1, 1, 8, 8)
    sources = [[7, 31], [0, 19]]  # 2x2 tiles of 4x4, each from another training image
    for r in range(2):
        for c in range(2):
            tile = (slice(4 * r, 4 * r + 4), slice(4 * c, 4 * c + 4))
            collage[0, 0][tile] = 2 * train[sources[r][c], 0][tile] - 0.5
    found = patch_nearest_neighbors(collage, train, 4, chunk_size=3)
    assert found.indices.tolist() == [[7, 31, 0, 19]]
    torch.testing.assert_close(found.values, torch.ones(1, 4))
    whole = nearest_neighbors(collage, train, k=1)
    assert whole.values[0, 0] < 0.9  # no single training image explains the collage


def test_patch_neighbors_match_brute_force_with_overlap():
    gen = torch.Generator().manual_seed(4)
    train, samples = torch.rand(23, 2, 7, 7, generator=gen), torch.rand(5, 2, 7, 7, generator=gen)
    found = patch_nearest_neighbors(samples, train, 3, stride=2, chunk_size=4)
    assert found.indices.shape == (5, 9)
    for pos, (i, j) in enumerate((i, j) for i in (0, 2, 4) for j in (0, 2, 4)):
        sims = brute_cosine(samples[..., i:i + 3, j:j + 3], train[..., i:i + 3, j:j + 3])
        values, indices = sims.max(dim=1)
        assert torch.equal(found.indices[:, pos], indices)
        torch.testing.assert_close(found.values[:, pos].double(), values, atol=1e-6, rtol=0)


def test_patch_neighbors_leave_out_low_contrast_patches():
    gen = torch.Generator().manual_seed(5)
    train = torch.rand(6, 1, 8, 8, generator=gen)
    sample = train[2:3].clone()
    sample[..., :4, :] = 0.5 + 0.01 * torch.randn(1, 1, 4, 8, generator=gen)  # faint texture
    kept = patch_nearest_neighbors(sample, train, 4)
    assert torch.isfinite(kept.values).all()  # without a threshold the faint tiles are scored
    found = patch_nearest_neighbors(sample, train, 4, min_contrast=0.05)
    assert found.indices.tolist() == [[-1, -1, 2, 2]]
    assert torch.isnan(found.values[0, :2]).all()
    torch.testing.assert_close(found.values[0, 2:], torch.ones(2))
    with pytest.raises(ConfigError, match="min_contrast"):
        patch_nearest_neighbors(sample, train, 4, min_contrast=-1.0)


def test_same_seed_similarity_closed_forms():
    a = torch.rand(4, 1, 5, 5)
    b = torch.rand(4, 1, 5, 5)
    torch.testing.assert_close(same_seed_similarity(a, 3 * a + 1), torch.ones(4))
    torch.testing.assert_close(same_seed_similarity(a, -a), -torch.ones(4))
    torch.testing.assert_close(same_seed_similarity(a, b),
                               torch.diagonal(brute_cosine(a, b)).float())
    no_mean = cosine_similarity(a, a + 1, remove_mean=False)
    assert (no_mean < 1).all()  # without mean removal a brightness shift changes the angle
    with pytest.raises(ShapeError):
        same_seed_similarity(a, b[:3])


def test_fraction_above_ignores_undefined_similarities():
    sims = torch.tensor([0.2, 0.6, float("nan"), 0.95, 0.5])
    assert fraction_above(sims, 0.5) == pytest.approx(2 / 4)
    assert math.isnan(fraction_above(torch.tensor([float("nan")]), 0.5))


def test_ratio_test_closed_form():
    distances = torch.tensor([[1.0, 3.01], [1.0, 3.0], [0.0, 0.0], [0.1, 5.0]])
    assert ratio_test_fraction(distances) == pytest.approx(2 / 4)
    with pytest.raises(ShapeError):
        ratio_test_fraction(torch.ones(3, 1))


def empirical_oracle(train, sigma):
    """Reference MMSE denoiser of a set: softmax(-||y - x_i||^2 / 2 sigma^2)-weighted mean."""
    flat = train.double().flatten(1)

    def denoise(y):
        d2 = torch.cdist(y.double().flatten(1), flat).pow(2)
        weights = torch.softmax(-d2 / (2 * sigma**2), dim=1)
        return (weights @ flat).view(y.shape).float()
    return denoise


def test_the_oracle_is_at_distance_zero_from_itself():
    train, images = torch.rand(6, 1, 4, 4), torch.rand(5, 1, 4, 4)
    sigmas = [0.05, 0.5]
    oracle_at = {s: empirical_oracle(train, s) for s in sigmas}

    class SigmaAware:  # the oracle, as a denoiser that knows which sigma is evaluated
        current = None

        def __call__(self, y):
            return oracle_at[self.current](y)

    def make(train_set, sigma):
        SigmaAware.current = sigma
        return empirical_oracle(train_set, sigma)
    dist = distance_to_memorization(SigmaAware(), train, sigmas, images, seed=0,
                                    batch_size=2, make_oracle=make)
    assert dist == {0.05: pytest.approx(0, abs=1e-10), 0.5: pytest.approx(0, abs=1e-10)}


def test_distance_to_a_one_image_oracle_is_closed_form():
    # With one training image t, D*(y) = t for every y: the identity's distance is mean (y - t)^2.
    train, images = torch.rand(1, 1, 3, 3), torch.rand(4, 1, 3, 3)
    dist = distance_to_memorization(lambda y: y, train, [0.1, 0.3], images, seed=5, batch_size=3,
                                    make_oracle=empirical_oracle)
    noise = torch.randn(images.shape, generator=torch.Generator().manual_seed(5))
    for sigma in (0.1, 0.3):
        expected = float((images + sigma * noise - train[0]).double().pow(2).mean())
        assert dist[sigma] == pytest.approx(expected, rel=1e-5)


def test_distance_uses_the_library_oracle_by_default():
    train, images = torch.rand(8, 1, 4, 4), torch.rand(3, 1, 4, 4)
    reference = empirical_oracle(train, 0.2)
    dist = distance_to_memorization(reference, train, [0.2], images, seed=1)
    assert dist[0.2] == pytest.approx(0, abs=1e-8)


def test_psnr_of_the_identity_is_the_noise_psnr_and_gap_is_signed():
    images, test = torch.rand(6, 1, 4, 4), torch.rand(5, 1, 4, 4)
    psnr = train_test_gap(lambda y: y, images, test, [0.1], seed=9, batch_size=4)
    for part, seed, clean in (("train", 9, images), ("test", 10, test)):
        noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed))
        expected = float((-10 * torch.log10((0.1 * noise).pow(2).flatten(1).mean(1))).mean())
        assert psnr[part][0.1] == pytest.approx(expected, rel=1e-5)
    train, test = images[:3], torch.rand(3, 1, 4, 4)
    gap = train_test_gap(empirical_oracle(train, 0.05), train, test, [0.05], seed=0)
    assert gap["gap"][0.05] == pytest.approx(gap["train"][0.05] - gap["test"][0.05])
    assert gap["gap"][0.05] > 10  # the memorizer restores its own images, not new ones


@pytest.mark.parametrize("call, error", [
    (lambda: nearest_neighbors(torch.rand(2, 1, 4, 4), torch.rand(5, 1, 4, 5)), ShapeError),
    (lambda: nearest_neighbors(torch.rand(2, 4, 4), torch.rand(5, 1, 4, 4)), ShapeError),
    (lambda: nearest_neighbors(torch.rand(2, 1, 4, 4), torch.rand(0, 1, 4, 4)), DataError),
    (lambda: nearest_neighbors(torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4), k=3), ConfigError),
    (lambda: nearest_neighbors(torch.rand(2, 1, 4, 4), torch.rand(5, 1, 4, 4), metric="l1"),
     ConfigError),
    (lambda: nearest_neighbors(torch.full((2, 1, 4, 4), float("nan")), torch.rand(5, 1, 4, 4)),
     DataError),
    (lambda: patch_nearest_neighbors(torch.rand(2, 1, 4, 4), torch.rand(5, 1, 4, 4), 5),
     ConfigError),
    (lambda: distance_to_memorization(lambda y: y, torch.rand(3, 1, 4, 4),
                                      [], torch.rand(2, 1, 4, 4), seed=0), ConfigError),
])
def test_bad_input_raises_one_line_errors(call, error):
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, GahrError) and "\n" not in str(info.value)


def test_training_set_with_nan_is_rejected():
    train = np.random.default_rng(0).random((10, 1, 3, 3), dtype=np.float32)
    train[6, 0, 1, 1] = np.nan
    with pytest.raises(DataError, match="training images 4..7"):
        nearest_neighbors(torch.rand(2, 1, 3, 3), train, chunk_size=4)


def test_l2_distance_of_a_near_copy_is_accurate():
    # ||q||^2 - ||q - t||^2 in float32 loses a distance of 1e-4 among norms of ~10; the
    # returned distance must come from the difference itself.
    train = torch.rand(50, 1, 16, 16, generator=torch.Generator().manual_seed(2))
    bump = torch.zeros(1, 16, 16)
    bump[0, 3, 4] = 1e-4
    found = nearest_neighbors(train[7:8] + bump, train, k=2, metric="l2")
    assert found.indices[0, 0] == 7
    assert found.values[0, 0] == pytest.approx(1e-4, rel=1e-2)
    assert ratio_test_fraction(found.values) == 1.0
