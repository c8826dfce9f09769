"""Training objectives: what one step computes from a batch of clean images, unit noise and
noise levels, by the net's family (`OBJECTIVES`, chosen by the class attribute `objective`).

- "residual" (gahr's bias-free nets, blind): y = x + sigma z, the net predicts the noise sigma z
  and the loss is the recipe's weighted squared error (`gahr.train.recipe`), the paper's.
- "edm" (noise-conditional nets under EDM preconditioning, e.g. `diffusers_unet`): the model is
  handed sigma and the loss is EDM's, lambda(sigma') ||D'(x' + sigma' z; sigma') - x'||^2 per
  image in the model's intensity range, lambda = 1 / c_out^2, summed over pixels and averaged
  over the batch. It is computed as ||F - F_target||^2 (`gahr.nets.edm`), equal in exact
  arithmetic and finite at sigma = 0. The recipe's `loss_weight` does not apply: lambda is
  EDM's weight. sigma follows the same law (`train.sigma_*`) as for the blind nets.

An objective is `objective(model, images, z, sigma) -> loss` (images a fresh copy it may
overwrite, z unit Gaussian noise, sigma (B, 1, 1, 1)), plus `denoiser(net)`: the map y -> x_hat
(blind) or D(y, sigma) (conditional) that evaluation and the end-of-run figures use.
"""

from collections.abc import Callable

import torch
from torch import nn

from ..nets.edm import EDMPrecond
from .recipe import loss_function


class ResidualObjective:
    """The blind nets' objective: residual = net(x + sigma z), loss(residual, sigma z, sigma)."""

    def __init__(self, net: nn.Module, tc):
        self.loss = loss_function(tc)

    def __call__(self, model, images, z, sigma) -> torch.Tensor:
        noise = z.mul_(sigma)
        noisy = images.add_(noise)
        return self.loss(model(noisy), noise, sigma)

    @staticmethod
    def denoiser(net: nn.Module) -> Callable:
        def x_hat(y, sigma=None):
            return y - net(y)

        return x_hat

    @staticmethod
    def probe(net: nn.Module, images: torch.Tensor) -> torch.Tensor:
        """net(images): what the build check compares to the images' shape."""
        return net(images)


class EDMObjective:
    """EDM's noise-conditional objective for a raw network F(x, c_noise) whose `make_denoiser()`
    is an `EDMPrecond` (module docstring)."""

    def __init__(self, net: nn.Module, tc):
        self.precond: EDMPrecond = net.make_denoiser()

    def __call__(self, model, images, z, sigma) -> torch.Tensor:
        p = self.precond
        sigma_model = sigma * p.scale
        x_model = p.to_model(images)
        y_model = x_model + sigma_model * z
        _, _, c_in, c_noise = p.coefficients(sigma_model)
        out = model(c_in * y_model, c_noise.flatten())
        error = (out.float() - p.target(x_model, z, sigma_model)).square()
        return error.sum() / len(images)

    @staticmethod
    def denoiser(net: nn.Module) -> EDMPrecond:
        return net.make_denoiser()

    @staticmethod
    def probe(net: nn.Module, images: torch.Tensor) -> torch.Tensor:
        return net.make_denoiser()(images, sigma=0.5)


OBJECTIVES: dict[str, type] = {"residual": ResidualObjective, "edm": EDMObjective}


def objective_of(net: nn.Module, tc):
    """The objective of `net`'s family (its class attribute `objective`, default "residual")."""
    return OBJECTIVES[getattr(net, "objective", "residual")](net, tc)


def loss_key(config) -> str | None:
    """The `LOSS_UNITS` key of a run's loss: "edm" for the EDM objective, else the recipe's
    `loss_weight`."""
    from ..nets import ARCHITECTURES

    family = getattr(ARCHITECTURES.get(config.model.arch), "objective", "residual")
    return "edm" if family == "edm" else config.train.loss_weight


def eval_denoiser(net: nn.Module) -> Callable:
    """The denoiser that evaluation and figures use for a net being trained."""
    return OBJECTIVES[getattr(net, "objective", "residual")].denoiser(net)


def probe(net: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The net's output on `images` in image form (the residual, or x_hat at sigma = 0.5)."""
    return OBJECTIVES[getattr(net, "objective", "residual")].probe(net, images)
