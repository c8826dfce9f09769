"""Bootstrap intervals of medians: closed forms, coverage on a known distribution, seeds."""

import numpy as np
import pytest

from gahr.analysis import bootstrap_interval
from gahr.errors import DataError


def test_constant_sample_gives_the_constant():
    iv = bootstrap_interval([0.7] * 9, seed=3)
    assert (iv.value, iv.low, iv.high, iv.n) == (0.7, 0.7, 0.7, 9)


def test_single_value_and_no_value():
    iv = bootstrap_interval([0.25, None, float("nan")])
    assert (iv.value, iv.low, iv.high, iv.n) == (0.25, 0.25, 0.25, 1)
    assert bootstrap_interval([None, None]) is None and bootstrap_interval(None) is None


def test_three_values_match_the_exact_bootstrap_distribution():
    """For {a < b < c} the median of a resample is a with probability 7/27 (two or three
    draws of a), c with 7/27 and b with 13/27: the 2.5% and 97.5% quantiles are a and c,
    the 30% and 70% quantiles are both b."""
    a, b, c = 1.0, 2.0, 5.0
    wide = bootstrap_interval([c, a, b], level=0.95, n_resamples=20_000, seed=1)
    assert (wide.value, wide.low, wide.high) == (b, a, c)
    narrow = bootstrap_interval([c, a, b], level=0.4, n_resamples=20_000, seed=1)
    assert (narrow.low, narrow.high) == (b, b)


def test_coverage_of_the_median_of_a_normal_sample():
    """95% intervals of the median of 40 standard normal values contain the true median 0 in
    about 95% of 400 independent samples (the binomial sd of the rate is 1.1%)."""
    rng = np.random.default_rng(0)
    hits = [(iv.low <= 0 <= iv.high) for iv in
            (bootstrap_interval(rng.standard_normal(40), n_resamples=1000, seed=i)
             for i in range(400))]
    assert 0.90 <= np.mean(hits) <= 0.985


def test_interval_narrows_with_more_values_and_is_reproducible():
    rng = np.random.default_rng(1)
    small, big = rng.standard_normal(16), rng.standard_normal(1024)
    w_small = bootstrap_interval(small).high - bootstrap_interval(small).low
    w_big = bootstrap_interval(big).high - bootstrap_interval(big).low
    assert w_big < w_small / 3  # width ~ 1/sqrt(n): 8x fewer values, about 8x wider
    assert bootstrap_interval(small, seed=5) == bootstrap_interval(small, seed=5)
    assert bootstrap_interval(small, seed=5) != bootstrap_interval(small, seed=6)
    iv = bootstrap_interval(small, statistic=np.mean)
    assert iv.value == pytest.approx(small.mean()) and iv.low < iv.value < iv.high
    assert iv.format(".1f").count("[") == 1


@pytest.mark.parametrize("kwargs, match", [({"level": 1.0}, "level"),
                                           ({"n_resamples": 0}, "n_resamples")])
def test_bad_settings_are_one_line_errors(kwargs, match):
    with pytest.raises(DataError, match=match):
        bootstrap_interval([1.0, 2.0], **kwargs)
