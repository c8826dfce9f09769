"""Sampling from the prior implicit in a denoiser: batched stochastic coarse-to-fine ascent.

Kadkhodaie & Simoncelli (NeurIPS 2021), Algorithm 1, as used by Kadkhodaie et al. (ICLR 2024):
with d_t = x_hat(y_{t-1}) - y_{t-1} (the denoiser residual, proportional to the score of the
noisy prior: x_hat(y) - y = sigma^2 grad log p_sigma(y)) and sigma_t = |d_t| / sqrt(D),

    y_t = y_{t-1} + h_t d_t + gamma_t z_t,  gamma_t^2 = ((1 - beta h_t)^2 - (1 - h_t)^2) sigma_t^2,

until sigma_t < sigma_L; the sample is x_hat(y_{t-1}), the denoised last iterate (already
computed at that call, so the stopping test costs no extra call).

Noise level: a conditional denoiser (`blind = False`, the adapters of other people's models)
is always called `denoiser(y, sigma=s)`; `give_sigma=True` does the same for the oracles, which
are otherwise blind. s, (B,) float64, is the noise level that the schedule has put in each
iterate: sigma_0 for y_0, then after the update
y_t = y_{t-1} + h_t d_t + gamma_t z_t the predicted level sqrt((1 - h_t)^2 sigma_t^2 + gamma_t^2)
with sigma_t the effective noise measured at y_{t-1} (for a `Schedule` that is
(1 - beta h_t) sigma_t, the level Algorithm 1 aims y_t at). A known-sigma oracle should denoise
at that level rather than at its own blind estimate, which for an iterate far from every
training image includes that distance. gahr's nets are blind and take y alone.

Batching: up to `batch_size` images advance together, each with its own step index t and
stopping time; finished images leave the batch and queued ones take their place. Each sample
owns a generator seeded with its own seed, which draws its initial noise and then one z_t per
update, so a sample depends on its seed only, not on the batch size or its batch mates.
"""

import warnings
from collections.abc import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from ..devices import device_of
from ..errors import ConfigError, ShapeError
from ..nets.contract import as_denoiser, denoise
from .result import SampleResult
from .schedule import STALL_TOLERANCE, FixedBudget, Policy, is_sampler, resolve_schedule

Denoiser = Callable[[torch.Tensor], torch.Tensor]


