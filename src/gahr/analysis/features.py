"""Feature extractors for sample quality (FID, KID): a registry by name.

A feature extractor maps images (B, C, H, W) on [0, 1] to features (B, d) float64. Shipped:

- `fashion32`: the penultimate layer (64 units) of a small CNN classifier of Fashion-MNIST
  (gray, 32x32 as gahr pads it; `FashionClassifier`), weights in
  `gahr/pretrained/features/fashion32-classifier.safetensors`, trained by
  `tools/train_feature_classifier.py`; its test accuracy is in the JSON beside the weights.
  Other sizes are resized to 32x32 first (bilinear up, area down; `gahr.data.resize_images`),
  so compare a 16x16 model's samples with real images brought to 16x16 and back the same way.
- `pixels`: the flattened pixels, the fallback for data no extractor knows (KID is meaningful
  there; FID needs more images than pixels).

Add one with `register_features(name, factory)`: `factory(device)` returns the callable.
`features_for(data_source)` picks the extractor for a data source (`DATA_FEATURES`).
"""

import json
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from ..data import resize_images
from ..errors import CheckpointError, ConfigError, ShapeError

FeatureFn = Callable[[torch.Tensor], torch.Tensor]
FEATURES_DIR = Path(__file__).resolve().parent.parent / "pretrained" / "features"
CLASSIFIER_FILE = FEATURES_DIR / "fashion32-classifier.safetensors"
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")


class FashionClassifier(nn.Module):
    """Three conv stages (16, 32, 64 channels by default; 3x3 convs, batch norm, ReLU, 2x2 max
    pools), global average pooling to 64 features, a linear layer to the 10 classes.

    Input: gray (B, 1, 32, 32) on [0, 1]; centred as (x - 0.5) / 0.5 inside."""

    def __init__(self, widths=(16, 32, 64), num_classes: int = 10):
        super().__init__()
        layers, c = [], 1
        for i, w in enumerate(widths):
            for _ in range(2 if i < len(widths) - 1 else 1):
                layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w),
                           nn.ReLU(inplace=True)]
                c = w
            layers.append(nn.MaxPool2d(2))
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(c, num_classes)
        self.num_features, self.widths = c, tuple(widths)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate layer (B, widths[-1])."""
        return self.body((x - 0.5) / 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def load_classifier(path=CLASSIFIER_FILE, device="cpu") -> FashionClassifier:
    """The shipped Fashion-MNIST classifier, in eval mode (weights only, safetensors)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no classifier weights at {path}; train them with "
                              "tools/train_feature_classifier.py")
    meta = classifier_meta(path)
    net = FashionClassifier(widths=tuple(meta.get("widths", (16, 32, 64))))
    net.load_state_dict(load_file(str(path)))
    return net.to(device).eval()


def classifier_meta(path=CLASSIFIER_FILE) -> dict:
    """The JSON beside the classifier weights (widths, test accuracy, how it was trained)."""
    side = Path(path).with_suffix(".json")
    return json.loads(side.read_text()) if side.is_file() else {}


def _fashion32(device) -> FeatureFn:
    net = load_classifier(device=device)

    @torch.no_grad()
    def extract(x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 1:
            raise ShapeError(f"fashion32 features take gray (B, 1, H, W) images, got "
                             f"{tuple(x.shape)}; use features='pixels' for other data")
        x = resize_images(x.detach().float().cpu().clamp(0, 1), 32)
        out = [net.features(part.to(device)).double().cpu() for part in x.split(512)]
        return torch.cat(out)

    return extract


def _pixels(device) -> FeatureFn:
    def extract(x: torch.Tensor) -> torch.Tensor:
        return x.detach().flatten(1).double().cpu().clamp(0, 1)

    return extract


FEATURES: dict[str, Callable[..., FeatureFn]] = {"fashion32": _fashion32, "pixels": _pixels}
#: Which extractor measures samples of a data source (`features_for`); others get pixels.
DATA_FEATURES: dict[str, str] = {"fashion-mnist": "fashion32"}


def register_features(name: str, factory: Callable[..., FeatureFn],
                      data_source: str | None = None) -> None:
    """Add a feature extractor: `factory(device)` returns `f(images) -> (B, d)`; with
    `data_source`, it becomes the one `features_for(data_source)` picks."""
    FEATURES[name] = factory
    if data_source is not None:
        DATA_FEATURES[data_source] = name


def feature_extractor(name: str, device="cpu") -> FeatureFn:
    """The registered extractor `name` (see `FEATURES`)."""
    if name not in FEATURES:
        raise ConfigError(f"unknown features {name!r}; use one of {', '.join(FEATURES)} or add "
                          "one with gahr.analysis.features.register_features")
    return FEATURES[name](device)


def features_for(data_source) -> str:
    """The extractor's name for samples of `data_source` (pixels when none is registered)."""
    return DATA_FEATURES.get(str(data_source), "pixels")
