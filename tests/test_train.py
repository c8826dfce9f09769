"""The trainer: noise sampling, epoch order, PSNR, learning, resume, interruption, bad configs."""

import math
import os
import signal

import pytest
import torch
from scipy import stats

from gahr.config import load_config, read_config
from gahr.errors import ConfigError, GahrError, ShapeError
from gahr.nets import load_net as load
from gahr.train import epoch_order, evaluate, psnr, read_metrics, sample_sigmas, train
from gahr.train.checkpoint import load_checkpoint


def discs(n: int, size: int = 16, seed: int = 0) -> torch.Tensor:
    """`(n, 1, size, size)` discs of random centre, radius, fore- and background intensity."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    centre = torch.rand(n, 2, 1, 1, generator=g) * 0.6 * size + 0.2 * size
    radius = torch.rand(n, 1, 1, generator=g) * 0.2 * size + 0.15 * size
    fg, bg = torch.rand(n, 1, 1, generator=g), torch.rand(n, 1, 1, generator=g)
    inside = (yy - centre[:, 0]) ** 2 + (xx - centre[:, 1]) ** 2 < radius**2
    return torch.where(inside, fg, bg)[:, None].float()


def tiny(*overrides):
    """A seconds-long run: a 3-layer, 8-kernel BF-CNN on 16x16 discs."""
    return load_config(None, ["model.arch=bfcnn", "model.num_kernels=8", "model.num_layers=3",
                              "train.epochs=2", "train.samples_per_epoch=64",
                              "train.batch_size=16", "train.eval_sigmas=[\"50/255\"]",
                              "train.eval_images=16", "data.n_test=16", "train.device=cpu",
                              "train.threads=1", *overrides])


# ---------------------------------------------------------------- pieces


def test_uniform_sigmas_follow_their_law():
    g = torch.Generator().manual_seed(1)
    s = sample_sigmas(20000, 0.1, 0.5, "uniform", g).flatten()
    assert s.min() >= 0.1 and s.max() <= 0.5
    assert stats.kstest(s.numpy(), stats.uniform(0.1, 0.4).cdf).pvalue > 1e-3


def test_quadratic_sigmas_have_uniform_square_root():
    g = torch.Generator().manual_seed(2)
    s = sample_sigmas(20000, 0.04, 1.0, "quadratic", g).flatten()
    # P(sigma <= t) = (sqrt(t) - 0.2) / 0.8: small noise levels are favoured.
    assert stats.kstest(s.sqrt().numpy(), stats.uniform(0.2, 0.8).cdf).pvalue > 1e-3
    assert s.median() < 0.5 * (0.04 + 1.0) - 0.1


@pytest.mark.parametrize("n, length", [(1, 50), (7, 100), (100, 64)])
def test_epoch_order_visits_every_image_equally(n, length):
    order = epoch_order(n, length, seed=3, epoch=0)
    counts = torch.bincount(order, minlength=n)
    assert len(order) == length and counts.sum() == length
    assert counts.max() - counts.min() <= 1 and counts.max() == math.ceil(length / n)


def test_epoch_order_depends_on_seed_and_epoch_only():
    a = epoch_order(50, 200, seed=0, epoch=4)
    assert torch.equal(a, epoch_order(50, 200, seed=0, epoch=4))
    assert not torch.equal(a, epoch_order(50, 200, seed=0, epoch=5))
    assert not torch.equal(a, epoch_order(50, 200, seed=1, epoch=4))


def test_psnr_closed_forms():
    x = torch.rand(4, 1, 8, 8)
    assert psnr(x + 0.1, x) == pytest.approx(20.0, abs=1e-4)  # 10 log10(1 / 0.01)
    assert psnr(x, x) == math.inf
    per = psnr(x + torch.tensor([0.1, 0.01, 0.1, 0.1]).view(4, 1, 1, 1), x, per_image=True)
    assert per.shape == (4,) and per[1].item() == pytest.approx(40.0, abs=1e-3)
    assert psnr(3 * x + 0.3, 3 * x, data_range=3.0) == pytest.approx(20.0, abs=1e-4)
    with pytest.raises(ShapeError):
        psnr(x, x[:2])


def test_evaluate_identity_denoiser_gives_the_noisy_psnr():
    x = discs(64, 32)
    out = evaluate(lambda y: y, x, [0.05, 0.2], seed=0, batch_size=20)
    for sigma, value in out.items():
        assert value == pytest.approx(-20 * math.log10(sigma), abs=0.1)
    assert evaluate(lambda y: y, x, [0.05], seed=0) == {0.05: out[0.05]}  # batching-free


# ---------------------------------------------------------------- training


def test_training_raises_psnr_well_above_the_noisy_input(tmp_path):
    images = discs(300, 16)
    cfg = tiny("model.num_layers=7", "model.num_kernels=16", "train.epochs=3",
               "train.samples_per_epoch=1600", "train.batch_size=16", "data.n_test=64",
               "train.eval_images=64", "train.lr=3e-3", "train.lr_halve_every=2")  # 300 steps
    result = train(cfg, tmp_path / "run", images=images, progress=False)
    noisy = -20 * math.log10(50 / 255)  # 14.15 dB
    rows = read_metrics(tmp_path / "run")
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert result.metrics["test_psnr_50"] > noisy + 5, result.metrics
    assert result.metrics["train_psnr_50"] > noisy + 5


@pytest.mark.parametrize("weight", ["none", "inverse_variance", "balanced"])
def test_loss_weights_have_their_closed_form_on_a_zero_net(tmp_path, monkeypatch, weight):
    """A net with zero weights returns a zero residual, so its loss per image is
    sigma^2 ||z||^2 (plain), ||z||^2 (inverse variance, sigma above the floor) or
    s^2 sigma^2 / (sigma^2 + s^2) ||z||^2 (balanced, s = 0.05): on average D E[sigma^2], D and
    D s^2 E[1 - s^2 / (sigma^2 + s^2)], for D pixels; all gradients vanish, so every step sees
    the same net."""
    monkeypatch.setattr(torch.nn.init, "kaiming_normal_", lambda w, **_: w.data.zero_())
    losses = []
    cfg = tiny(f"train.loss_weight={weight}", "train.sigma_min=0.02", "train.sigma_max=0.5",
               "train.samples_per_epoch=320", "train.epochs=1")  # 20 steps of 16 images
    train(cfg, tmp_path / weight, images=discs(64, 16), progress=False,
          callbacks=[lambda epoch, step, loss: losses.append(float(loss))])
    D, lo, hi, s = 256, 0.02, 0.5, 0.05
    expected = {"none": D * (hi**3 - lo**3) / (3 * (hi - lo)), "inverse_variance": D,
                "balanced": D * s**2 * (1 - s * (math.atan(hi / s) - math.atan(lo / s)) / (hi - lo))
                }[weight]
    assert sum(losses) / len(losses) == pytest.approx(expected, rel=0.03)


def test_run_dir_contents_and_saved_net(tmp_path):
    images = discs(64, 16)
    train(tiny("train.ema_decay=0.9"), tmp_path, images=images, progress=False)
    for name in ("config.json", "model.safetensors", "model.json", "checkpoint.pt",
                 "metrics.csv", "figures/psnr.png", "figures/denoised.png"):
        assert (tmp_path / name).exists(), name
    assert read_config(tmp_path / "config.json") == tiny("train.ema_decay=0.9")
    net = load(tmp_path)
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["epoch"] == 2 and ckpt["step"] == 0
    # Without held-out data (n_test = 16 of 64) N = 48; the mean is that of the training set.
    assert net.meta["n_train"] == 48 and 0 < net.meta["mean_intensity"] < 1
    # With a weight average the saved net is the average, not the last iterate.
    assert ckpt["ema"]["updates"] == 8
    for k, v in net.state_dict().items():
        assert torch.equal(v, ckpt["ema"]["model"][k])
    assert not all(torch.equal(v, ckpt["model"][k]) for k, v in net.state_dict().items())
    again = train(tiny("train.ema_decay=0.9"), tmp_path, images=images, progress=False)
    assert again.already_finished


@pytest.mark.parametrize("recipe", ["modern", "paper"])
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, recipe):
    images = discs(40, 8)
    # A UNet: BF batch-norm running statistics must resume too; "modern" gets a weight average
    # (saved in the checkpoint, its BF-norm sds recomputed) and a per-step cosine schedule.
    cfg = load_config(None, ["model.arch=unet", "model.num_kernels=4", "model.num_blocks=1",
                             "train.epochs=3", "train.samples_per_epoch=40",
                             "train.batch_size=8", "train.eval_sigmas=[0.2]",
                             "train.eval_images=8", "data.n_test=8", "train.device=cpu",
                             "train.threads=1", f"train.recipe={recipe}",
                             *(["train.ema_decay=0.9"] if recipe == "modern" else [])])
    assert_resume_is_bit_identical(cfg, images, tmp_path)


def assert_resume_is_bit_identical(cfg, images, tmp_path):
    """A 3-epoch run cut at epoch 2, step 2 and resumed ends with the uninterrupted run's
    weights and metrics, bit for bit."""
    full = train(cfg, tmp_path / "full", images=images, progress=False)

    def stop(epoch, step, loss):
        if (epoch, step) == (1, 2):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "cut", images=images, callbacks=[stop], progress=False)
    ckpt = load_checkpoint(tmp_path / "cut")
    assert (ckpt["epoch"], ckpt["step"]) == (1, 2)
    assert not (tmp_path / "cut" / "model.safetensors").exists()
    resumed = train(cfg, tmp_path / "cut", images=images, progress=False)
    assert resumed.resumed_from == (1, 2)
    a, b = full.net.state_dict(), resumed.net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = [[{k: v for k, v in r.items() if k != "seconds"} for r in read_metrics(tmp_path / d)]
            for d in ("full", "cut")]
    assert rows[0] == rows[1] and len(rows[0]) == 3


def test_sigterm_writes_a_checkpoint_and_stops(tmp_path):
    previous = signal.getsignal(signal.SIGTERM)

    def terminate(epoch, step, loss):
        if step == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(KeyboardInterrupt):
        train(tiny(), tmp_path, images=discs(64, 16), callbacks=[terminate], progress=False)
    ckpt = load_checkpoint(tmp_path)
    assert (ckpt["epoch"], ckpt["step"]) == (0, 3)
    assert signal.getsignal(signal.SIGTERM) is previous


def test_extending_epochs_resumes_but_other_changes_are_refused(tmp_path):
    images = discs(64, 16)
    halving = "train.lr_schedule=halving"
    train(tiny("train.epochs=1", halving), tmp_path, images=images, progress=False)
    longer = train(tiny("train.epochs=2", halving), tmp_path, images=images, progress=False)
    assert longer.resumed_from == (1, 0) and longer.metrics["epoch"] == 2
    with pytest.raises(ConfigError, match=r"train.lr=0.001 \(asked: 0.01\)"):
        train(tiny("train.lr=0.01", halving), tmp_path, images=images, progress=False)
    # trained further than asked: not the run asked for
    with pytest.raises(ConfigError, match=r"train.epochs=2 \(asked: 1\)"):
        train(tiny("train.epochs=1", halving), tmp_path, images=images, progress=False)


def test_cosine_runs_are_not_extended(tmp_path):
    """The cosine schedule spreads its decay over train.epochs: a 1-epoch run is not the first
    epoch of a 2-epoch run, so extending it would save a config it was not trained with."""
    images = discs(64, 16)
    train(tiny("train.epochs=1", "train.lr_schedule=cosine"), tmp_path, images=images,
          progress=False)
    with pytest.raises(ConfigError, match=r"train.epochs=1 \(asked: 2\)"):
        train(tiny("train.epochs=2", "train.lr_schedule=cosine"), tmp_path, images=images,
              progress=False)


@pytest.mark.parametrize("overrides, images, words", [
    (["data.split=S1", "data.n_train=40"], discs(64, 16), "larger than half of the 64 images"),
    (["data.n_train=100"], discs(64, 16), "has 64 images"),
    (["model.channels=3"], discs(64, 16), "model.channels=3 but the images have 1"),
    (["train.batch_size=16"], torch.full((64, 1, 16, 16), float("nan")), "NaN"),
])
def test_impossible_runs_fail_before_training(tmp_path, overrides, images, words):
    with pytest.raises(GahrError, match=words) as e:
        train(tiny(*overrides), tmp_path, images=images, progress=False)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "checkpoint.pt").exists()


def test_metrics_rows_without_evaluation_read_back_as_written(tmp_path):
    """eval_every > 1 leaves epochs without PSNR columns; a resumed run reads them back
    (it failed on the empty cells before)."""
    from gahr.train.metrics import MetricsLog, read_metrics

    log = MetricsLog(tmp_path)
    rows = [{"epoch": 1, "step": 10, "loss": 0.5}, {"epoch": 2, "step": 20, "loss": 0.4,
                                                    "psnr_25": 27.5}]
    for row in rows:
        log.append(row)
    log.close()
    assert read_metrics(tmp_path) == rows
    assert MetricsLog(tmp_path, keep_until_epoch=1).rows == rows[:1]
