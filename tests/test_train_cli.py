"""`gahr train` on the command line: dry run, a run, its resumption, errors in one line."""

import json
import math
from pathlib import Path

import torch
from test_train import discs, tiny

from gahr.cli import main
from gahr.config import load_config
from gahr.metrics import evaluate
from gahr.train import read_metrics, select, train

TINY = Path(__file__).resolve().parents[1] / "configs" / "test" / "tiny.toml"


def test_dry_run_prints_the_resolved_config(capsys):
    assert main(["train", str(TINY), "--set", "train.lr=0.01", "--seed", "3", "--dry-run"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["train"]["lr"] == 0.01 and printed["train"]["seed"] == 3
    assert printed["model"] == {"arch": "bfcnn", "num_kernels": 8, "num_layers": 3}


def test_train_then_rerun_reports_finished(tmp_path, capsys):
    args = ["train", str(TINY), "--set", "train.threads=1", "--out", str(tmp_path), "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("trained: epoch 2") and "PSNR at sigma=25/255" in out
    assert len(read_metrics(tmp_path)) == 2
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("already finished: epoch 2")


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["train", str(TINY), "--dry-run", "--set", "train.sigma_max=0"]) == 2
    assert main(["train", str(TINY)]) == 2  # no --out
    assert main(["train", str(TINY), "--out", str(tmp_path), "--set", "data.split=S1",
                 "--set", "data.n_train=40"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(e.startswith("gahr train: error: ") for e in errors)
    assert "add --out" in errors[1] and "larger than half of the 64 images" in errors[2]


def test_bf16_autocast_trains_float32_weights(tmp_path):
    """Under bf16 autocast the weights stay float32 and the net learns: its test PSNR beats the
    noisy input's (the identity denoiser's, on the same images and noise) by 2 dB."""
    config = tiny("train.amp=bf16", "train.epochs=1", "train.lr=0.01",
                  "train.samples_per_epoch=512")
    images = discs(64, 16)
    result = train(config, tmp_path, images=images, progress=False)
    assert all(p.dtype == torch.float32 for p in result.net.parameters())
    noisy = evaluate(lambda y: y, select(images, config.data).test, [50 / 255],
                     seed=config.train.seed)[50 / 255]
    assert math.isfinite(result.metrics["loss"])
    assert result.metrics["test_psnr_50"] > noisy + 2, (result.metrics, noisy)


def test_config_file_and_in_memory_images_agree(tmp_path):
    """The [data] section's source and a tensor passed in give the same run."""
    from gahr.data import open_dataset

    cfg = load_config(TINY, ["train.threads=1", "train.epochs=1"])
    images = open_dataset("discs", n=64, size=16, seed=0)
    a = train(cfg, tmp_path / "a", progress=False)
    b = train(cfg, tmp_path / "b", images=images, progress=False)
    assert all(torch.equal(x, y) for x, y in zip(a.net.state_dict().values(),
                                                 b.net.state_dict().values()))


def test_retrain_replaces_a_finished_run_trained_with_other_settings(tmp_path, capsys):
    """Without --retrain a finished run with other settings is refused in one line naming
    --retrain, and left as it was (a --dry-run with --retrain too); with it, it is deleted
    (its metrics rows with it) and trained again with the settings asked."""
    base = ["train", str(TINY), "--set", "train.threads=1", "--set", "train.epochs=1",
            "--out", str(tmp_path), "--quiet"]
    assert main(base) == 0
    weights = tmp_path / "model.safetensors"
    before = weights.read_bytes()
    capsys.readouterr()
    changed = [*base, "--set", "train.lr=0.01"]
    assert main(changed) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "train.lr=0.001 (asked: 0.01)" in err and "--retrain" in err, err
    assert main([*changed, "--retrain", "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["train"]["lr"] == 0.01
    assert weights.read_bytes() == before
    (tmp_path / "figures" / "stale.png").write_bytes(b"old")  # the old run's figures go too
    assert main([*changed, "--retrain"]) == 0
    out = capsys.readouterr().out
    assert "deleting it to train again (--retrain)" in out and "trained: epoch 1" in out, out
    assert json.loads((tmp_path / "config.json").read_text())["train"]["lr"] == 0.01
    assert weights.read_bytes() != before and len(read_metrics(tmp_path)) == 1
    assert not (tmp_path / "figures" / "stale.png").exists()
