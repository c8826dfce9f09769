"""Sweeps: job layout, disjoint S1/S2 runs, --list / --job / run-all with skipping."""

import shlex
from pathlib import Path

import pytest
import torch
from test_train import discs

from gahr.cli import main
from gahr.config import SweepConfig, load_config, read_config
from gahr.errors import ConfigError
from gahr.train import is_finished, load_checkpoint, run_sweep, select, sweep_jobs

TINY = ["model.arch=bfcnn", "model.num_kernels=4", "model.num_layers=2", "train.epochs=1",
        "train.samples_per_epoch=16", "train.batch_size=8", "train.eval_sigmas=[0.2]",
        "train.eval_images=4", "data.n_test=4", "train.device=cpu", "train.threads=1"]


def sweep_config(*overrides) -> SweepConfig:
    return load_config(None, [*TINY, "sweep.n_train=[1, 5]", *overrides], cls=SweepConfig)


def test_jobs_layout_and_configs(tmp_path):
    jobs = sweep_jobs(sweep_config(), out=tmp_path)
    assert [j.name for j in jobs] == ["N1_S1", "N1_S2", "N5_S1", "N5_S2"]
    assert [j.run_dir for j in jobs] == [tmp_path / j.name for j in jobs]
    assert [(j.config.data.n_train, j.config.data.split) for j in jobs] == [
        (1, "S1"), (1, "S2"), (5, "S1"), (5, "S2")]
    assert all(j.config.train == jobs[0].config.train for j in jobs)
    assert sweep_jobs(sweep_config("sweep.out=elsewhere"))[0].run_dir == Path("elsewhere/N1_S1")
    with pytest.raises(ConfigError, match="twice"):
        sweep_jobs(sweep_config("sweep.n_train=[5, 5]"))


def test_split_runs_are_disjoint_and_tested_outside_their_training_set():
    images = discs(40, 8)
    s1, s2 = (select(images, j.config.data) for j in sweep_jobs(sweep_config())[2:])
    assert len(s1.train) == len(s2.train) == 5
    assert not set(s1.train_index.tolist()) & set(s2.train_index.tolist())
    for run in (s1, s2):
        flat = run.train.flatten(1)
        assert all(not (flat == t.flatten()).all(1).any() for t in run.test)
    assert torch.equal(s1.test, s2.test)  # held out from both halves: one shared test set


def test_run_all_skips_finished_and_job_runs_one(tmp_path, capsys):
    images, cfg = discs(40, 8), sweep_config()
    ran = run_sweep(cfg, out=tmp_path, job=1, images=images, progress=False)
    assert [j.name for j in ran] == ["N1_S2"] and is_finished(tmp_path / "N1_S2", 1)
    assert not (tmp_path / "N1_S1").exists()
    ran = run_sweep(cfg, out=tmp_path, images=images, progress=False)
    assert [j.name for j in ran] == ["N1_S1", "N5_S1", "N5_S2"]
    assert "N1_S2: finished, skipped" in capsys.readouterr().out
    assert run_sweep(cfg, out=tmp_path, images=images, progress=False) == []
    assert read_config(tmp_path / "sweep.json", cls=SweepConfig) == cfg
    assert load_checkpoint(tmp_path / "N5_S2")["epoch"] == 1
    with pytest.raises(ConfigError, match="jobs 0 to 3"):
        run_sweep(cfg, out=tmp_path, job=4, images=images)


def test_parallel_workers_train_the_same_runs_as_one_process(tmp_path):
    """sweep.workers = 2 trains each job in its own process: the same weights, bit for bit."""
    images = discs(40, 8)
    run_sweep(sweep_config(), out=tmp_path / "one", images=images, progress=False)
    lines = []
    ran = run_sweep(sweep_config("sweep.workers=2"), out=tmp_path / "two", images=images,
                    progress=False, log=lines.append)
    assert len(ran) == 4 and sorted(line.split(":")[0] for line in lines) == sorted(
        j.name for j in ran)
    for j in ran:
        a = torch.load(tmp_path / "one" / j.name / "checkpoint.pt", weights_only=True)
        b = torch.load(j.run_dir / "checkpoint.pt", weights_only=True)
        assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"]), j.name


def test_every_n_is_checked_before_the_first_job(tmp_path):
    cfg = sweep_config("sweep.n_train=[1, 30]")
    with pytest.raises(ConfigError, match="n_train=30 is larger than half of the 40 images"):
        run_sweep(cfg, out=tmp_path, images=discs(40, 8), progress=False)
    assert not (tmp_path / "N1_S1").exists()


def test_cli_list_prints_one_runnable_command_per_job(tmp_path, capsys):
    toml = tmp_path / "sweep.toml"
    toml.write_text('[data]\nnum_images = 64\nn_test = 16\n'
                    '[sweep]\nn_train = [1, 5]\nsplits = ["S1", "S2"]\n')
    args = ["sweep", str(toml), "--out", str(tmp_path / "runs"), "--set", "train.lr=0.01"]
    assert main([*args, "--list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    for i, line in enumerate(lines):
        words = shlex.split(line, comments=True)
        assert words[:3] == ["gahr", "sweep", str(toml)] and words[-2:] == ["--job", str(i)]
        assert "train.lr=0.01" in words
    assert "N5_S2" in lines[3]
    assert main([*args, "--set", "sweep.n_train=[0]", "--list"]) == 2
