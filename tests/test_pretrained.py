"""The small shipped models: loadable by name, self-describing, small, bias-free."""

from pathlib import Path

import pytest
import torch

import gahr
from gahr.nets import pretrained_names, resolve_model_path

NAMES = pretrained_names()


def test_models_are_shipped_and_small():
    assert {"discs32", "discs32-long", "fashion32", "fashion16-n10-s1", "fashion16-n1000-s1",
            *(f"calpha32-alpha{a}" for a in range(1, 6))} <= set(NAMES)
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
