"""A VP (DDPM-type) diffusion model as a gahr denoiser `D(y, sigma) -> x_hat` on [0, 1].

A variance-preserving model is trained on x_t = sqrt(abar_t) x' + sqrt(1 - abar_t) eps at
integer timesteps t of a table abar_t (diffusers `scheduling_ddpm.py`: alphas_cumprod), x' the
image on the model's data range. Dividing by sqrt(abar_t) turns it into the variance-exploding
form gahr uses, y' = x' + sigma' eps, with (Karras et al. 2022, EDM, Table 1, "VP" column;
Crowson's k-diffusion `external.py`, `DiscreteSchedule`)

    sigma'(t) = sqrt((1 - abar_t) / abar_t),   x_t = sqrt(abar_t) y' = y' / sqrt(1 + sigma'^2).

The data range [lo, hi] (diffusers: [-1, 1]) maps gahr's y in [0, 1] affinely:
y' = lo + (hi - lo) y, sigma' = (hi - lo) sigma, and back x_hat = (x_hat' - lo) / (hi - lo).
The model's output m becomes x_hat' by its prediction type (diffusers `DDPMScheduler.step`,
"predicted x_0" of Ho et al. 2020 eq. 15; EDM Table 1's c_skip, c_out for eps; Salimans & Ho
2022 for v):

    epsilon:       x_hat' = y' - sigma' m
    v_prediction:  x_hat' = y' / (1 + sigma'^2) - sigma' / sqrt(1 + sigma'^2) m
    sample:        x_hat' = m

The timestep handed to the model is t(sigma'), linear interpolation of t in log sigma' over the
table (as k-diffusion's `DiscreteSchedule.sigma_to_t`): fractional timesteps, which a
positional time embedding takes as they are. sigma' outside the table's [sigma'_min,
sigma'_max] gets the end timestep (t is clamped, the scalings above still use the sigma'
given, as k-diffusion does); `sigma_min`, `sigma_max` are those ends on gahr's scale. Nothing
is ever clipped: x_hat may leave [0, 1].
"""

import math
from collections.abc import Callable

import torch
from torch import nn

from ..errors import ConfigError
from ..nets.contract import estimate_sigma


def _epsilon(m, y, s):
    return y - s * m


def _v(m, y, s):
    return y / (1 + s**2) - s / torch.sqrt(1 + s**2) * m


def _sample(m, y, s):
    return m


#: x_hat' from (model output m, y' on the model's range, sigma' shaped (B, 1, 1, 1)), by the
#: diffusers name of the prediction type; a new parameterization is one more entry.
PREDICTIONS: dict[str, Callable] = {"epsilon": _epsilon, "v_prediction": _v, "sample": _sample}


def vp_sigmas(alphas_cumprod) -> torch.Tensor:
    """sigma'(t) = sqrt((1 - abar_t) / abar_t) of a VP table, float64 (abar_t floored at 1e-20
    so a zero-terminal-SNR table keeps a finite last entry)."""
    abar = torch.as_tensor(alphas_cumprod, dtype=torch.float64).clamp_min(1e-20)
    return ((1 - abar) / abar).sqrt()


def timestep_of(log_sigmas: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """t(sigma'): linear interpolation in log sigma' between the table's neighbouring integer
    timesteps (log_sigmas increasing in t), clamped to [0, T - 1]; float64."""
    log_s = sigma.to(torch.float64).clamp_min(float(log_sigmas[0].exp())).log()
    high = torch.searchsorted(log_sigmas, log_s).clamp(1, len(log_sigmas) - 1)
    low = high - 1
    w = (log_s - log_sigmas[low]) / (log_sigmas[high] - log_sigmas[low])
    return low.to(torch.float64) + w.clamp(0, 1)


class VPDenoiser(nn.Module):
    """`model(x_t, t) -> output` of a VP diffusion model as a conditional gahr denoiser (see the
    module docstring for the formulas). `alphas_cumprod`: the scheduler's abar_t table;
    `prediction_type`: a key of `PREDICTIONS`; `data_range`: the model's (lo, hi);
    `integer_timesteps`: round t(sigma') to the nearest table timestep (for a learned, i.e.
    lookup-table, time embedding). Called without sigma it uses `estimate_sigma`."""

    blind = False

    def __init__(self, model: nn.Module, alphas_cumprod, prediction_type: str = "epsilon",
                 data_range=(-1.0, 1.0), channels: int = 3, image_size: int | None = None,
                 meta: dict | None = None, integer_timesteps: bool = False):
        super().__init__()
        if prediction_type not in PREDICTIONS:
            raise ConfigError(f"prediction_type={prediction_type!r}; known: "
                              f"{', '.join(PREDICTIONS)}")
        lo, hi = (float(v) for v in data_range)
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            raise ConfigError(f"data_range={tuple(data_range)}: give (lo, hi) with lo < hi")
        sigmas = vp_sigmas(alphas_cumprod)
        if len(sigmas) < 2 or not bool((sigmas[1:] > sigmas[:-1]).all()):
            raise ConfigError("alphas_cumprod must decrease strictly over at least 2 timesteps")
        self.model, self.prediction_type = model, prediction_type
        self.lo, self.scale = lo, hi - lo
        self.register_buffer("log_sigmas", sigmas.log(), persistent=False)
        self.integer_timesteps = bool(integer_timesteps)
        self.channels, self.image_size = int(channels), image_size
        self.sigma_min = float(sigmas[0]) / self.scale  # the table's ends on gahr's scale
        self.sigma_max = float(sigmas[-1]) / self.scale
        self.meta = {"prediction_type": prediction_type, "data_range": [lo, hi],
                     "num_train_timesteps": len(sigmas), **(meta or {})}
        if image_size is not None:
            self.meta.setdefault("image_size", [int(image_size)] * 2)

    @property
    def table_sigmas(self):
        """The table's noise levels sigma(t) on gahr's scale, t = 0..T-1 (numpy, float64): the
        grid of `ProbabilityFlow(grid="table")`."""
        return (self.log_sigmas.exp() / self.scale).cpu().numpy()

    def timestep(self, sigma) -> torch.Tensor:
        """t(sigma') of gahr-scale noise levels sigma (tensor), float64."""
        t = timestep_of(self.log_sigmas, torch.as_tensor(sigma) * self.scale)
        return t.round() if self.integer_timesteps else t

    def forward(self, y: torch.Tensor, sigma=None) -> torch.Tensor:
        if sigma is None:
            sigma = estimate_sigma(self, y)
        s = torch.as_tensor(sigma, dtype=torch.float64, device=y.device).reshape(-1)
        s = s.expand(y.shape[0]) if s.numel() == 1 else s
        if s.numel() != y.shape[0]:
            raise ConfigError(f"{s.numel()} noise levels for a batch of {y.shape[0]}; give one "
                              "sigma or one per image")
        dtype = _dtype_of(self.model, y)
        s_model = (s * self.scale).to(dtype).view(-1, 1, 1, 1)
        y_model = (self.lo + self.scale * y).to(dtype)
        t = self.timestep(s).to(device=y.device, dtype=dtype)
        out = self.model(y_model / torch.sqrt(1 + s_model**2), t)
        x_model = PREDICTIONS[self.prediction_type](out, y_model, s_model)
        return ((x_model - self.lo) / self.scale).to(y.dtype)


def _dtype_of(model, y: torch.Tensor) -> torch.dtype:
    if isinstance(model, nn.Module):
        for p in model.parameters():
            return p.dtype
    return y.dtype
