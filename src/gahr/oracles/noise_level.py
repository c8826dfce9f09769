"""The noise level an oracle denoises at: its own, or one given per call.

Every oracle is blind by default (a maximum-likelihood sigma per image) or built at a fixed
sigma, and every one also takes `forward(y, sigma=...)`: one noise level for the batch or one
per image, which wins over both. A sampler that knows the noise level of its iterates
(`gahr.sample.synthesize(..., give_sigma=True)`) or a comparison at a known noise level passes
it there.
"""

import math

import torch

from ..errors import ConfigError, ShapeError
from ..nets.inputs import check_sigma_type


def noise_variances(sigma, batch: int, device, dtype=torch.float64) -> torch.Tensor:
    """sigma^2 per image, (batch,), from a number or a (batch,) tensor/sequence of sigmas > 0;
    ConfigError for a string or a bool (`gahr.nets.inputs.check_sigma_type`)."""
    check_sigma_type(sigma)
    if isinstance(sigma, int | float):
        if not (math.isfinite(sigma) and sigma > 0):
            raise ConfigError(f"sigma={sigma} must be a finite number > 0")
        return torch.full((batch,), float(sigma) ** 2, dtype=dtype, device=device)
    s = torch.as_tensor(sigma, dtype=dtype, device=device).detach().flatten()
    if s.numel() == 1:
        s = s.expand(batch)
    if s.numel() != batch:
        raise ShapeError(f"{s.numel()} sigmas for {batch} images; give one sigma or one per image")
    if not (torch.isfinite(s).all() and (s > 0).all()):
        raise ConfigError("every sigma must be a finite number > 0")
    return s.square()
