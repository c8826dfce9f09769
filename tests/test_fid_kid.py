"""FID and KID (gahr.analysis.sample_quality) against closed forms, and the feature registry."""

from pathlib import Path

import numpy as np
import pytest
import torch

from gahr.analysis.features import (
    CLASSIFIER_FILE,
    FEATURES,
    classifier_meta,
    feature_extractor,
    features_for,
    register_features,
)
from gahr.analysis.sample_quality import (
    _within,
    cubic_kernel,
    fid,
    fid_kid,
    frechet_distance,
    kid,
)
from gahr.errors import ConfigError, ShapeError


def _random_cov(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_distance_of_diagonal_gaussians_is_the_closed_form():
    mu_a, mu_b = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    exact = ((mu_a - mu_b) ** 2).sum() + ((np.sqrt(var_a) - np.sqrt(var_b)) ** 2).sum()
    assert frechet_distance(mu_a, np.diag(var_a), mu_b, np.diag(var_b)) == pytest.approx(exact)


def test_frechet_distance_identities_for_general_covariances():
    rng = np.random.default_rng(0)
    c, c2 = _random_cov(rng, 5), _random_cov(rng, 5)
    mu = rng.normal(size=5)
    # W2^2(N(0, C), N(0, a^2 C)) = (1 - a)^2 tr C; a mean shift adds ||dmu||^2
    assert frechet_distance(mu, c, mu + 1, 9 * c) == pytest.approx(4 * np.trace(c) + 5)
    # symmetric although the formula is not (the covariances do not commute)
    assert frechet_distance(mu, c, 0 * mu, c2) == pytest.approx(frechet_distance(0 * mu, c2, mu, c))
    assert frechet_distance(mu, c, mu, c) == pytest.approx(0, abs=1e-9)


def test_fid_of_large_gaussian_samples_approaches_the_closed_form():
    rng = np.random.default_rng(1)
    c_a, c_b = _random_cov(rng, 4), _random_cov(rng, 4)
    mu_b = np.array([0.5, 0, 0, -0.5])
    a = rng.multivariate_normal(np.zeros(4), c_a, size=40000)
    b = rng.multivariate_normal(mu_b, c_b, size=40000)
    exact = frechet_distance(np.zeros(4), c_a, mu_b, c_b)
    assert fid(a, b) == pytest.approx(exact, rel=0.03)


def test_cubic_kernel_is_the_polynomial_kernel():
    a, b = np.array([[1.0, 2.0]]), np.array([[3.0, -1.0], [0.0, 0.0]])
    assert cubic_kernel(a, b).numpy() == pytest.approx(np.array([[(1 / 2 + 1) ** 3, 1.0]]))


def test_kid_is_unbiased_on_a_discrete_law_with_exact_mmd():
    """The average KID of tiny sets equals the population MMD^2 (the V-statistic's does not)."""
    rng = np.random.default_rng(2)
    points = rng.normal(size=(4, 3))
    p, q = np.array([0.4, 0.3, 0.2, 0.1]), np.array([0.1, 0.2, 0.3, 0.4])
    k = cubic_kernel(points, points).numpy()
    exact = p @ k @ p + q @ k @ q - 2 * p @ k @ q
    draws, biased = [], []
    for _ in range(2500):
        a, b = points[rng.choice(4, 5, p=p)], points[rng.choice(4, 6, p=q)]
        draws.append(kid(a, b))
        biased.append(float(cubic_kernel(a, a).mean() + cubic_kernel(b, b).mean()
                            - 2 * cubic_kernel(a, b).mean()))
    se = np.std(draws) / np.sqrt(len(draws))
    assert abs(np.mean(draws) - exact) < 4 * se
    assert abs(np.mean(biased) - exact) > 10 * se


def test_kid_of_one_distribution_is_near_zero_and_of_two_is_not():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(500, 8)), rng.normal(size=(500, 8))
    # a set against itself: the cross term keeps the diagonal the within terms leave out
    k = cubic_kernel(a, a).numpy()
    offdiag = k[~np.eye(500, dtype=bool)].mean()
    assert kid(a, a) == pytest.approx(-2 * (np.diag(k).mean() - offdiag) / 500)
    assert abs(kid(a, b)) < 5e-3
    assert kid(a, b + 0.5) > 20 * abs(kid(a, b))


