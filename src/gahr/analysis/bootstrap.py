"""Bootstrap intervals for medians of small samples (e.g. 16 same-seed sample pairs).

The percentile bootstrap (Efron & Tibshirani 1993, ch. 13): draw `n_resamples` resamples of
the n values with replacement from a seeded generator, compute the statistic on each, and take
the (1 - level)/2 and (1 + level)/2 quantiles of those replicates as the interval. The same
values and seed give the same interval.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import DataError

#: Fewest values for which an interval (and a verdict resting on it) is given. With n <= 5
#: values the 95% percentile-bootstrap interval of a median is always the sample's whole range
#: [min, max] (a resample's median equals the smallest value with probability > 2.5%; for one
#: value the "interval" has zero width): it says nothing at its stated level.
MIN_VALUES = 6
#: Resamples per interval: the quantiles of the replicates then vary by well under the
#: interval's width (2000 is the usual choice for 95% percentile intervals).
N_RESAMPLES = 2000


@dataclass(frozen=True)
class Interval:
    """A statistic of `n` values with its bootstrap interval [low, high] at `level`."""

    value: float
    low: float
    high: float
    n: int
    level: float = 0.95

    def format(self, spec: str = ".2f") -> str:
        """'0.97 [0.95, 0.99]', or '0.97 (3 values: too few for an interval)' below
        MIN_VALUES."""
        if self.n < MIN_VALUES:
            return f"{self.value:{spec}} ({too_few(self.n)})"
        return f"{self.value:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"

    def as_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n,
                "level": self.level}


def too_few(n: int) -> str:
    """'3 values: too few for an interval' (see MIN_VALUES)."""
    return f"{n} value{'s' * (n != 1)}: too few for an interval"


def defined(values: Iterable | None) -> np.ndarray:
    """The finite values of `values` as float64 (None and NaN, e.g. failed samples, dropped)."""
    kept = [float(v) for v in ([] if values is None else values) if v is not None]
    arr = np.asarray(kept, dtype=np.float64)
    return arr[np.isfinite(arr)]


def bootstrap_interval(values: Iterable | None, statistic: Callable = np.median,
                       level: float = 0.95, n_resamples: int = N_RESAMPLES,
                       seed: int = 0) -> Interval | None:
    """`statistic` of the defined values with its percentile-bootstrap interval at `level`;
    None when no value is defined. `statistic(array, axis=1)` must reduce each row (numpy's
    median and mean do)."""
    if not 0 < level < 1:
        raise DataError(f"level={level} must lie strictly between 0 and 1, e.g. 0.95")
    if int(n_resamples) < 1:
        raise DataError(f"n_resamples={n_resamples} must be at least 1, e.g. {N_RESAMPLES}")
    x = defined(values)
    if x.size == 0:
        return None
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, x.size, size=(int(n_resamples), x.size))
    replicates = statistic(x[rows], axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(replicates, [tail, 1 - tail])
    return Interval(float(statistic(x)), float(low), float(high), int(x.size), float(level))
