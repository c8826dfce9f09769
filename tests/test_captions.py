"""Captions computed from numbers: each claim on one side of its threshold, never on the other."""

import pytest

from gahr.workflows import captions as c


def iv(value, low=None, high=None):
    return {"value": value, "low": value - 0.02 if low is None else low,
            "high": value + 0.02 if high is None else high, "n": 16}


def row(n=10, near=None, same=None, gap=None, trj=None):
    return {"N": n, "nearest": None if near is None else iv(near),
            "same_seed": None if same is None else iv(same), "gap_db": gap,
            "gap_sigma255": 25.0, "effective_dimension": trj}


@pytest.mark.parametrize("near, same, kind", [
    (0.97, 0.30, "memorization"), (0.94, 0.30, "different"), (0.97, 0.61, "copies"),
    (0.80, 0.95, "generalization"), (0.80, 0.89, "neither"), (0.96, 0.92, "same"),
    (None, 0.92, "same"), (None, None, "too few"),
])
def test_regime_on_both_sides_of_each_threshold(near, same, kind):
    assert c.regime(row(near=near, same=same)) == kind


def test_copies_are_claimed_only_at_the_copy_threshold():
    at = c.similarity_sentence(row(near=c.COPY, same=0.2))
    below = c.similarity_sentence(row(near=c.COPY - 0.001, same=0.2))
    assert "are copies of training images" in at and "memorization" in at
    assert "0.95 [0.93, 0.97]" in at  # the median and its interval
    assert "are copies" not in below and "not copies" in below


def test_same_image_is_claimed_only_at_the_same_threshold():
    at = c.similarity_sentence(row(near=0.8, same=c.SAME))
    below = c.similarity_sentence(row(near=0.8, same=c.SAME - 0.001))
    assert "nearly the same image" in at and "generalization" in at
    assert "nearly the same" not in below and "generalization" not in below


def test_headline_speaks_of_the_smallest_and_largest_n_and_states_thresholds():
    text = c.headline([row(10, 0.97, 0.3), row(100, 0.9, 0.7), row(2000, 0.8, 0.95)])
    assert "N=10" in text and "N=2000" in text and "N=100" not in text
    assert "memorization" in text and "generalization" in text and "0.95" in text
    assert c.headline([]).startswith("No value")


@pytest.mark.parametrize("gap, word", [(3.0, "better"), (2.99, "is 3.0 dB"), (1.0, "as well"),
                                       (1.01, "is 1.0 dB"), (None, "undefined")])
def test_gap_sentence_thresholds(gap, word):
    text = c.gap_sentence(row(gap=gap))
    assert word in text
    if word not in ("better", "as well"):
        assert "better" not in text and "as well" not in text


def test_effective_dimension_claims():
    def say(a, b, ref=None):
        return c.effective_dimension_sentence(row(10, trj=a), row(2000, trj=b), 0.1, 256, ref)
    assert "almost no" in say(0.9, 20) and "almost no" not in say(17, 20)
    assert "fewer dimensions than the N=2000" in say(4, 20)
    assert "fewer" not in say(17, 20)  # "keeps almost none" beside tr J = 17 cannot appear
    assert "fewer dimensions than the N=10" in say(40, 10)
    assert "not within a factor 2" in say(4, 20, ref=5) and " within a factor 2" in say(4, 8, 5)


def test_energy_and_eigenvalue_sentences():
    assert c.energy_sentence(0.9, 20, 256).startswith("The energy concentrates")
    assert "not concentrated" in c.energy_sentence(0.49, 20, 256)
    assert "not concentrated" in c.energy_sentence(0.6, 100, 256)  # < 3x the random share
    assert "shrinkage factors between 0 and 1" in c.eigenvalue_sentence([1.02, 0.5, -0.04])
    negative = c.eigenvalue_sentence([1.0, 0.2, -0.3, -0.1])
    assert "2 of 4 are below" in negative and "shrinkage" not in negative
    assert "none negative" in c.eigenvalue_sentence([1.3, 0.1])
