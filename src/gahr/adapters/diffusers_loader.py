"""`diffusers:DIR`: a diffusers `UNet2DModel` and its VP scheduler, from local files, as a
`VPDenoiser`.

Two layouts:

- a pipeline directory (`DDPMPipeline.save_pretrained(DIR)`): `DIR/unet/` (config.json and
  weights) and `DIR/scheduler/scheduler_config.json`;
- a bare `UNet2DModel` directory (`unet.save_pretrained(DIR)`) with the scheduler config beside
  the model: `DIR/scheduler_config.json`, or `DIR/../scheduler/scheduler_config.json` (the
  `unet/` folder of a pipeline named directly).

Only local files are read (`local_files_only=True`; nothing is downloaded). The scheduler gives
abar_t (`alphas_cumprod`) and `prediction_type`; its clipping and thresholding settings are
ignored (the adapter never clips). diffusers is imported here, inside functions, so gahr works
without it until a `diffusers:` spec is loaded.
"""

import json
from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError, ConfigError
from ..nets.loaders import register_loader
from .vp import VPDenoiser

INSTALL_HINT = "pip install -e .[diffusers]"
UNET_CLASSES = ("UNet2DModel",)


def import_diffusers():
    """The diffusers module, or a ConfigError that says how to install it."""
    try:
        import diffusers
    except ImportError:
        raise ConfigError(f"diffusers is not installed; {INSTALL_HINT} (or pip install "
                          "diffusers) to load diffusers: models") from None
    return diffusers


def find_layout(directory) -> tuple[Path, Path]:
    """(the UNet's directory, the scheduler config file) of a `diffusers:` directory."""
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise CheckpointError(f"diffusers:{directory}: no such directory; give a "
                              "DDPMPipeline.save_pretrained directory (unet/ + scheduler/)")
    candidates = [(root / "unet", root / "scheduler" / "scheduler_config.json"),
                  (root, root / "scheduler_config.json"),
                  (root, root.parent / "scheduler" / "scheduler_config.json")]
    for unet_dir, scheduler in candidates:
        if (unet_dir / "config.json").is_file() and scheduler.is_file():
            return unet_dir, scheduler
    raise CheckpointError(f"diffusers:{directory}: found neither unet/config.json with "
                          "scheduler/scheduler_config.json (a pipeline) nor config.json with a "
                          "scheduler_config.json beside it (a bare UNet2DModel directory)")


class UNetCall(nn.Module):
    """`unet(x_t, t).sample` with t a (B,) tensor of timesteps; a model that predicts its
    variance too (2C output channels, diffusers' "learned" variance types) gives its first C."""

    def __init__(self, unet, integer_timesteps: bool):
        super().__init__()
        self.unet, self.integer_timesteps = unet, integer_timesteps

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t = t.round().long() if self.integer_timesteps else t
        out = self.unet(x, t).sample
        return out[:, :x.shape[1]]


def from_diffusers(unet, scheduler, data_range=(-1.0, 1.0), meta: dict | None = None
                   ) -> VPDenoiser:
    """The `VPDenoiser` of a diffusers `UNet2DModel` and a scheduler with `alphas_cumprod` (any
    VP scheduler: DDPM, DDIM, PNDM, ...), in eval mode on the UNet's device."""
    config = unet.config
    if getattr(config, "time_embedding_type", "positional") == "fourier":
        raise ConfigError("this UNet2DModel has a Fourier time embedding (a VE/score-SDE model "
                          "that takes sigma, not a VP timestep); only VP models are adapted")
    if getattr(config, "num_class_embeds", None) or getattr(config, "class_embed_type", None):
        raise ConfigError("this UNet2DModel is class-conditional; gahr's denoisers take no "
                          "class label (only unconditional models are adapted)")
    abar = getattr(scheduler, "alphas_cumprod", None)
    if abar is None:
        raise ConfigError(f"scheduler {type(scheduler).__name__} has no alphas_cumprod: not a "
                          "VP (DDPM-type) scheduler")
    learned = getattr(config, "time_embedding_type", "positional") == "learned"
    size = config.sample_size
    size = size if isinstance(size, int) else (size[0] if size[0] == size[1] else None)
    info = {"family": "diffusers", "unet": type(unet).__name__,
            "scheduler": type(scheduler).__name__, **(meta or {})}
    return VPDenoiser(UNetCall(unet, learned), abar,
                      prediction_type=scheduler.config.prediction_type, data_range=data_range,
                      channels=config.in_channels, image_size=size, meta=info,
                      integer_timesteps=learned).eval()


@register_loader("diffusers", path=True)
def load_diffusers(directory: str, device="cpu", data_range=(-1.0, 1.0)) -> VPDenoiser:
    """`diffusers:DIR` (see the module docstring) on `device`."""
    diffusers = import_diffusers()
    unet_dir, scheduler_file = find_layout(directory)
    try:
        scheduler_config = _read_json(scheduler_file)
        name = scheduler_config.get("_class_name", "DDPMScheduler")
        cls = getattr(diffusers, name, None)
        if cls is None or not hasattr(cls, "from_config"):
            raise ValueError(f"unknown scheduler class {name!r}")
        scheduler = cls.from_config(scheduler_config)
        unet_name = _read_json(unet_dir / "config.json").get("_class_name")
        if unet_name not in UNET_CLASSES:
            raise ValueError(f"{unet_dir / 'config.json'} holds a {unet_name}, not a "
                             f"{' or '.join(UNET_CLASSES)}")
        unet = diffusers.UNet2DModel.from_pretrained(str(unet_dir), local_files_only=True,
                                                     low_cpu_mem_usage=False)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as e:
        reason = " ".join(str(e).split())[:300]
        raise CheckpointError(f"diffusers:{directory}: cannot load it ({reason})") from None
    return from_diffusers(unet.to(device), scheduler, data_range,
                          meta={"source": str(directory)})


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path.name} is not valid JSON ({e})") from None
