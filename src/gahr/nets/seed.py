"""Import checkpoints saved by the paper's code (`torch.save(model.state_dict())` of its
`code/network.py` `UNet` and `BF_CNN`, possibly with `nn.DataParallel`'s `module.` prefix).

Parameter layout of that code (facts read from it; the mapping below is ours):
- UNet: `encoder.{b}.{i}`, `mid_block.{i}`, `decoder.{b}.{i}` are `nn.Sequential`s with the same
  layer order as ours (conv, [BF-norm], ReLU, ...), `upsample.{b}` the transposed convs.
- BF_CNN: `conv_layers.{l}` and `BN_layers.{l}`.
- BF-norm: `gammas` and `running_sd`, both shaped (1, C, 1, 1); ours are (C,).
"""

import pickle
import warnings
from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError
from .registry import build, load_state

_PREFIX = {"unet": {"encoder": "encoder", "mid_block": "middle", "decoder": "decoder",
                    "upsample": "upsample"},
           "bfcnn": {"conv_layers": "convs", "BN_layers": "norms"}}
_LEAF = {"gammas": "gain", "running_sd": "running_sd", "weight": "weight"}


def read_state_dict(path) -> dict[str, torch.Tensor]:
    """Read a `.pt` state dict without unpickling arbitrary objects (`weights_only=True`)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist or is not a file")
    try:
        with warnings.catch_warnings():  # torch warns about the pickle it refuses: we say it
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "Weights only load failed" not in str(e):
            raise CheckpointError(f"{path} is not a readable PyTorch file ({e}); pass the .pt "
                                  "file that the paper's code saved") from None
        raise CheckpointError(f"{path} holds pickled Python objects besides tensors, which are "
                              "not loaded (unpickling them could run code); save the state dict "
                              "alone: torch.save(model.state_dict(), path)") from None
    except Exception as e:  # any failure to parse means: not a usable checkpoint
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path} is not a readable PyTorch state dict ({first}); "
                              "pass the .pt file that the paper's code saved") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} holds a {type(obj).__name__}, not a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def seed_to_gahr(state: dict[str, torch.Tensor], arch: str) -> dict[str, torch.Tensor]:
    """Rename (and reshape) the seed code's tensors to this package's names."""
    out = {}
    if not state:
        raise CheckpointError("the state dict holds no tensors; pass the .pt file that the "
                              "paper's code saved")
    for key, value in state.items():
        head, *middle, leaf = key.split(".") if "." in key else (key, "")
        if head not in _PREFIX.get(arch, {}) or leaf not in _LEAF:
            raise CheckpointError(f"tensor {key!r} is not part of the paper's {arch} layout; "
                                  "is --arch right?")
        if leaf in ("gammas", "running_sd"):
            value = value.reshape(-1)
        out[".".join([_PREFIX[arch][head], *middle, _LEAF[leaf]])] = value
    return out


def load_seed_checkpoint(path, arch: str, **config) -> nn.Module:
    """Build `arch` with `config` and load the paper code's state dict at `path` (eval mode).

    `config` takes this package's names (`num_kernels`, `num_blocks`, `num_layers`,
    `first_layer_linear`, `channels`, ...); the seed's `num_channels` is accepted for `channels`.
    """
    if "num_channels" in config:
        config["channels"] = config.pop("num_channels")
    net = build(arch, **config)
    state = seed_to_gahr(read_state_dict(path), arch)
    load_state(net, state, source=str(path))
    return net.eval()
