"""Training a noise-conditional `diffusers_unet` in gahr's loop (EDM objective): it learns,
resumes bit-identically, and sweeps; its run dir loads as the conditional denoiser."""

import pytest
import torch
from test_train import assert_resume_is_bit_identical, discs

from gahr.config import SweepConfig, load_config
from gahr.errors import ConfigError
from gahr.nets import load_denoiser
from gahr.nets.edm import EDMPrecond
from gahr.train import read_metrics, train
from gahr.train.sweep import run_sweep

TINY = ["model.arch=diffusers_unet", "model.block_out_channels=[8, 16]",
        "model.norm_num_groups=4", "model.sample_size=8", "train.init=default",
        "train.batch_size=8", "train.eval_sigmas=[0.2]", "train.eval_images=8",
        "data.n_test=8", "train.device=cpu", "train.threads=1"]


def tiny(*overrides):
    return load_config(None, [*TINY, *overrides])


def test_training_reduces_the_edm_loss_and_saves_the_conditional_denoiser(tmp_path):
    images = discs(24, 8)  # 16 to train on, 8 to test
    cfg = tiny("train.epochs=6", "train.samples_per_epoch=160", "train.lr=3e-3",
               "train.eval_every=6")
    result = train(cfg, tmp_path, images=images, progress=False)
    rows = read_metrics(tmp_path)
    assert rows[-1]["loss"] < 0.7 * rows[0]["loss"], [r["loss"] for r in rows]
    den = load_denoiser(tmp_path)
    assert isinstance(den, EDMPrecond) and den.meta["n_train"] == 16
    # the saved denoiser is the trained one: it beats the noisy input at sigma = 0.2
    g = torch.Generator().manual_seed(1)
    x = images[:8]
    y = x + 0.2 * torch.randn(x.shape, generator=g)
    with torch.no_grad():
        assert (den(y, sigma=0.2) - x).square().mean() < 0.5 * (y - x).square().mean()
    assert "test_psnr_51" in result.metrics


@pytest.mark.parametrize("recipe", ["modern", "paper"])
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, recipe):
    images = discs(24, 8)
    # eval_every = 2: the resumed run reads back a metrics row with blank PSNR cells
    cfg = tiny("train.epochs=3", "train.samples_per_epoch=24", f"train.recipe={recipe}",
               "train.eval_every=2",
               *(["train.ema_decay=0.9"] if recipe == "modern" else []))
    assert_resume_is_bit_identical(cfg, images, tmp_path)


def test_sweep_trains_each_n_and_refuses_changed_settings(tmp_path):
    toml = tmp_path / "sweep.toml"
    toml.write_text(
        '[data]\nsource = "discs"\nnum_images = 40\nsize = 16\nn_test = 8\n'
        '[model]\narch = "diffusers_unet"\nblock_out_channels = [8, 16]\n'
        'norm_num_groups = 4\nsample_size = 16\n'
        '[train]\nepochs = 1\nsamples_per_epoch = 16\nbatch_size = 8\ninit = "default"\n'
        'eval_sigmas = [0.2]\neval_images = 8\ndevice = "cpu"\nthreads = 1\n'
        f'[sweep]\nn_train = [1, 4]\nsplits = ["S1"]\nout = "{tmp_path / "sweep"}"\n')
    config = load_config(toml, cls=SweepConfig)
    jobs = run_sweep(config, progress=False, log=lambda s: None)
    assert [j.name for j in jobs] == ["N1_S1", "N4_S1"]
    for job in jobs:
        assert load_denoiser(job.run_dir).meta["n_train"] == int(job.name[1])
    assert run_sweep(config, progress=False, log=lambda s: None) == []  # finished: skipped
    changed = load_config(toml, ["model.block_out_channels=[8, 8]"], cls=SweepConfig)
    with pytest.raises(ConfigError, match="block_out_channels"):
        run_sweep(changed, progress=False, log=lambda s: None)


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    """A tiny `arch = "diffusers_unet"` run dir trained through the CLI on an .npy set."""
    import numpy as np

    from gahr.cli import main

    root = tmp_path_factory.mktemp("conditional_run")
    np.save(root / "images.npy", discs(20, 8).numpy())
    args = [f"{s}" for o in TINY for s in ("--set", o)]
    assert main(["train", "--out", str(root / "run"), "--quiet", *args,
                 "--set", f"data.source={root / 'images.npy'}", "--set", "data.n_train=4",
                 "--set", "train.epochs=1", "--set", "train.samples_per_epoch=16"]) == 0
    return root / "run"


def test_the_commands_run_on_a_diffusers_unet_run_dir(conditional_run, tmp_path):
    """`gahr sample`, `eigen`, `symmetry` and `compare` take a trained conditional run dir as
    they take a blind net's; the sampler and analyses hand the model sigma."""
    import json

    import numpy as np

    from gahr.cli import main

    run = str(conditional_run)
    assert main(["sample", run, "--sampler", "heun", "--n", "2", "--out",
                 str(tmp_path / "s.npz"), "--quiet"]) == 0
    samples = np.load(tmp_path / "s.npz")["samples"]
    assert samples.shape == (2, 1, 8, 8) and np.isfinite(samples).all()
    assert main(["eigen", run, "--sigma", "0.2", "--out", str(tmp_path / "e")]) == 0
    summary = json.loads((tmp_path / "e" / "summary.json").read_text())
    assert 0 < summary["effective_dimension"] < 64
    assert main(["symmetry", run, "--sigmas", "0.1", "--n-images", "1",
                 "--out", str(tmp_path / "y")]) == 0
    assert main(["compare", run, "--oracle", "memorizer", "--images", "2", "--samples", "2",
                 "--sigmas", "0.1", "--sampler", "heun", "--out", str(tmp_path / "c")]) == 0
    results = json.loads((tmp_path / "c" / "results.json").read_text())
    assert results["n"] == 4 and results["settings"]["sampler"] == "heun"
