"""The bias-free UNet of Kadkhodaie et al. (ICLR 2024), returning the residual (noise estimate)."""

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ArchitectureError
from .layers import bf_conv, conv_stack

#: Receptive fields reported in the paper for 1, 2, 3, 4 blocks (3x3 convs, 2 per block).
RECEPTIVE_FIELD = {1: 18, 2: 45, 3: 90, 4: 180}


class UNet(nn.Module):
    """Bias-free UNet: encoder blocks with average pooling, a middle block, decoder blocks
    with transposed-conv upsampling and skip concatenations, and a last conv to `channels`.

    Block b has `num_kernels * 2**b` channels; the middle block `num_kernels * 2**num_blocks`.
    Inputs whose size is not a multiple of 2**num_blocks are padded (replicate, a linear and
    hence homogeneous operation) and the output cropped back.
    """

    arch = "unet"

    def __init__(self, channels: int = 1, num_kernels: int = 64, num_blocks: int = 3,
                 num_enc_conv: int = 2, num_mid_conv: int = 2, num_dec_conv: int = 2,
                 kernel_size: int = 3, pool_window: int = 2):
        super().__init__()
        _check_unet_config(channels, num_kernels, num_blocks, num_enc_conv, num_mid_conv,
                           num_dec_conv, kernel_size, pool_window)
        self.config = dict(channels=channels, num_kernels=num_kernels, num_blocks=num_blocks,
                           num_enc_conv=num_enc_conv, num_mid_conv=num_mid_conv,
                           num_dec_conv=num_dec_conv, kernel_size=kernel_size,
                           pool_window=pool_window)
        k, B = num_kernels, num_blocks
        width = [k * 2**b for b in range(B + 1)]
        self.pool = nn.AvgPool2d(pool_window, stride=2, padding=(pool_window - 1) // 2)
        self.encoder = nn.ModuleList()
        for b in range(B):
            c_in = channels if b == 0 else width[b - 1]
            chans = [c_in] + [width[b]] * num_enc_conv
            self.encoder.append(nn.Sequential(*conv_stack(chans, kernel_size, norm_first=b > 0)))
        self.middle = nn.Sequential(
            *conv_stack([width[B - 1]] + [width[B]] * num_mid_conv, kernel_size))
        self.upsample = nn.ModuleList(
            nn.ConvTranspose2d(width[b + 1], width[b], 2, stride=2, bias=False) for b in range(B))
        self.decoder = nn.ModuleList()
        for b in range(B):
            # After concatenation with the skip features the input has width[b+1] channels.
            n_conv = num_dec_conv - 1 if b == 0 else num_dec_conv
            layers = conv_stack([width[b + 1]] + [width[b]] * n_conv, kernel_size)
            if b == 0:
                layers.append(bf_conv(width[0], channels, kernel_size))
            self.decoder.append(nn.Sequential(*layers))

    @property
    def output_conv(self) -> nn.Conv2d:
        """The last conv, which maps features to the residual."""
        return self.decoder[0][-1]

    @property
    def multiple(self) -> int:
        """Spatial sizes that need no padding are multiples of this."""
        return 2 ** self.config["num_blocks"]

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        H, W = y.shape[-2:]
        m = self.multiple
        pad_h, pad_w = (-H) % m, (-W) % m
        x = F.pad(y, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else y
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.middle(x)
        for b in reversed(range(len(self.decoder))):
            x = torch.cat([self.upsample[b](x), skips[b]], dim=1)
            x = self.decoder[b](x)
        return x[..., :H, :W]


def _check_unet_config(channels, num_kernels, num_blocks, num_enc_conv, num_mid_conv,
                       num_dec_conv, kernel_size, pool_window):
    if not 1 <= num_blocks <= 6:
        raise ArchitectureError(f"unet: num_blocks={num_blocks} is out of range; use 1 to 4 "
                                "(receptive fields 18/45/90/180 pixels)")
    if num_dec_conv < 2:
        raise ArchitectureError(f"unet: num_dec_conv={num_dec_conv}; the last decoder block "
                                "needs at least 2 convs (one plus the output conv)")
    for name, value in [("channels", channels), ("num_kernels", num_kernels),
                        ("num_enc_conv", num_enc_conv), ("num_mid_conv", num_mid_conv)]:
        if value < 1:
            raise ArchitectureError(f"unet: {name}={value} must be at least 1")
    if kernel_size % 2 == 0 or pool_window not in (2, 3):
        raise ArchitectureError(f"unet: kernel_size={kernel_size} must be odd and pool_window="
                                f"{pool_window} must be 2 or 3")
