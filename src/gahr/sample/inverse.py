"""Linear inverse problems with the prior implicit in a denoiser.

Kadkhodaie & Simoncelli (NeurIPS 2021), Algorithm 2: for a measurement m = M^T x with
M^T M = I, Algorithm 1 runs with the projected direction

    d_t = (I - M M^T)(x_hat(y) - y) + M (m - M^T y),

which ascends the prior in the unmeasured subspace and steps toward the measurement in the
measured one; y_0 = (I - M M^T)(start_mean + sigma_0 z) + M m. The result is the projection
of the last denoised image onto the measurement-consistent set, (I - M M^T) x_hat + M m, so
its measured components equal m exactly.
"""

from collections.abc import Callable

import torch

from ..errors import ShapeError
from .operators import Operator
from .result import SampleResult
from .sampler import _start_mean, resolve_seeds, run_ascent
from .schedule import Policy, resolve_schedule


class InverseProblem:
    """The task of `run_ascent` for measurements `m` (B, K) through `operator`."""

    def __init__(self, operator: Operator, measurement: torch.Tensor, start_mean):
        self.op, self.m, self.start_mean = operator, measurement, start_mean

    def consistent(self, x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """(I - M M^T) x + M m: replace the measured components of x by the measurement."""
        return x - self.op.project(x) + self.op.lift(self.m[index].to(x.dtype))

    def start(self, noise, index):
        return self.consistent(self.start_mean + noise, index)

    def direction(self, y, x_hat, index):
        return self.consistent(x_hat, index) - y

    def final(self, y, x_hat, d, index):
        return self.consistent(x_hat, index)


def solve(denoiser: Callable[[torch.Tensor], torch.Tensor], operator: Operator,
          measurement: torch.Tensor, schedule: Policy | None = None, *, seeds=None,
          generator: torch.Generator | None = None, start_mean=None,
          batch_size: int | None = None, callback=None, sigma_max: float | None = None,
          device=None, progress: bool = False, **legacy) -> SampleResult:
    """Reconstruct one image per measurement row (B, K) of `operator` (Algorithm 2).

    Each reconstruction x satisfies M^T x = m (up to float rounding) and is a sample of the
    prior restricted to that set; repeat a measurement row for several samples of the
    posterior. The schedule, seeds and failures as in `synthesize`.
    """
    if measurement.dim() == 1:
        measurement = measurement[None]
    if measurement.dim() != 2 or measurement.shape[1] != operator.dim:
        raise ShapeError(f"measurement of shape {tuple(measurement.shape)}; {operator!r} gives "
                         f"(B, {operator.dim}) measurements: use operator.measure(x)")
    shape = operator.shape
    schedule = resolve_schedule(schedule, legacy, "solve")
    mean = _start_mean(start_mean, shape, device, denoiser)
    task = InverseProblem(operator, measurement.to(mean.device), mean)
    seeds = resolve_seeds(measurement.shape[0], generator, seeds)
    return run_ascent(denoiser, task, shape, seeds, schedule, batch_size=batch_size,
                      callback=callback, sigma_max=sigma_max, device=device, progress=progress)
