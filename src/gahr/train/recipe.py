"""The pieces of a training recipe: initialization, loss weights and the learning-rate schedule.

Each is chosen by a field of `TrainConfig`; `gahr.config.RECIPES` names two full recipes,
"paper" (every choice of the paper's code) and "modern" (the measured best per step on a CPU
budget, `benchmarks/recipe.py`).
"""

import math

import torch
from torch import nn

from ..errors import ConfigError
from ..nets.layers import BFBatchNorm2d, paper_gains


def initialize(net: nn.Module, tc) -> nn.Module:
    """Initialize `net` in place from the torch RNG as `tc` says; returns it.

    `tc.init = "kaiming"`: every conv He-normal, fan_in (the paper). `tc.norm_gain_init`:
    "paper" draws the BF-norm gains as the paper's code does (`paper_gains`), "ones" sets 1.
    `tc.output_init = "zero"`: the last conv is zero, so the net starts as the identity
    denoiser exactly (its residual is 0).
    """
    for m in net.modules():
        if tc.init == "kaiming" and isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
        elif isinstance(m, BFBatchNorm2d):
            with torch.no_grad():
                if tc.norm_gain_init == "paper":
                    m.gain.copy_(paper_gains(m.gain.numel()))
                else:
                    m.gain.fill_(1.0)
    if tc.output_init == "zero":
        output = getattr(net, "output_conv", None)
        if output is None:
            raise ConfigError(f"train.output_init=\"zero\" needs a net with an output_conv; "
                              f"{type(net).__name__} has none: use output_init=\"kaiming\"")
        nn.init.zeros_(output.weight)
    return net


class SquaredError:
    """The paper's loss: sum_i ||r(y_i) - sigma_i z_i||^2 / B (squared error per image)."""

    def weight(self, sigma: torch.Tensor) -> torch.Tensor | None:
        return None

    def __call__(self, residual: torch.Tensor, noise: torch.Tensor,
                 sigma: torch.Tensor) -> torch.Tensor:
        error = (residual.float() - noise).square()
        w = self.weight(sigma)
        return (error if w is None else error * w).sum() / len(residual)


class InverseVariance(SquaredError):
    """Each image's squared error divided by max(sigma, floor)^2: every noise level pulls
    equally, the error measured in units of the noise variance."""

    def __init__(self, floor: float = 1 / 255):
        self.floor = floor

    def weight(self, sigma):
        return sigma.clamp_min(self.floor).pow(-2)


class Balanced(SquaredError):
    """Each image's squared error times s_w^2 / (sigma^2 + s_w^2): the plain error below s_w,
    the error per unit noise variance (times s_w^2) above it, so the high noise levels, whose
    errors are largest, do not drown the low ones."""

    def __init__(self, sigma_w: float = 0.05):
        self.sigma_w = sigma_w

    def weight(self, sigma):
        s2 = self.sigma_w**2
        return s2 / (sigma.square() + s2)


def loss_function(tc) -> SquaredError:
    """The loss callable `loss(residual, noise, sigma)` that `tc.loss_weight` names."""
    if tc.loss_weight == "inverse_variance":
        return InverseVariance()
    if tc.loss_weight == "balanced":
        return Balanced(tc.loss_sigma_w)
    return SquaredError()


def learning_rate(tc, epoch: int, step: int, steps_per_epoch: int) -> float:
    """The learning rate of step `step` of epoch `epoch` (both from 0).

    "halving": lr * 0.5^(epoch // lr_halve_every), the paper's. "cosine": linear warm-up over
    `warmup_steps`, then lr * (1 + cos(pi t / T)) / 2 from t = 0 to the last step T.
    """
    if tc.lr_schedule == "halving":
        return tc.lr * 0.5 ** (epoch // tc.lr_halve_every)
    t = epoch * steps_per_epoch + step
    total = max(1, tc.epochs * steps_per_epoch - tc.warmup_steps)
    if t < tc.warmup_steps:
        return tc.lr * (t + 1) / (tc.warmup_steps + 1)
    return tc.lr * 0.5 * (1 + math.cos(math.pi * min(t - tc.warmup_steps, total) / total))
