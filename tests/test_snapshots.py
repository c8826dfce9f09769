"""Snapshots along training: the schedule, files, and resuming bit-for-bit."""

import pytest
import torch
from safetensors.torch import load_file
from test_train import discs

from gahr.config import load_config
from gahr.errors import ConfigError
from gahr.nets import load_net
from gahr.rundir import RunDir
from gahr.snapshot_steps import snapshot_schedule
from gahr.train import train


def test_log_schedule_is_geometric_and_ends_at_the_last_step():
    assert snapshot_schedule("log:5", 10_000) == [1, 10, 100, 1000, 10_000]
    assert snapshot_schedule("log:3:100", 10_000) == [100, 1000, 10_000]
    steps = snapshot_schedule("log:30", 20)  # more asked than steps: each step once
    assert steps == sorted(set(steps)) and steps[-1] == 20 and steps[0] == 1


def test_explicit_schedule_drops_steps_after_the_run():
    assert snapshot_schedule((50, 5, 500), 100) == [5, 50]
    assert snapshot_schedule((), 100) == [] and snapshot_schedule("", 100) == []


@pytest.mark.parametrize("spec", ["log", "log:0", "lin:4", "log:4:x", "log:2:0"])
def test_bad_schedules_are_config_errors(spec):
    with pytest.raises(ConfigError, match="snapshot_steps"):
        load_config(None, [f"train.snapshot_steps=\"{spec}\""])


def test_explicit_list_from_the_command_line():
    cfg = load_config(None, ["train.snapshot_steps=[10, 100]"])
    assert cfg.train.snapshot_steps == (10, 100)
    with pytest.raises(ConfigError):
        load_config(None, ["train.snapshot_steps=[0, 10]"])


def _config(*more):
    # a UNet with the modern recipe and a weight average: the snapshot is the evaluated net
    # (the average with recomputed BF-norm sds), the hardest one to resume exactly
    return load_config(None, ["model.arch=unet", "model.num_kernels=4", "model.num_blocks=1",
                              "train.epochs=3", "train.samples_per_epoch=40",
                              "train.batch_size=8", "train.eval_sigmas=[0.2]",
                              "train.eval_images=8", "data.n_test=8", "train.device=cpu",
                              "train.threads=1", "train.ema_decay=0.9",
                              "train.snapshot_steps=\"log:6\"", *more])


def test_resumed_snapshots_equal_uninterrupted_ones(tmp_path):
    # eval_every = 2: the resumed run reads back metrics.csv, whose row of the unevaluated
    # epoch 1 has empty PSNR cells since epoch 2 was evaluated
    images, cfg = discs(40, 8), _config("train.eval_every=2")
    train(cfg, tmp_path / "full", images=images, progress=False)
    full = RunDir(tmp_path / "full")
    assert full.snapshot_steps() == snapshot_schedule("log:6", 15) == [1, 2, 3, 5, 9, 15]

    def stop(epoch, step, loss):
        if (epoch, step) == (2, 2):  # global step 12: after snapshot 9, before 15
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "cut", images=images, callbacks=[stop], progress=False)
    cut = RunDir(tmp_path / "cut")
    assert cut.snapshot_steps() == [1, 2, 3, 5, 9]
    kept = {s: cut.snapshot(s).stat().st_mtime_ns for s in cut.snapshot_steps()}
    train(cfg, cut.path, images=images, progress=False)
    assert cut.snapshot_steps() == full.snapshot_steps()
    assert {s: cut.snapshot(s).stat().st_mtime_ns for s in kept} == kept  # not rewritten
    for s in full.snapshot_steps():
        assert full.snapshot(s).read_bytes() == cut.snapshot(s).read_bytes(), s
    first, last = (load_file(str(full.snapshot(s))) for s in (1, 15))
    assert any(not torch.equal(first[k], last[k]) for k in first)  # training moved them
    final = load_file(str(full.weights))
    assert all(torch.equal(final[k], last[k]) for k in final)  # the last one is the model


def test_snapshot_loads_alone_and_is_deleted_with_the_run(tmp_path):
    train(_config("train.epochs=1", "train.ema_decay=0"), tmp_path, images=discs(40, 8),
          progress=False)
    run = RunDir(tmp_path)
    net = load_net(run.snapshot(run.snapshot_steps()[0]))
    assert net.meta["step"] == 1 and net.meta["n_train"] == run.meta()["n_train"]
    assert net.meta["image_size"] == [8, 8]
    run.delete()
    assert not run.snapshots.exists()
