"""The bias-free DnCNN-shaped network (BF-CNN, Mohan et al., ICLR 2020)."""

import torch
from torch import nn

from ..errors import ArchitectureError
from .layers import BFBatchNorm2d, bf_conv


class BFCNN(nn.Module):
    """`num_layers` bias-free convs: conv (+ReLU unless `first_layer_linear`), then
    `num_layers - 2` conv -> BF-norm -> ReLU, then a conv back to `channels` (the residual)."""

    arch = "bfcnn"

    def __init__(self, channels: int = 1, num_kernels: int = 64, num_layers: int = 20,
                 kernel_size: int = 3, first_layer_linear: bool = False):
        super().__init__()
        if num_layers < 2 or num_kernels < 1 or channels < 1 or kernel_size % 2 == 0:
            raise ArchitectureError(
                f"bfcnn: num_layers={num_layers} (>= 2), num_kernels={num_kernels} (>= 1), "
                f"channels={channels} (>= 1), kernel_size={kernel_size} (odd) do not make a net")
        self.config = dict(channels=channels, num_kernels=num_kernels, num_layers=num_layers,
                           kernel_size=kernel_size, first_layer_linear=first_layer_linear)
        chans = [channels] + [num_kernels] * (num_layers - 1) + [channels]
        self.convs = nn.ModuleList(bf_conv(a, b, kernel_size) for a, b in zip(chans, chans[1:]))
        self.norms = nn.ModuleList(BFBatchNorm2d(num_kernels) for _ in range(num_layers - 2))
        self.relu = nn.ReLU(inplace=True)

    @property
    def output_conv(self) -> nn.Conv2d:
        """The last conv, which maps features to the residual."""
        return self.convs[-1]

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        x = self.convs[0](y)
        if not self.config["first_layer_linear"]:
            x = self.relu(x)
        for conv, norm in zip(self.convs[1:-1], self.norms):
            x = self.relu(norm(conv(x)))
        return self.convs[-1](x)
