"""Architecture registry, the own weights format (safetensors + JSON) and the Denoiser wrapper."""

import json
import warnings
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from safetensors.torch import save as save_bytes
from torch import nn

from ..errors import ArchitectureError, CheckpointError, ShapeError
from ..io import save_json, write_bytes
from .bfcnn import BFCNN
from .inputs import as_images, model_dtype
from .unet import UNet

#: The trainable families by `[model] arch`. Bias-free residual nets unless the class says
#: `bias_free = False` (then its `make_denoiser()` gives the denoiser and its `objective` names
#: the training loss in `gahr.train.objective.OBJECTIVES`). `nets/diffusers_unet.py` adds
#: "diffusers_unet" when `gahr.nets` is imported (it imports the contract, which imports this).
ARCHITECTURES: dict[str, type[nn.Module]] = {"unet": UNet, "bfcnn": BFCNN}
WEIGHTS, MODEL_JSON = "model.safetensors", "model.json"
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
PRETRAINED_PREFIX = "pretrained:"
#: Shipped models whose purpose is to memorize (a sweep's small-N run): they map every input onto
#: their few training images, so they denoise those and are worse than the identity on new ones.
MEMORIZING_PRETRAINED = frozenset({"fashion16-n10-s1"})


def pretrained_names() -> list[str]:
    """Names of the small models shipped with the package (`pretrained:NAME`)."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / WEIGHTS).is_file())


#: Loader prefixes whose rest is a path on disk (`register_loader(..., path=True)`): a
#: directory that, like a run dir, may hold a gahr config.json naming the model's [data].
PATH_PREFIXES: set[str] = set()


def resolve_model_path(spec) -> Path:
    """A run dir, a `.safetensors` file, `pretrained:NAME` or `PREFIX:PATH` of a path prefix
    (e.g. `diffusers:DIR`) -> a path on disk."""
    text = str(spec)
    prefix, _, rest = text.partition(":")
    if prefix in PATH_PREFIXES and rest:
        return Path(rest)
    if not text.startswith(PRETRAINED_PREFIX):
        return Path(spec)
    name = text[len(PRETRAINED_PREFIX):]
    if name not in pretrained_names():
        raise CheckpointError(f"no pretrained model {name!r}; available: "
                              f"{', '.join(pretrained_names()) or 'none'}")
    return PRETRAINED_DIR / name


def build(arch: str, **config) -> nn.Module:
    """Instantiate a registered architecture from its config."""
    if arch not in ARCHITECTURES:
        raise ArchitectureError(f"unknown architecture {arch!r}; choose one of "
                                f"{', '.join(sorted(ARCHITECTURES))}")
    try:
        return ARCHITECTURES[arch](**config)
    except TypeError as e:
        raise ArchitectureError(f"{arch}: {e}; valid settings are those of "
                                f"gahr.nets.{ARCHITECTURES[arch].__name__}") from None


def describe(net: nn.Module, meta: dict | None = None) -> dict:
    """The JSON description that, with the weights, rebuilds `net`."""
    return {"arch": net.arch, "config": dict(net.config), "meta": dict(meta or {})}


def save(net: nn.Module, run_dir, meta: dict | None = None) -> Path:
    """Write `model.safetensors` and `model.json` into `run_dir` (atomically).

    `meta` holds facts about the training data the sampler needs, e.g. `mean_intensity`.
    """
    run_dir = Path(run_dir)
    meta = {**getattr(net, "meta", {}), **(meta or {})}
    desc = describe(net, meta)
    state = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    write_bytes(run_dir / WEIGHTS, save_bytes(state, metadata={"gahr": json.dumps(desc)}))
    save_json(desc, run_dir / MODEL_JSON)
    return run_dir / WEIGHTS


def load_net(path, device: str | torch.device = "cpu") -> nn.Module:
    """Load the bare net saved by `save` from a run dir, a `.safetensors` file or
    `pretrained:NAME`, in eval mode. For gahr's architectures this is the residual net r(y),
    not a denoiser: samplers and analyses take `load_denoiser(spec)`.

    The description is read from the file's metadata (so the file stands alone), falling back
    to `model.json` beside it. `net.meta` holds the saved metadata.
    """
    path = resolve_model_path(path)
    if not path.exists():
        raise CheckpointError(f"{path} does not exist; pass a run dir or a model.safetensors")
    file = path / WEIGHTS if path.is_dir() else path
    if not file.exists():
        raise CheckpointError(f"{path} holds no {WEIGHTS}; is it a finished run dir? "
                              "(a paper checkpoint .pt loads with `gahr convert`)")
    try:
        state = load_file(str(file), device=str(device))
        with safe_open(str(file), "pt") as f:
            header = (f.metadata() or {}).get("gahr")
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{file} is not a readable safetensors file ({e}); re-save it "
                              "with gahr.save or convert it with `gahr convert`") from None
    desc = json.loads(header) if header else _json_beside(file)
    net = build(desc["arch"], **desc["config"])
    load_state(net, state, source=str(file))
    net.meta = desc.get("meta", {})
    return net.to(device).eval()


def load(path, device: str | torch.device = "cpu") -> nn.Module:
    """Deprecated (until 0.2): `load_net`, the bare residual net; most callers want
    `load_denoiser`."""
    warnings.warn("gahr.load returns the residual net and is deprecated; use "
                  "gahr.load_denoiser(spec) for the denoiser or gahr.nets.load_net(spec) for the "
                  "net", DeprecationWarning, stacklevel=2)
    return load_net(path, device=device)


def denoiser_of(net: nn.Module):
    """The denoiser of a loaded net: its own `make_denoiser()` where the architecture defines
    one (a net whose output is not the residual), else `Denoiser(net)` (y - r(y))."""
    make = getattr(net, "make_denoiser", None)
    return make() if callable(make) else Denoiser(net)


def load_path_denoiser(path, device: str | torch.device = "cpu"):
    """The denoiser of a run dir or a `.safetensors` file (the loader of specs without a
    prefix; `loaders.load_denoiser` is the entry point)."""
    return denoiser_of(load_net(path, device=device))


def _json_beside(file: Path) -> dict:
    js = file.parent / MODEL_JSON
    if not js.exists():
        raise CheckpointError(f"{file} carries no architecture description and no {MODEL_JSON} "
                              "lies beside it; save models with gahr.save")
    return json.loads(js.read_text())


def load_state(net: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """`load_state_dict` with a one-line error naming the first mismatching tensor."""
    own = net.state_dict()
    for name, tensor in own.items():
        if name not in state:
            raise CheckpointError(f"{source}: tensor {name!r} (shape {tuple(tensor.shape)}) is "
                                  "missing; the checkpoint was saved for another architecture "
                                  "or config")
        if state[name].shape != tensor.shape:
            raise CheckpointError(
                f"{source}: tensor {name!r} has shape {tuple(state[name].shape)} but the requested "
                f"config needs {tuple(tensor.shape)}; check num_kernels/num_blocks/num_layers")
    extra = sorted(set(state) - set(own))
    if extra:
        raise CheckpointError(f"{source}: unexpected tensor {extra[0]!r} ({len(extra)} in all); "
                              "the checkpoint has more layers than the requested config")
    net.load_state_dict(state)


class Denoiser(nn.Module):
    """The denoiser x_hat(y) = y - r(y) of a residual net r; puts the net in eval mode.

    Every sampler and analysis takes a callable `y -> x_hat`; this adapts a trained net.
    `meta` carries the saved facts of the model (e.g. the training set's `mean_intensity`).
    """

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        self.meta = dict(getattr(net, "meta", {}))
        self.eval()

    blind = True
    image_size = None  # fully convolutional: any size the net's downsampling divides

    def forward(self, y: torch.Tensor, sigma=None) -> torch.Tensor:
        """x_hat = y - r(y); `sigma` is accepted and ignored (the net is blind). Float images of
        another dtype than the net's (float64, float16) are converted to it; integer images are
        refused (`gahr.nets.contract.as_images`)."""
        y = as_images(y, "noisy images y", model_dtype(self.net))
        if y.dim() != 4:
            raise ShapeError(f"a denoiser takes (B, C, H, W) images, got shape {tuple(y.shape)}; "
                             "add a batch axis with y[None]")
        return y - self.net(y)

    @property
    def channels(self) -> int:
        """Image channels the net takes (1 gray, 3 color)."""
        return int(getattr(self.net, "config", {}).get("channels", 1))

    def residual(self, y: torch.Tensor) -> torch.Tensor:
        return self.net(y)

    def train(self, mode: bool = True):
        # A Denoiser is an evaluation object: BF-norm must use its running statistics.
        return super().train(False)
