"""Bias-free building blocks: no additive constant anywhere, so every layer is homogeneous."""

import torch
from torch import nn


class BFBatchNorm2d(nn.Module):
    """Bias-free batch normalization (Mohan et al., ICLR 2020).

    Training: x / sd_batch * gain, with sd_batch the per-channel standard deviation over
    (batch, height, width); the running estimate of sd is updated with momentum 0.1.
    Evaluation: x / running_sd * gain. No mean is subtracted and no shift is added, so in
    evaluation the layer is linear and `f(a*x) == a*f(x)` for every a.

    The gains start as the paper's code starts them (`paper_gains`): small random values, so a
    freshly built net's residual is close to 0 and the net starts as the identity denoiser.
    """

    def __init__(self, num_channels: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.gain = nn.Parameter(paper_gains(num_channels))
        self.register_buffer("running_sd", torch.ones(num_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            sd = torch.sqrt(x.var(dim=(0, 2, 3), unbiased=False) + self.eps)
            with torch.no_grad():
                self.running_sd.mul_(1 - self.momentum).add_(self.momentum * sd)
        else:
            sd = self.running_sd
        return x * (self.gain / sd).view(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"{self.gain.numel()}, eps={self.eps}, momentum={self.momentum}"


#: Gain init of the paper's code (`BF_batchNorm`): normal with std 2/9/64, clamped to +-0.025.
PAPER_GAIN_STD, PAPER_GAIN_CLAMP = 2 / 9 / 64, 0.025


def paper_gains(num_channels: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Initial BF-norm gains as the paper's code draws them: N(0, (2/9/64)^2), clamped to
    +-0.025 (the clamp is almost never active: 7 standard deviations). Signs are random."""
    g = torch.randn(num_channels, generator=generator) * PAPER_GAIN_STD
    return g.clamp_(-PAPER_GAIN_CLAMP, PAPER_GAIN_CLAMP)


def bf_conv(c_in: int, c_out: int, kernel_size: int = 3) -> nn.Conv2d:
    """A bias-free 'same' convolution."""
    return nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=False)


def conv_stack(channels: list[int], kernel_size: int = 3,
               norm_first: bool = True) -> list[nn.Module]:
    """Layers conv -> BF-norm -> ReLU for each consecutive pair of `channels`.

    `norm_first=False` leaves the first conv without normalization (conv -> ReLU), as the
    first layer of the paper's UNet.
    """
    layers: list[nn.Module] = []
    for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])):
        layers.append(bf_conv(c_in, c_out, kernel_size))
        if norm_first or i > 0:
            layers.append(BFBatchNorm2d(c_out))
        layers.append(nn.ReLU(inplace=True))
    return layers
