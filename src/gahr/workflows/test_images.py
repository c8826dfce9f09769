"""Fresh test images of the class a model was trained on, for the analyses of one model.

Synthetic classes (C^alpha, discs) are generated again with the run's data options from a seed
the training never used (`TEST_SEED`); Fashion-MNIST comes from its test split, which training
never reads; any other source (an .npy file, a folder) gives the run's own held-out test images
(`data.n_test` of them, outside its training set). Without a run config, pass the images
yourself (`--input`).
"""

from pathlib import Path

import torch

from ..data import is_generated, open_dataset
from ..errors import ConfigError
from ..nets import resolve_model_path
from ..rundir import RunDir, trained_image_size

#: Test images are generated with seeds far from the training seeds (0, 1, ...): fresh images.
TEST_SEED = 1_000_003


def training_data(spec) -> dict:
    """The `[data]` section a model was trained with ({} when its run dir has no config)."""
    return RunDir(resolve_model_path(spec)).saved_config().get("data") or {}


def model_image_size(spec, denoiser) -> int | None:
    """The image side a loaded model was trained on (None when nothing records it)."""
    size = trained_image_size(denoiser.meta, training_data(spec))
    return None if size is None else size[0]


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
    if is_generated(source or ""):
        images = open_dataset(source, n=n, size=size, seed=seed, **opts)
        shown = ", ".join(f"{k}={v}" for k, v in sorted(opts.items()))
        return images, f"{n} fresh {source} images (seed {seed}{', ' if shown else ''}{shown})"
    if source == "fashion-mnist":
        opts["split"] = "test"
        pool = open_dataset(source, size=size, **opts)
        pick = torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))[:n]
        return pool[pick], f"{n} Fashion-MNIST test images (seed {seed})"
    where = Path(str(resolve_model_path(spec)))
    held_out = _held_out(where) if source else None
    if held_out is None or len(held_out) < n:
        raise ConfigError(f"{where} was trained on {source or 'unrecorded data'}, which has no "
                          f"{n} held-out images known here; pass test images with --input")
    pick = torch.randperm(len(held_out), generator=torch.Generator().manual_seed(seed))[:n]
    return held_out[pick], f"{n} held-out test images of {source} (seed {seed})"


def _held_out(run: Path) -> torch.Tensor | None:
    """The run's own test images (`data.n_test`, never in its training set), or None."""
    from ..train.dataset import open_images, select

    data = RunDir(run).config().data
    return select(open_images(data), data).test if data.n_test else None