def test_bootstrap_counts_give_the_u_statistic_of_the_multiset():
    """A replicate with repeats leaves out only the pairs of a point with its own copies."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(6, 3))
    k = cubic_kernel(x, x).numpy()
    counts = np.array([[2.0, 0, 1, 3, 0, 1]])
    idx = np.repeat(np.arange(6), counts[0].astype(int))
    pairs = [(i, j) for i in range(len(idx)) for j in range(len(idx)) if idx[i] != idx[j]]
    expected = np.mean([k[idx[i], idx[j]] for i, j in pairs])
    assert float(_within(k, counts)[0]) == pytest.approx(expected)
    assert float(_within(k, np.ones((1, 6)))[0]) == pytest.approx(k[~np.eye(6, dtype=bool)].mean())


def test_fid_kid_intervals_bracket_shifts_and_repeat_with_the_seed():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(300, 6)), rng.normal(size=(400, 6))
    same = fid_kid(a, b, n_resamples=200)
    far = fid_kid(a + 0.5, b, n_resamples=200)
    assert same.kid.low <= same.kid.value <= same.kid.high and same.kid.low < 0 < same.kid.high
    assert far.kid.low > same.kid.high and far.fid.low > same.fid.high
    assert far.fid.value == pytest.approx(fid(a + 0.5, b))
    assert fid_kid(a, b, n_resamples=200) == same
    assert same.n_samples == 300 and same.n_reference == 400


def test_bad_feature_sets_are_refused():
    with pytest.raises(ShapeError, match="one d"):
        kid(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ShapeError, match="at least 2"):
        fid(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ShapeError, match="NaN"):
        kid(np.full((3, 2), np.nan), np.zeros((3, 2)))


def test_feature_registry_picks_and_plugs_in_extractors():
    assert features_for("fashion-mnist") == "fashion32" and features_for("discs") == "pixels"
    x = torch.rand(3, 1, 4, 4)
    assert torch.equal(feature_extractor("pixels")(x), x.flatten(1).double())
    with pytest.raises(ConfigError, match="register_features"):
        feature_extractor("nope")
    register_features("mean", lambda device: lambda x: x.mean((2, 3)).double(), "my-data")
    try:
        assert features_for("my-data") == "mean"
        assert feature_extractor("mean")(x).shape == (3, 1)
    finally:
        FEATURES.pop("mean")
        from gahr.analysis.features import DATA_FEATURES
        DATA_FEATURES.pop("my-data")


def test_shipped_classifier_states_its_accuracy_and_classifies_test_images():
    from gahr.data.idx import FASHION_MNIST_ROOT

    meta = classifier_meta()
    assert CLASSIFIER_FILE.is_file() and meta["test_accuracy"] > 0.88
    if not Path(FASHION_MNIST_ROOT).is_dir():
        pytest.skip(f"Fashion-MNIST is not installed in {FASHION_MNIST_ROOT}")
    from gahr.analysis.features import load_classifier
    from gahr.data import fashion_mnist, fashion_mnist_labels

    x, y = fashion_mnist(split="test")[:500], fashion_mnist_labels(split="test")[:500]
    with torch.no_grad():
        hits = (load_classifier()(x).argmax(1) == y).float().mean().item()
    assert hits > 0.85
    f = feature_extractor("fashion32")
    small = torch.nn.functional.avg_pool2d(x[:8], 2)  # 16x16 images are brought to 32x32
    assert f(x[:8]).shape == f(small).shape == (8, 64)
