"""The run dir object and the one loader: file names, finished or not, config, image size."""

import json

import pytest
import torch

import gahr
from gahr.config import Config, DataConfig, save_config
from gahr.errors import CheckpointError
from gahr.nets import UNet, load_denoiser, save
from gahr.rundir import RunDir, trained_image_size


def test_a_fresh_dir_is_not_finished_and_has_no_model(tmp_path):
    run = RunDir(tmp_path / "run")
    assert not run.has_model() and not run.is_finished(1)
    assert run.saved_config() == {} and run.meta() == {} and run.image_size() is None
    assert run.read_checkpoint() is None


def test_finished_follows_the_checkpoint_epoch(tmp_path):
    run = RunDir(tmp_path)
    save(UNet(num_kernels=4, num_blocks=1).eval(), tmp_path)
    assert not run.is_finished(1)  # weights but no checkpoint: a converted model, not a run
    torch.save({"epoch": 3}, run.checkpoint)
    assert not run.is_finished(3)  # no completion record: the run's end is written again
    run.write_completion()
    assert run.is_finished(3) and not run.is_finished(4)
    run.checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="delete it"):
        run.is_finished(3)


def test_image_size_prefers_what_the_model_saw(tmp_path):
    run = RunDir(tmp_path)
    save_config(Config(data=DataConfig(size=16)), run.config_json)
    assert run.image_size() == (16, 16) and run.config().data.size == 16
    save(UNet(num_kernels=4, num_blocks=1).eval(), tmp_path, meta={"image_size": [12, 10]})
    assert run.image_size() == (12, 10)
    assert trained_image_size({"data": {"size": 8}}) == (8, 8)
    assert trained_image_size({}, {"size": None}) is None


def test_one_loader_for_run_dirs_files_and_pretrained_names(tmp_path):
    net = UNet(num_kernels=4, num_blocks=1).eval()
    save(net, tmp_path, meta={"mean_intensity": 0.3})
    y = torch.rand(1, 1, 8, 8)
    for spec in (tmp_path, tmp_path / "model.safetensors", str(tmp_path)):
        den = load_denoiser(spec)
        assert isinstance(den, gahr.Denoiser) and den.channels == 1
        assert den.meta["mean_intensity"] == 0.3
        torch.testing.assert_close(den(y), y - net(y))
    name = gahr.nets.pretrained_names()[0]
    shipped = gahr.pretrained(name)
    shipped_dir = RunDir(gahr.nets.resolve_model_path(f"pretrained:{name}"))
    assert json.loads(shipped_dir.model_json.read_text())["arch"] == shipped.net.arch
    assert shipped_dir.image_size() == tuple(shipped.meta["image_size"])
