"""Fresh test images of the class a model was trained on, for the analyses of one model.

Synthetic classes (C^alpha, discs) are generated again with the run's data options from a seed
the training never used (`TEST_SEED`); Fashion-MNIST comes from its test split, which training
never reads. Anything else (an .npy file, a folder) has no held-out part we could know of: pass
the images yourself (`--input`).
"""

from pathlib import Path

import torch

from ..data import open_dataset
from ..errors import ConfigError
from ..nets import resolve_model_path
from ..rundir import RunDir

#: Test images are generated with seeds far from the training seeds (0, 1, ...): fresh images.
TEST_SEED = 1_000_003


def training_data(spec) -> dict:
    """The `[data]` section a model was trained with ({} when its run dir has no config)."""
    return RunDir(resolve_model_path(spec)).saved_config().get("data") or {}


def fresh_test_images(spec, n: int, seed: int = TEST_SEED, size: int | None = None,
                      options: dict | None = None) -> tuple[torch.Tensor, str]:
    """`n` fresh images of the model's training class and a one-line description of them.

    `options` replace the run's data options (e.g. {"blur": None} for a model trained on
    hard-edged C^alpha images before the blur became the default).
    """
    data = training_data(spec)
    source = data.get("source")
    opts = {**(data.get("options") or {}), **(options or {})}
    size = size or data.get("size")
    if source in ("calpha", "discs"):
        images = open_dataset(source, n=n, size=size, seed=seed, **opts)
        shown = ", ".join(f"{k}={v}" for k, v in sorted(opts.items()))
        return images, f"{n} fresh {source} images (seed {seed}{', ' if shown else ''}{shown})"
    if source == "fashion-mnist":
        opts["split"] = "test"
        pool = open_dataset(source, size=size, **opts)
        pick = torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))[:n]
        return pool[pick], f"{n} Fashion-MNIST test images (seed {seed})"
    where = Path(str(resolve_model_path(spec)))
    raise ConfigError(f"{where} was trained on {source or 'unrecorded data'}, which has no "
                      "held-out part known here; pass test images with --input")
