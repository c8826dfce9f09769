"""Bias-free building blocks: no additive constant anywhere, so every layer is homogeneous."""

import torch
from torch import nn


class BFBatchNorm2d(nn.Module):
    """Bias-free batch normalization (Mohan et al., ICLR 2020).

    Training: x / sd_batch * gain, with sd_batch the per-channel standard deviation over
    (batch, height, width); the running estimate of sd is updated with momentum 0.1.
    Evaluation: x / running_sd * gain. No mean is subtracted and no shift is added, so in
    evaluation the layer is linear and `f(a*x) == a*f(x)` for every a.
    """

    def __init__(self, num_channels: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.gain = nn.Parameter(torch.ones(num_channels))
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
