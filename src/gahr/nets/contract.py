"""The denoiser contract: `D(y, sigma) -> x_hat` on gahr's scale, and how everything calls one.

A denoiser maps noisy images y = x + sigma z (float `(B, C, H, W)`, clean images in [0, 1]) to
estimates x_hat of x. `sigma` is one noise level for the batch or one per image, on the same
[0, 1] scale. Two kinds meet this contract:

- blind (`blind = True`, the default of any callable): the model needs no noise level and may
  ignore the one it is given: gahr's bias-free nets (`Denoiser`), the oracles (which estimate
  sigma themselves unless they are handed one), any `y -> x_hat` function;
- conditional (`blind = False`): the model needs sigma (diffusers/EDM models through their
  adapters). Samplers hand it the noise level of each iterate; analyses at a known noise level
  hand it that level. Used without one, it gets sigma from the fixed point
  sigma = ||y - D(y, sigma)|| / sqrt(d) (`estimate_sigma`): the noise level at which the
  model's own residual has the norm that noise of that level would have.

`DenoiserProtocol` names what workflows may read besides the call (`channels`, `image_size`,
`meta`); `as_denoiser` is the one gate every sampler and analysis passes a model through. It
refuses the bare residual nets of `ARCHITECTURES` (their output is the noise estimate r(y), not
x_hat: an analysis of it would measure I - J) and batch norms in training mode.
"""

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from ..errors import ConfigError
from .inputs import as_images, check_sigma_type, model_dtype

#: Fixed-point iterations of `estimate_sigma` and the relative change that stops them early.
FIXED_POINT_ITERATIONS, FIXED_POINT_TOL = 30, 1e-4
_BATCH_NORMS = (nn.modules.batchnorm._BatchNorm,)


@runtime_checkable
class DenoiserProtocol(Protocol):
    """What gahr reads of a denoiser: the call `D(y, sigma=None) -> x_hat` and, where the
    workflow needs them, `blind`, `channels`, `image_size` (an int for models of one size,
    None for fully convolutional ones) and `meta` (facts of the training data, e.g.
    `mean_intensity`)."""

    blind: bool
    channels: int
    image_size: int | None
    meta: dict

    def __call__(self, y: torch.Tensor, sigma=None) -> torch.Tensor: ...


def is_blind(denoiser) -> bool:
    """True unless the denoiser says it needs a noise level (`blind = False`)."""
    return bool(getattr(denoiser, "blind", True))


def refuse_residual_net(obj) -> None:
    """ConfigError for an instance of a registered architecture: a residual net, not a
    denoiser."""
    from .registry import ARCHITECTURES  # registry imports this module

    if isinstance(obj, tuple(ARCHITECTURES.values())):
        raise ConfigError(
            f"got the residual net {type(obj).__name__} (it returns the noise estimate r(y), not "
            "x_hat); wrap it with gahr.Denoiser(net) or load it with gahr.load_denoiser(spec)")


def as_denoiser(denoiser) -> "DenoiserProtocol | Callable":
    """Check that `denoiser` meets the contract and return it: a callable that is not a residual
    net and holds no batch norm in training mode (batch statistics would couple the images)."""
    if not callable(denoiser):
        raise ConfigError("a denoiser must be a callable D(y, sigma=None) -> x_hat, got "
                          f"{type(denoiser).__name__}; load one with gahr.load_denoiser(spec)")
    refuse_residual_net(denoiser)
    if isinstance(denoiser, nn.Module):
        from .layers import BFBatchNorm2d

        if any(m.training for m in denoiser.modules()
               if isinstance(m, (*_BATCH_NORMS, BFBatchNorm2d))):
            raise ConfigError("the denoiser module is in training mode (batch statistics would "
                              "make its output depend on the batch); call .eval() first")
    return denoiser


def estimate_sigma(denoiser, y: torch.Tensor, iterations: int = FIXED_POINT_ITERATIONS,
                   tol: float = FIXED_POINT_TOL) -> torch.Tensor:
    """The noise level of each image, (B,), for a conditional model used blind: the fixed point
    sigma = ||y - D(y, sigma)|| / sqrt(d), iterated from the images' standard deviation (an
    upper bound of the noise level for images whose clean part is not anti-correlated with the
    noise). No gradient flows through it: a Jacobian is taken at the estimated sigma. For an
    image model the residual at the true level is about sigma sqrt(1 - tr J / d), close to
    sigma; a model of a full-dimensional prior (white Gaussian of variance v) has a positive
    fixed point only when the noise is large against v (sigma^2 >= 3 v) and is driven to 0
    below it."""
    with torch.no_grad():
        flat = y.detach().flatten(1)
        d = flat.shape[1]
        sigma = flat.std(dim=1).clamp_min(1e-6)
        for _ in range(int(iterations)):
            new = (flat - denoiser(y.detach(), sigma=sigma).flatten(1)).norm(dim=1) / d**0.5
            new = new.clamp_min(1e-6)
            change = float(((new - sigma).abs() / sigma).max())
            sigma = new
            if change < tol:
                break
    return sigma


def denoise(denoiser, y: torch.Tensor, sigma=None, give_sigma: bool | None = None):
    """x_hat = D(y) under the contract. `sigma` (the known noise level, one or one per image)
    reaches the denoiser when it is conditional, or when `give_sigma=True` (the oracles, which
    are otherwise blind); a conditional model without a known sigma gets `estimate_sigma`.
    `y` of another float dtype than a module's parameters (float64, float16, bfloat16 for a
    float32 net) is converted to theirs; integer images are refused (`as_images`), and so is a
    sigma given as a string or a bool (`check_sigma_type`)."""
    y = as_images(y, "noisy images y", model_dtype(denoiser))
    check_sigma_type(sigma)
    give = (not is_blind(denoiser)) if give_sigma is None else bool(give_sigma)
    if not give:
        return denoiser(y)
    if sigma is None:
        if is_blind(denoiser):
            return denoiser(y)
        sigma = estimate_sigma(denoiser, y)
    if isinstance(sigma, torch.Tensor):
        sigma = sigma.to(y.device)
    return denoiser(y, sigma=sigma)


def at_sigma(denoiser, sigma=None,
             give_sigma: bool | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """The map y -> x_hat that an analysis differentiates: a blind denoiser as it is, a
    conditional one at the fixed noise level `sigma` (or, with none given, at the detached
    `estimate_sigma` of each input); `give_sigma` as in `denoise`. Checks the contract first."""
    as_denoiser(denoiser)
    check_sigma_type(sigma)
    if not ((not is_blind(denoiser)) if give_sigma is None else give_sigma):
        return denoiser

    def fixed(y: torch.Tensor) -> torch.Tensor:
        return denoise(denoiser, y, sigma, give_sigma=True)

    return fixed
