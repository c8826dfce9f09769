"""EDM preconditioning (Karras, Aittala, Aila, Laine, NeurIPS 2022, Table 1): a conditional
denoiser D(y; sigma) built from a raw network F(x, c_noise).

In the model's intensity range (primed; gahr's [0, 1] images map onto it affinely, by default
onto diffusers' [-1, 1]: y' = 2 y - 1, sigma' = 2 sigma),

    D'(y'; sigma') = c_skip y' + c_out F(c_in y'; c_noise),
    c_skip = s_d^2 / (sigma'^2 + s_d^2),   c_out = sigma' s_d / sqrt(sigma'^2 + s_d^2),
    c_in = 1 / sqrt(sigma'^2 + s_d^2),     c_noise = ln(sigma') / 4,

s_d = `sigma_data`, and x_hat = (x_hat' - lo) / (hi - lo) on gahr's scale. Nothing is clipped.
At sigma = 0, c_out = 0 and D(y; 0) = y exactly (c_noise takes ln of sigma' floored at
`C_NOISE_FLOOR`, so F stays finite there).

The EDM training loss lambda(sigma') ||D'(x' + sigma' z; sigma') - x'||^2 with lambda = 1/c_out^2
equals ||F(c_in y'; c_noise) - F_target||^2 with the effective target
F_target = (x' - c_skip y') / c_out = (sigma' x' - s_d^2 z) / (s_d sqrt(sigma'^2 + s_d^2)),
which `EDMPrecond.target` computes without dividing by c_out (finite at sigma = 0).
"""

import torch
from torch import nn

from ..errors import ConfigError, ShapeError
from .contract import estimate_sigma

#: Model intensity ranges (lo, hi) that gahr's [0, 1] maps onto: diffusers/EDM's [-1, 1] or
#: gahr's own.
DATA_RANGES: dict[str, tuple[float, float]] = {"[-1,1]": (-1.0, 1.0), "[0,1]": (0.0, 1.0)}
C_NOISE_FLOOR = 1e-8  # sigma' below which c_noise stops falling (there c_out ~ 0)


def range_of(name) -> tuple[float, float]:
    """(lo, hi) of a `DATA_RANGES` name or of a pair (lo, hi) with lo < hi, else ConfigError."""
    if isinstance(name, list | tuple):
        lo, hi = (float(v) for v in name)
        if not lo < hi:
            raise ConfigError(f"data_range={tuple(name)}: give (lo, hi) with lo < hi")
        return lo, hi
    key = str(name).replace(" ", "")
    if key not in DATA_RANGES:
        raise ConfigError(f"data_range={name!r} is unknown; choose one of "
                          f"{', '.join(map(repr, DATA_RANGES))}")
    return DATA_RANGES[key]


def per_image_sigma(sigma, y: torch.Tensor) -> torch.Tensor:
    """`sigma` (a number, a 0-d tensor, or one per image of shape (B,) or (B, 1, 1, 1)) as a
    (B, 1, 1, 1) tensor of y's dtype and device."""
    s = torch.as_tensor(sigma, dtype=y.dtype, device=y.device)
    if s.numel() == 1:
        return s.reshape(1, 1, 1, 1).expand(len(y), 1, 1, 1)
    if s.numel() != len(y):
        raise ShapeError(f"sigma has {s.numel()} values for {len(y)} images; give one sigma or "
                         "one per image")
    return s.reshape(len(y), 1, 1, 1)


class EDMPrecond(nn.Module):
    """The conditional denoiser D(y; sigma) of a raw network `model(x, c_noise)` (x of shape
    (B, C, H, W), c_noise of shape (B,)) under EDM preconditioning; meets gahr's denoiser
    contract (`blind = False`, `channels`, `image_size`, `meta`). `data_range`: a name of
    `DATA_RANGES` or the model's (lo, hi). Called without sigma, it estimates it
    (`gahr.nets.estimate_sigma`)."""

    blind = False

    def __init__(self, model: nn.Module, sigma_data: float = 0.5, data_range="[-1,1]",
                 channels: int = 1, image_size: int | None = None, meta: dict | None = None):
        super().__init__()
        if not sigma_data > 0:
            raise ConfigError(f"sigma_data={sigma_data} must be positive")
        self.model = model
        self.sigma_data = float(sigma_data)
        self.lo, self.hi = range_of(data_range)
        self.channels, self.image_size = int(channels), image_size
        self.meta = dict(meta or {})

    @property
    def scale(self) -> float:
        """hi - lo: sigma' = scale * sigma."""
        return self.hi - self.lo

    def coefficients(self, sigma_model: torch.Tensor):
        """(c_skip, c_out, c_in, c_noise) at model-range noise levels sigma' (any shape)."""
        s2, d2 = sigma_model.square(), self.sigma_data**2
        root = (s2 + d2).sqrt()
        c_noise = sigma_model.clamp_min(C_NOISE_FLOOR).log() / 4
        return d2 / (s2 + d2), sigma_model * self.sigma_data / root, 1 / root, c_noise

    def to_model(self, images: torch.Tensor) -> torch.Tensor:
        """gahr's [0, 1] scale -> the model's range."""
        return images * self.scale + self.lo

    def raw(self, y_model: torch.Tensor, sigma_model: torch.Tensor) -> torch.Tensor:
        """F(c_in y'; c_noise) for model-range y' and sigma' of shape (B, 1, 1, 1)."""
        _, _, c_in, c_noise = self.coefficients(sigma_model)
        return self.model(c_in * y_model, c_noise.flatten())

    def target(self, x_model: torch.Tensor, z: torch.Tensor,
               sigma_model: torch.Tensor) -> torch.Tensor:
        """The effective training target of F at y' = x' + sigma' z (module docstring)."""
        d = self.sigma_data
        return (sigma_model * x_model - d * d * z) / (d * (sigma_model.square() + d * d).sqrt())

    def forward(self, y: torch.Tensor, sigma=None) -> torch.Tensor:
        """x_hat = D(y; sigma) on gahr's [0, 1] scale; y of shape (B, C, H, W)."""
        if y.dim() != 4:
            raise ShapeError(f"a denoiser takes (B, C, H, W) images, got shape {tuple(y.shape)}; "
                             "add a batch axis with y[None]")
        if sigma is None:  # the contract's rule for a conditional model used blind
            sigma = estimate_sigma(self, y)
        sigma_model = per_image_sigma(sigma, y) * self.scale
        y_model = self.to_model(y)
        c_skip, c_out, _, _ = self.coefficients(sigma_model)
        x_model = c_skip * y_model + c_out * self.raw(y_model, sigma_model).to(y.dtype)
        return (x_model - self.lo) / self.scale

    def extra_repr(self) -> str:
        return f"sigma_data={self.sigma_data}, range=[{self.lo:g}, {self.hi:g}]"


def edm_weight(sigma_model: torch.Tensor, sigma_data: float) -> torch.Tensor:
    """lambda(sigma') = 1 / c_out^2 = (sigma'^2 + s_d^2) / (sigma' s_d)^2 (EDM's loss weight)."""
    return (sigma_model.square() + sigma_data**2) / (sigma_model * sigma_data).square()


__all__ = ["C_NOISE_FLOOR", "DATA_RANGES", "EDMPrecond", "edm_weight", "per_image_sigma",
           "range_of"]
