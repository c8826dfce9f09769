"""`arch = "diffusers_unet"`: a noise-conditional diffusers `UNet2DModel` under EDM
preconditioning, trainable in gahr's loop (`gahr.train.objective`).

The registered net is the raw network F(x, c_noise) (the UNet, with biases, group norms and a
time embedding of c_noise); its denoiser is `make_denoiser()`, an `EDMPrecond` on gahr's [0, 1]
scale, which is what `gahr.load_denoiser(run_dir)` returns. diffusers is imported when a net is
built, so gahr works without it until this architecture is used.
"""

from torch import nn

from ..errors import ArchitectureError, ConfigError
from .edm import EDMPrecond, range_of
from .registry import ARCHITECTURES

INSTALL_HINT = "pip install -e .[diffusers]"


def _unet2d_class():
    try:
        from diffusers import UNet2DModel
    except ImportError as e:
        raise ConfigError(f"arch \"diffusers_unet\" needs the diffusers package ({e}); install "
                          f"it with `{INSTALL_HINT}`") from None
    return UNet2DModel


class DiffusersUNet(nn.Module):
    """F(x, c_noise) = UNet2DModel(x, c_noise).sample: `len(block_out_channels)` levels of
    `layers_per_block` ResNet blocks, without attention unless `attention` (then the levels
    below the first carry attention blocks), positional embedding of the continuous c_noise.
    `sigma_data` and `data_range` are the EDM preconditioning's (`gahr.nets.edm`)."""

    arch = "diffusers_unet"
    bias_free = False  # biases, group norms and a time embedding: not homogeneous in y
    objective = "edm"  # trained on EDM's noise-conditional loss (gahr.train.objective)

    def __init__(self, channels: int = 1, sample_size: int = 32,
                 block_out_channels: tuple[int, ...] = (32, 64, 64), layers_per_block: int = 1,
                 attention: bool = False, norm_num_groups: int = 8, sigma_data: float = 0.5,
                 data_range: str = "[-1,1]"):
        super().__init__()
        if not block_out_channels or any(c % norm_num_groups for c in block_out_channels):
            raise ArchitectureError(f"diffusers_unet: every block_out_channels entry "
                                    f"({list(block_out_channels)}) must be a multiple of "
                                    f"norm_num_groups={norm_num_groups}")
        if sample_size % 2 ** (len(block_out_channels) - 1):
            raise ArchitectureError(f"diffusers_unet: sample_size={sample_size} is not divisible "
                                    f"by 2^{len(block_out_channels) - 1} (one halving per level)")
        range_of(data_range)
        self.config = dict(channels=channels, sample_size=sample_size,
                           block_out_channels=list(block_out_channels),
                           layers_per_block=layers_per_block, attention=attention,
                           norm_num_groups=norm_num_groups, sigma_data=sigma_data,
                           data_range=data_range)
        levels = len(block_out_channels)
        down = ["DownBlock2D"] + ["AttnDownBlock2D" if attention else "DownBlock2D"] * (levels - 1)
        up = ["AttnUpBlock2D" if attention else "UpBlock2D"] * (levels - 1) + ["UpBlock2D"]
        self.unet = _unet2d_class()(
            sample_size=sample_size, in_channels=channels, out_channels=channels,
            block_out_channels=tuple(block_out_channels), layers_per_block=layers_per_block,
            down_block_types=tuple(down), up_block_types=tuple(up), add_attention=attention,
            norm_num_groups=norm_num_groups)
        self.meta: dict = {}

    def forward(self, x, c_noise):
        """F(x, c_noise): x (B, C, H, W) in the preconditioned range, c_noise (B,)."""
        return self.unet(x, c_noise, return_dict=False)[0]

    def make_denoiser(self) -> EDMPrecond:
        """The denoiser D(y; sigma) on [0, 1] (eval mode), holding this net."""
        c = self.config
        return EDMPrecond(self, c["sigma_data"], c["data_range"], c["channels"],
                          c["sample_size"], meta=self.meta).eval()


ARCHITECTURES[DiffusersUNet.arch] = DiffusersUNet