class Synthesis:
    """Unconstrained sampling: y_0 = start_mean + sigma_0 z, d = x_hat - y, output x_hat."""

    def __init__(self, start_mean):
        self.start_mean = start_mean

    def start(self, noise: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return self.start_mean + noise

    def direction(self, y, x_hat, index):
        return x_hat - y

    def final(self, y, x_hat, d, index):
        return x_hat


def synthesize(denoiser: Denoiser, shape, n: int, schedule: Policy | None = None, *,
               seeds=None, generator: torch.Generator | None = None, start_mean=None,
               batch_size: int | None = None, callback: Callable[[dict], None] | None = None,
               sigma_max: float | None = None, device=None, progress: bool = False,
               give_sigma: bool | None = None, **legacy) -> SampleResult:
    """Draw n samples of shape (C, H, W) from the prior implicit in `denoiser` (Algorithm 1).

    `schedule`: a `Schedule` (default `PRESETS["kadkhodaie2021"]`, the 2021 paper's growing
    step: few calls; `PRESETS["kadkhodaie2024"]` is the ICLR 2024 constant step, about 10x more
    calls), a `FixedBudget` (exactly K steps), a preset's name, any object with the schedule's
    methods, or a whole sampler such as `PRESETS["heun"]` / `PRESETS["ddim"]` (deterministic
    probability flow, `sample/flow.py`; `sigma_max` does not apply to it). `start_mean`
    (scalar or (C, H, W); default 0.5) should be the training set's mean intensity. `seeds`
    (one int per sample) or `generator` (draws the seeds) fix the randomness. A sample is
    failed when sigma_t leaves [0, sigma_max] (default max(2 sigma_0, 1)) or runs past
    `schedule.limit()` calls.
    `callback(info)` sees every call, see `run_ascent`. `give_sigma` (default: when the
    denoiser is conditional) calls `denoiser(y, sigma=...)` with the noise level the schedule
    has put in each iterate (True for the oracles, which are otherwise blind; see
    `run_ascent`). The keywords sigma_0, sigma_L, h_0, beta, step and max_steps still change
    the schedule, deprecated until 0.2.
    """
    schedule = resolve_schedule(schedule, legacy, "synthesize")
    mean = _start_mean(start_mean, shape, device, denoiser)
    if is_sampler(schedule):  # a whole sampler (probability flow): its own loop
        as_denoiser(denoiser)
        return schedule.run(denoiser, _check_shape(shape), resolve_seeds(n, generator, seeds),
                            mean, batch_size=batch_size, callback=callback,
                            device=mean.device, progress=progress, give_sigma=give_sigma)
    task = Synthesis(mean)
    return run_ascent(denoiser, task, shape, resolve_seeds(n, generator, seeds), schedule,
                      batch_size=batch_size, callback=callback, sigma_max=sigma_max,
                      device=device, progress=progress, give_sigma=give_sigma)


def synthesize_budget(denoiser: Denoiser, shape, n: int, num_steps: int, *, sigma_0: float = 1.0,
                      sigma_L: float = 0.01, beta: float = 0.1, **options) -> SampleResult:
    """Deprecated (until 0.2): `synthesize(denoiser, shape, n, FixedBudget(num_steps, sigma_0,
    sigma_L, beta), ...)`, exactly `num_steps` steps (num_steps + 1 calls) per sample."""
    warnings.warn("synthesize_budget is deprecated; pass FixedBudget(num_steps, ...) to "
                  "synthesize", DeprecationWarning, stacklevel=2)
    budget = FixedBudget(num_steps=num_steps, sigma_0=sigma_0, sigma_L=sigma_L, beta=beta)
    return synthesize(denoiser, shape, n, budget, **options)


def run_ascent(denoiser: Denoiser, task, shape, seeds: list[int], policy: Policy,
               batch_size: int | None = None, callback=None, sigma_max: float | None = None,
               device=None, progress: bool = False,
               give_sigma: bool | None = None) -> SampleResult:
    """The batched loop shared by synthesis and inverse problems, under any schedule.

    `task` maps noise sigma_0 z to y_0 (`start`), (y, x_hat) to the direction d (`direction`)
    and to the output (`final`); `policy` (a `Schedule` or `FixedBudget`) gives sigma_0 and
    decides stopping and (h_t, gamma_t). `callback(info)` gets, at
    every call, a dict with `iteration` (loop count), `index` (sample indices in the batch),
    `t`, `y`, `x_hat`, `d`, `sigma` (read-only tensors of the current batch). `give_sigma`:
    see the module docstring.
    """
    as_denoiser(denoiser)
    shape = _check_shape(shape)
    sigma_0 = policy.sigma_0
    device = torch.device(device) if device is not None else device_of(denoiser)
    n, D = len(seeds), shape[0] * shape[1] * shape[2]
    batch_size = min(n, 64) if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ConfigError(f"batch_size={batch_size} must be >= 1")
    sigma_max = max(2 * sigma_0, 1.0) if sigma_max is None else float(sigma_max)
    limit = policy.limit()
    state = _State(n, shape, device)
    batch = _Batch.empty(shape, device)
    queued, iteration = 0, 0
    bar = tqdm(total=n, desc="sampling", unit="sample", disable=not progress)
    while queued < n or len(batch):
        k = min(batch_size - len(batch), n - queued)
        if k > 0:
            batch = batch.extend(task, seeds, range(queued, queued + k), sigma_0, shape, device)
            queued += k
        with torch.no_grad():
            x_hat = denoise(denoiser, batch.y, torch.from_numpy(batch.level).to(device),
                            give_sigma)
        _check_output(x_hat, batch.y)
        d = task.direction(batch.y, x_hat, batch.index_t)
        sigma_t = d.flatten(1).double().norm(dim=1) / D**0.5
        # Per-sample bookkeeping in numpy: tiny arrays, so no per-op tensor overhead.
        sigma = sigma_t.cpu().numpy()
        state.record(batch, sigma)
        if callback is not None:
            callback(dict(iteration=iteration, index=batch.index_t, t=torch.from_numpy(batch.t),
                          y=batch.y, x_hat=x_hat, d=d, sigma=sigma_t))
        finite = np.isfinite(sigma) & (sigma <= sigma_max)
        done = finite & policy.done(batch.t, sigma)
        late = finite & ~done & (batch.t >= limit)
        if done.any():
            sel = torch.from_numpy(done).to(device)
            state.finish(batch.index[done], task.final(batch.y, x_hat, d, batch.index_t)[sel])
        state.fail(batch.index[~finite], f"diverged: sigma_t non-finite or above {sigma_max:g}")
        state.fail(batch.index[late], f"did not reach the stopping level in {limit} calls")
        stalled = state.stall(batch, sigma, finite & ~done & ~late, policy, task, x_hat, d)
        bar.update(int((~finite | done | late | stalled).sum()))
        keep = finite & ~done & ~late & ~stalled
        h, gamma = policy.step(batch.t[keep], sigma[keep])
        batch = batch.advance(keep, d, h, gamma, sigma, getattr(policy, "next_level", None))
        iteration += 1
    bar.close()
    return state.result(seeds)


class _Batch:
    """The images in flight: y, their sample indices (numpy and on the device), step indices
    t (numpy), generators and the noise level the schedule put in y (`level`, numpy)."""

    def __init__(self, y, index, t, gens, level):
        self.y, self.index, self.t, self.gens, self.level = y, index, t, gens, level
        self.index_t = torch.from_numpy(index).to(y.device)

    @classmethod
    def empty(cls, shape, device):
        return cls(torch.empty(0, *shape, device=device), np.zeros(0, dtype=np.int64),
                   np.zeros(0, dtype=np.int64), [], np.zeros(0))

    def __len__(self):
        return len(self.gens)

    def extend(self, task, seeds, indices, sigma_0, shape, device):
        gens = [torch.Generator(device=device).manual_seed(int(seeds[i])) for i in indices]
        noise = torch.stack([torch.randn(shape, generator=g, device=device) for g in gens])
        index = np.asarray(list(indices), dtype=np.int64)
        y0 = task.start(sigma_0 * noise, torch.from_numpy(index).to(device)).to(torch.float32)
        return _Batch(torch.cat([self.y, y0]), np.concatenate([self.index, index]),
                      np.concatenate([self.t, np.ones_like(index)]), self.gens + gens,
                      np.concatenate([self.level, np.full(len(index), float(sigma_0))]))

    def advance(self, keep, d, h, gamma, sigma, next_level=None):
        """y <- y + h d + gamma z for the images kept; each z from its own generator. The new
        level: sqrt((1 - h)^2 sigma^2 + gamma^2), sigma the effective noise just measured, or
        the policy's `next_level(t, sigma, h, gamma)` (a fixed grid's own level)."""
        y = self.y
        if not keep.all():
            sel = torch.from_numpy(keep).to(y.device)
            y, d = y[sel], d[sel]
        gens = [g for g, k in zip(self.gens, keep.tolist()) if k]
        if gens:
            z = torch.stack([torch.randn(y.shape[1:], generator=g, device=y.device)
                             for g in gens])
            coef = torch.from_numpy(np.stack([h, gamma])).to(y.device, y.dtype)
            y = y + coef[0].view(-1, 1, 1, 1) * d + coef[1].view(-1, 1, 1, 1) * z
        level = np.sqrt((1 - h) ** 2 * sigma[keep] ** 2 + gamma**2) if next_level is None \
            else next_level(self.t[keep], sigma[keep], h, gamma)
        return _Batch(y, self.index[keep], self.t[keep] + 1, gens, level)


class _State:
    """Outputs, call counts, trajectories and failures of all n samples."""

    def __init__(self, n, shape, device):
        self.samples = torch.full((n, *shape), float("nan"), device=device)
        self.steps = np.zeros(n, dtype=np.int64)
        self.traj = [[] for _ in range(n)]
        self.reasons: dict[int, str] = {}
        self.stalled: dict[int, float] = {}
        self.lowest = np.full(n, np.inf)  # lowest sigma_t so far, the call it came at, and
        self.lowest_t = np.zeros(n, dtype=np.int64)  # the output there (with Schedule.stall)
        self.best: torch.Tensor | None = None

    def stall(self, batch, sigma, running, policy, task, x_hat, d) -> np.ndarray:
        """With `policy.stall` (see `Schedule`): keep each sample's output at its lowest sigma_t
        so far; stop the running samples whose lowest sigma_t is within STALL_TOLERANCE sigma_L
        and has not fallen for `stall` calls, returning that output. The mask of those."""
        stall = getattr(policy, "stall", None)
        if stall is None:
            return np.zeros(len(batch), dtype=bool)
        if self.best is None:
            self.best = torch.full_like(self.samples, float("nan"))
        lower = running & (sigma < self.lowest[batch.index])
        if lower.any():
            i, sel = batch.index[lower], torch.from_numpy(lower).to(x_hat.device)
            self.lowest[i], self.lowest_t[i] = sigma[lower], batch.t[lower]
            out = task.final(batch.y[sel], x_hat[sel], d[sel], batch.index_t[sel])
            self.best[torch.from_numpy(i).to(self.best.device)] = out.to(self.best.dtype)
        near = self.lowest[batch.index] <= STALL_TOLERANCE * policy.sigma_L
        stopped = running & near & (batch.t - self.lowest_t[batch.index] >= stall)
        for i in batch.index[stopped].tolist():
            self.samples[i] = self.best[i]
            self.stalled[i] = float(self.lowest[i])
        return stopped

    def record(self, batch, sigma):
        self.steps[batch.index] = batch.t
        for i, s in zip(batch.index.tolist(), sigma.tolist()):
            self.traj[i].append(s)

    def finish(self, index, images):
        self.samples[torch.from_numpy(index).to(self.samples.device)] = images.to(
            self.samples.dtype)

    def fail(self, index, reason):
        for i in index.tolist():
            self.reasons[i] = reason

    def result(self, seeds) -> SampleResult:
        sigmas = [torch.tensor(s, dtype=torch.float64) for s in self.traj]
        failed = sorted(self.reasons)
        return SampleResult(self.samples, torch.from_numpy(self.steps), sigmas, failed,
                            {i: self.reasons[i] for i in failed}, [int(s) for s in seeds],
                            dict(sorted(self.stalled.items())))


def resolve_seeds(n: int, generator: torch.Generator | None, seeds) -> list[int]:
    """One seed per sample: the given ones, or n seeds drawn from `generator` (else the global
    torch RNG)."""
    if n < 1:
        raise ConfigError(f"n={n}: ask for at least one sample")
    if seeds is not None:
        if generator is not None:
            raise ConfigError("give either seeds or generator, not both")
        seeds = [int(s) for s in seeds]
        if len(seeds) != n:
            raise ConfigError(f"{len(seeds)} seeds for n={n} samples; give one seed per sample")
        return seeds
    return torch.randint(0, 2**62, (n,), generator=generator).tolist()


def _check_shape(shape) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ShapeError(f"shape={shape} must be (C, H, W) of one image, without the batch axis")
    return shape


def _check_output(x_hat, y):
    if not isinstance(x_hat, torch.Tensor) or x_hat.shape != y.shape:
        got = tuple(x_hat.shape) if isinstance(x_hat, torch.Tensor) else type(x_hat).__name__
        raise ShapeError(f"the denoiser returned {got} for input {tuple(y.shape)}; a denoiser "
                         "maps (B, C, H, W) to x_hat of the same shape")


def _start_mean(start_mean, shape, device, denoiser):
    device = torch.device(device) if device is not None else device_of(denoiser)
    mean = torch.as_tensor(0.5 if start_mean is None else start_mean, dtype=torch.float32,
                           device=device)
    try:
        torch.broadcast_shapes(mean.shape, tuple(shape))
    except RuntimeError:
        raise ShapeError(f"start_mean of shape {tuple(mean.shape)} does not broadcast to the "
                         f"image shape {tuple(shape)}; give a scalar or per-pixel mean") from None
    return mean
