"""The small shipped models: loadable by name, self-describing, small, bias-free."""

from pathlib import Path

import pytest
import torch

import gahr
from gahr.nets import MEMORIZING_PRETRAINED, pretrained_names, resolve_model_path

NAMES = pretrained_names()


def test_models_are_shipped_and_small():
    assert {"discs32", "discs32-long", "fashion32", "fashion32-wide", "fashion16-n10-s1",
            "fashion16-n1000-s1", *(f"calpha32-alpha{a}" for a in range(1, 6))} <= set(NAMES)
    root = resolve_model_path(f"pretrained:{NAMES[0]}").parent
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert total < 20 * 2**20
    assert (root / "README.md").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_pretrained_loads_and_denoises(name):
    denoiser = gahr.pretrained(name)
    meta = denoiser.meta
    folder = Path(resolve_model_path(f"pretrained:{name}"))
    assert (folder / "config.json").is_file() and (folder / "metrics.csv").is_file()
    assert 0 < meta["mean_intensity"] < 1 and meta["n_train"] >= 1
    h, w = meta["image_size"]
    x = torch.full((1, 1, h, w), meta["mean_intensity"])
    x[..., h // 4: h // 2, w // 4: w // 2] += 0.3
    y = x + 0.2 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        x_hat = denoiser(y)
        # a trained denoiser removes most of strong noise, and is homogeneous (bias-free)
        assert ((x_hat - x) ** 2).mean() < 0.5 * ((y - x) ** 2).mean()
        torch.testing.assert_close(denoiser(2.5 * y), 2.5 * x_hat, rtol=1e-4, atol=1e-5)


EVAL_SIGMAS = [s / 255 for s in (2, 5, 15, 25, 50, 100)]


@pytest.mark.parametrize("name", NAMES)
def test_shipped_model_beats_the_identity_at_every_eval_sigma(name):
    """On images of its own class that its training never saw (the run's held-out test set;
    a memorizer's own training images), every shipped model's output PSNR exceeds its noisy
    input's at every sigma >= 2/255."""
    from gahr.data.idx import FASHION_MNIST_ROOT
    from gahr.metrics import evaluate
    from gahr.rundir import RunDir
    from gahr.train import open_images, select

    config = RunDir(resolve_model_path(f"pretrained:{name}")).config()
    if config.data.source == "fashion-mnist" and not Path(FASHION_MNIST_ROOT).is_dir():
        pytest.skip(f"Fashion-MNIST is not installed in {FASHION_MNIST_ROOT}")
    data = select(open_images(config.data), config.data)
    # a memorizer is worse than the identity on new images by design (18.8 dB at 2-25/255 for
    # N = 10): its denoising is measured on the images it was trained on
    test = (data.train if name in MEMORIZING_PRETRAINED else data.test)[:64]
    assert len(test) >= 10
    denoiser = gahr.pretrained(name)
    out = evaluate(denoiser, test, EVAL_SIGMAS, seed=123)
    noisy = evaluate(lambda y: y, test, EVAL_SIGMAS, seed=123)
    worse = {round(s * 255): (round(out[s], 2), round(noisy[s], 2)) for s in EVAL_SIGMAS
             if not out[s] > noisy[s]}
    assert not worse, f"{name}: output vs noisy PSNR where it does not beat the input: {worse}"
