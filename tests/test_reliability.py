"""Issue 15: no silent reuse, no tracebacks, no fake convergence. One test (or more) per item;
each fails when its fix is reverted."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from test_sweep import sweep_config
from test_train import discs, tiny

from gahr.cli import main
from gahr.errors import ConfigError, DataError, Interrupted, OutputError
from gahr.io import atomic_path, save_json
from gahr.nets import UNet, save
from gahr.sample import PRESETS, Schedule, synthesize
from gahr.train import load_checkpoint, run_sweep, train
from gahr.train.checkpoint import config_changes


@pytest.fixture
def model(tmp_path):
    torch.manual_seed(0)
    save(UNet(num_kernels=4, num_blocks=1).eval(), tmp_path / "model",
         meta={"mean_intensity": 0.4, "data": {"size": 8}})
    return tmp_path / "model"


def one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


# ------------------------------------------------------------ 1. silent reuse


def test_a_sweep_refuses_finished_runs_trained_with_other_settings(tmp_path):
    images = discs(40, 8)
    run_sweep(sweep_config(), out=tmp_path, images=images, progress=False, log=lambda s: None)
    before = (tmp_path / "N1_S1" / "model.safetensors").stat().st_mtime_ns
    changed = sweep_config("model.num_kernels=6")
    with pytest.raises(ConfigError, match=r"model.num_kernels=4 \(asked: 6\).*--retrain"):
        run_sweep(changed, out=tmp_path, images=images, progress=False, log=lambda s: None)
    assert (tmp_path / "N1_S1" / "model.safetensors").stat().st_mtime_ns == before
    ran = run_sweep(changed, out=tmp_path, images=images, progress=False, log=lambda s: None,
                    retrain=True)
    assert len(ran) == 4
    saved = json.loads((tmp_path / "N1_S1" / "config.json").read_text())
    assert saved["model"]["num_kernels"] == 6
    assert config_changes(tmp_path / "N1_S1", ran[0].config) == {}


def test_config_changes_compare_resolved_configs(tmp_path):
    """The saved config holds the recipe's resolved values: asking for them explicitly, or by
    the recipe's None, is the same run; a key the saved config lacks is a change."""
    images = discs(64, 16)
    train(tiny("train.epochs=1"), tmp_path, images=images, progress=False)
    from gahr.config import RECIPES

    resolved = RECIPES["modern"]["ema_decay"]
    assert config_changes(tmp_path, tiny("train.epochs=1", f"train.ema_decay={resolved}")) == {}
    assert "train.ema_decay" in config_changes(tmp_path, tiny("train.epochs=1",
                                                              "train.ema_decay=0.25"))
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["train"]["grad_clip"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert config_changes(tmp_path, tiny("train.epochs=1"))["train.grad_clip"][0] == \
        "<not recorded>"


def test_the_analysis_refuses_runs_of_other_settings_and_redoes_stale_records(tmp_path):
    from dataclasses import replace

    from gahr.config import ExperimentConfig, MemorizationSection
    from gahr.workflows.experiment import analyze_sweep, stale_reason

    base = sweep_config()
    config = ExperimentConfig(data=base.data, model=base.model, train=base.train,
                              sweep=replace(base.sweep, out=str(tmp_path)),
                              memorization=MemorizationSection(num_samples=2, n_eval=4, h_0=0.5,
                                                               sigma_L=0.05, patch_size=0))
    images = discs(40, 8)
    run_sweep(config, images=images, progress=False, log=lambda s: None)
    analyze_sweep(config, images=images, log=lambda s: None)
    record = tmp_path / "memorization" / "N1.json"
    other = replace(config, train=replace(config.train, lr=0.01))
    with pytest.raises(ConfigError, match=r"train.lr=0.001 \(asked: 0.01\)"):
        analyze_sweep(other, images=images, log=lambda s: None)  # e.g. --analysis-only
    from gahr.workflows.experiment import pair_jobs
    jobs = pair_jobs(config)[1]
    assert stale_reason(record, config.memorization, jobs) is None
    weights = jobs["S1"].run_dir / "model.safetensors"  # as if the S1 run was trained again
    weights.write_bytes(weights.read_bytes() + b" ")
    assert "other models" in stale_reason(record, config.memorization, jobs)


def trained_demo_sweep(tmp_path):
    """A small experiment config whose sweep (N = 1, 5 on 16x16 discs) is trained under
    tmp_path/sweep: what the demo's eigen stage reads."""
    from dataclasses import replace

    from gahr.config import ExperimentConfig, MemorizationSection

    base = sweep_config("data.size=16", "data.num_images=40", "model.num_layers=2")
    config = ExperimentConfig(data=base.data, model=base.model, train=base.train,
                              sweep=replace(base.sweep, out=str(tmp_path / "sweep")),
                              memorization=MemorizationSection())
    run_sweep(config, images=discs(40, 16), progress=False, log=lambda s: None)
    return config


def test_the_demo_refuses_an_eigen_result_it_did_not_write(tmp_path):
    from gahr.workflows.demo import eigen_stage

    config = trained_demo_sweep(tmp_path)
    out = tmp_path / "eigen"
    first = eigen_stage(config, out, log=lambda s: None)
    assert eigen_stage(config, out, log=lambda s: None) == first  # reused
    summary = json.loads((out / "summary.json").read_text())
    save_json({**summary, "sigma": 0.5}, out / "summary.json")  # `gahr eigen --out` into it
    with pytest.raises(ConfigError, match="did not write.*sigma=0.5.*--retrain"):
        eigen_stage(config, out, log=lambda s: None)
    again = eigen_stage(config, out, log=lambda s: None, retrain=True)
    assert again["sigma"] == summary["sigma"] == json.loads(
        (out / "summary.json").read_text())["sigma"]


def test_the_cli_names_the_changed_settings_and_the_flag(tmp_path, capsys):
    toml = tmp_path / "sweep.toml"
    toml.write_text('[data]\nnum_images = 40\nsize = 12\nn_test = 4\n[model]\narch = "bfcnn"\n'
                    'num_kernels = 4\nnum_layers = 2\n[train]\nepochs = 1\nsamples_per_epoch = 16'
                    '\nbatch_size = 8\neval_sigmas = [0.2]\neval_images = 4\ndevice = "cpu"\n'
                    'threads = 1\n[sweep]\nn_train = [1]\n')
    args = ["sweep", str(toml), "--out", str(tmp_path / "s"), "--quiet"]
    assert main(args) == 0
    err = one_line_error(capsys, [*args, "--set", "train.lr=0.01"])
    assert "train.lr=0.001 (asked: 0.01)" in err and "--retrain" in err
    assert main([*args, "--set", "train.lr=0.01", "--retrain"]) == 0


# ------------------------------------------------------- 2. fake convergence


@pytest.mark.parametrize("changes, words", [
    (dict(sigma_L=5.0), "not below sigma_0"), (dict(sigma_L=1.0), "not below sigma_0"),
    (dict(sigma_0=float("inf")), "finite"), (dict(sigma_L=float("nan")), "sigma_L=nan"),
    (dict(h_0=float("nan")), r"\(0, 1\]"), (dict(beta=1.5), r"\(0, 1\]"),
    (dict(h_0=0.0), r"\(0, 1\]"), (dict(stall=0), "stall=0"),
])
def test_impossible_schedules_are_refused(changes, words):
    with pytest.raises(ConfigError, match=words):
        PRESETS["kadkhodaie2021"].replace(**changes)


def test_sample_above_sigma_0_and_eigen_at_1e9_are_one_line_errors(model, tmp_path, capsys):
    err = one_line_error(capsys, ["sample", str(model), "--sigma-L", "5", "--out",
                                  str(tmp_path / "s.npz"), "--quiet"])
    assert "sigma_L=5 is not below sigma_0=1" in err
    assert not (tmp_path / "s.npz").exists()
    np.save(tmp_path / "x.npy", np.full((1, 1, 8, 8), 0.5, dtype=np.float32))
    for sigma in ("1e9", "nan", "inf", "0"):
        err = one_line_error(capsys, ["eigen", str(model), "--input", str(tmp_path / "x.npy"),
                                      "--sigma", sigma, "--out", str(tmp_path / "e")])
        assert err.startswith("gahr eigen: error: sigma ") and "image" not in err  # item 5


# ----------------------------------------------------------------- 3. divergence


class HalfDiverge:
    """Samples whose start has sum(y - 0.5) < 0 converge (x_hat = 0.5 + (y - 0.5) / 2), the
    others diverge (x_hat = y + (y - 0.5)). Without noise injection (beta = 1) every update
    scales y - 0.5, so each sample keeps its side."""

    channels, meta = 1, {"data": {"size": 8}}

    def __call__(self, y):
        good = ((y - 0.5).flatten(1).sum(1) < 0).view(-1, 1, 1, 1)
        return torch.where(good, 0.5 + (y - 0.5) / 2, 2 * y - 0.5)


def test_a_failed_sample_is_named_sets_the_exit_status_and_is_left_out_of_the_grid(
        tmp_path, capsys, monkeypatch):
    from gahr.workflows import sample_files

    drawn = {}

    def grid(images, path, **kw):
        drawn.update(n=len(images), title=kw.get("title"))
        return path

    monkeypatch.setattr(sample_files, "load_denoiser", lambda *a, **k: HalfDiverge())
    monkeypatch.setattr(sample_files, "save_image_grid", grid)
    out = tmp_path / "s.npz"
    assert main(["sample", "x", "--n", "6", "--beta", "1", "--out", str(out), "--quiet"]) == 1
    line = capsys.readouterr().out
    with np.load(out) as f:
        failed, samples = list(f["failed"]), f["samples"]
    assert 0 < len(failed) < 6 and np.isnan(samples[failed]).all()
    assert f"FAILED: {len(failed)} sample(s), #{failed[0]}" in line
    assert drawn["n"] == 6 - len(failed)
    assert "left out" in drawn["title"] and f"#{failed[0]}" in drawn["title"]


def test_the_memorization_grid_crosses_out_failed_samples():
    from gahr.workflows.experiment_report import crossed_out, failed_seeds

    tile = crossed_out((1, 6, 6))
    assert tile[0, 0, 0] == tile[0, 5, 5] == tile[0, 0, 5] == 1.0 and tile[0, 0, 1] == 0.5
    assert failed_seeds({"S1": {"failed": {"2": "diverged"}}, "S2": {}}) == {"S1": {2},
                                                                            "S2": set()}


class Scripted:
    """A denoiser whose residual has the scripted norm sigma_t sqrt(D) at its t-th call."""

    def __init__(self, sigmas):
        self.sigmas, self.calls = sigmas, 0
        self.u = torch.ones(1, 1, 4, 4) / 4  # unit norm

    def __call__(self, y):
        s = self.sigmas[min(self.calls, len(self.sigmas) - 1)]
        self.calls += 1
        return y + s * 4 * self.u  # d = x_hat - y has norm s sqrt(16)


def test_stall_returns_the_sample_at_its_lowest_sigma_instead_of_failing():
    path = [1.0, 0.5, 0.1, 0.015, 0.016, 0.02, 0.04, 0.1, 0.5, 1.0, 3.0]
    plain = synthesize(Scripted(path), (1, 4, 4), 1, Schedule(), seeds=[0])
    assert plain.failed == [0] and "diverged" in plain.reasons[0]
    seen = []
    stalled = synthesize(Scripted(path), (1, 4, 4), 1, Schedule(stall=3), seeds=[0],
                         callback=lambda info: seen.append(info["x_hat"].clone()))
    assert stalled.failed == [] and stalled.stalled == {0: pytest.approx(0.015)}
    assert len(seen) == 7  # stopped 3 calls after the lowest sigma_t (call 4)
    assert torch.equal(stalled.samples[0], seen[3][0])
    # far above sigma_L the stall rule does not apply: the sample fails as before
    high = synthesize(Scripted([1.0, 0.5, 0.4, 0.45, 0.5, 0.6, 1.0, 3.0]), (1, 4, 4), 1,
                      Schedule(stall=2), seeds=[0])
    assert high.failed == [0] and high.stalled == {}


# ------------------------------------------------------------------ 4. tracebacks


@pytest.mark.parametrize("command", ["train", "eigen", "demo", "sample", "convert"])
@pytest.mark.parametrize("target", ["file", "dir"])
def test_out_at_a_file_or_a_foreign_directory_is_a_one_line_error(
        command, target, model, tmp_path, capsys):
    out = tmp_path / "taken"
    if target == "file":
        out.write_text("keep me\n")
    else:
        out.mkdir()
        (out / "notes.txt").write_text("keep me\n")
    np.save(tmp_path / "x.npy", np.full((1, 1, 8, 8), 0.5, dtype=np.float32))
    torch.save({"encoder.0.0.weight": torch.zeros(1)}, tmp_path / "seed.pt")
    tiny_toml = Path(__file__).parents[1] / "configs" / "test" / "tiny.toml"
    argv = {"train": ["train", str(tiny_toml), "--out", str(out)],
            "eigen": ["eigen", str(model), "--input", str(tmp_path / "x.npy"), "--sigma", "0.1",
                      "--out", str(out)],
            "demo": ["demo", "--quick", "--out", str(out)],
            "sample": ["sample", str(model), "--out", str(out)],
            "convert": ["convert", str(tmp_path / "seed.pt"), "--arch", "unet", "--out",
                        str(out)]}[command]
    if command == "sample" and target == "file":
        argv[-1] = str(out / "s.npz")  # a path under a file
    err = one_line_error(capsys, argv)
    assert str(out) in err
    assert (out.read_text() if target == "file" else (out / "notes.txt").read_text()) == \
        "keep me\n"


def test_convert_of_keys_without_dots(tmp_path, capsys):
    torch.save({"weight": torch.zeros(3)}, tmp_path / "plain.pt")
    err = one_line_error(capsys, ["convert", str(tmp_path / "plain.pt"), "--arch", "unet",
                                  "--out", str(tmp_path / "c")])
    assert "'weight' is not part of the paper's unet layout" in err


def test_out_checks_in_the_library(tmp_path):
    from gahr.io import check_out_dir, check_out_file

    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        check_out_dir(tmp_path / "f", ["a"], "thing")
    with pytest.raises(OutputError, match="is a file, not a directory"):
        check_out_file(tmp_path / "f" / "x.npz", (".npz",), "thing")
    with pytest.raises(OutputError, match="is a directory"):
        with atomic_path(tmp_path):
            pass
    assert check_out_dir(tmp_path / "new", ["a"], "thing") == tmp_path / "new"


# -------------------------------------------------------- 5. misleading messages


def test_nan_in_a_data_file_is_not_called_out_of_range(tmp_path):
    from gahr.data import load_images

    x = np.full((3, 1, 4, 4), 0.5, dtype=np.float32)
    x[2, 0, 1, 1] = np.nan
    np.save(tmp_path / "nan.npy", x)
    with pytest.raises(DataError, match="NaN or infinite values \\(the first in image 2\\)") as e:
        load_images(tmp_path / "nan.npy")
    assert "rescale" not in str(e.value)
    np.save(tmp_path / "big.npy", x[:2] * 4)
    with pytest.raises(DataError, match=r"values in \[2, 2\].*rescale"):
        load_images(tmp_path / "big.npy")


# ------------------------------------------------------- 6. sweep --list and N


def test_sweep_list_checks_n_and_says_when_test_images_come_from_the_other_split(
        tmp_path, capsys):
    from gahr.config import DataConfig
    from gahr.train.dataset import borrowed_test_images, select

    toml = tmp_path / "sweep.toml"
    toml.write_text('[data]\nnum_images = 64\nn_test = 8\n[sweep]\nn_train = [30]\n')
    assert main(["sweep", str(toml), "--list"]) == 0
    out = capsys.readouterr().out
    assert "# note: N=30 leaves 4 of the 64 images outside S1 and S2, so 4 of the 8" in out
    assert main(["sweep", str(toml), "--set", "sweep.n_train=[33]", "--list"]) == 2
    assert "larger than half of the 64 images" in capsys.readouterr().err
    data = DataConfig(num_images=64, n_test=8, n_train=30, split="S1")
    picked = select(torch.arange(64.0).view(64, 1, 1, 1), data)
    other = select(torch.arange(64.0).view(64, 1, 1, 1), DataConfig(
        num_images=64, n_test=8, n_train=30, split="S2"))
    overlap = set(picked.test.flatten().tolist()) & set(other.train.flatten().tolist())
    assert len(overlap) == borrowed_test_images(64, data) == 4


# ---------------------------------------------------------------- 7. interrupts


def test_an_interrupted_run_says_where_its_checkpoint_is_and_the_rerun_where_it_resumed(
        tmp_path, capsys):
    images = discs(64, 16)

    def stop(epoch, step, loss):
        if (epoch, step) == (0, 3):
            raise KeyboardInterrupt

    with pytest.raises(Interrupted, match=r"epoch 1/2, step 3/4 in .*checkpoint.pt; rerun the "
                                          r"same command to resume"):
        train(tiny(), tmp_path, images=images, callbacks=[stop], progress=False)
    assert (load_checkpoint(tmp_path)["epoch"], load_checkpoint(tmp_path)["step"]) == (0, 3)
    result = train(tiny(), tmp_path, images=images, progress=False)
    assert result.resumed_from == (0, 3)
    assert f"resuming {tmp_path} from its checkpoint at epoch 1/2, step 3/4" in \
        capsys.readouterr().out


def test_the_cli_interrupt_message_says_how_to_go_on(monkeypatch, capsys):
    from gahr.commands import eigen as eigen_command
    from gahr.commands import sample as sample_command
    from gahr.commands import train as train_command

    def interrupted(args):
        raise KeyboardInterrupt

    for command in (train_command, sample_command, eigen_command):
        monkeypatch.setattr(command, "run", interrupted)
    assert main(["train", "--out", "x"]) == 130
    assert "rerun the same command to resume" in capsys.readouterr().err
    assert main(["sample", "x"]) == 130  # its finished chunks are kept (issue 24)
    assert "rerun the same command to resume" in capsys.readouterr().err
    assert main(["eigen", "x", "--sigma", "0.1", "--out", "y"]) == 130
    assert "no output was written" in capsys.readouterr().err


# --------------------------------------------------------------------- 8. umask


@pytest.mark.parametrize("mask, mode", [(0o027, 0o640), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_follow_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        save_json({"a": 1}, tmp_path / "a.json")
        save(UNet(num_kernels=4, num_blocks=1), tmp_path / "run")
    finally:
        os.umask(old)
    for path in (tmp_path / "a.json", tmp_path / "run" / "model.safetensors"):
        assert path.stat().st_mode & 0o777 == mode, path


# --------------------------------------------------------- 9. gahr.pretrained


def test_importing_the_pretrained_folder_keeps_the_function():
    code = ("import gahr.pretrained, gahr; assert callable(gahr.pretrained); "
            "d = gahr.pretrained('discs32'); print(d.channels)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parent, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


# ------------------------------------------------------------- 10. fused Adam


def test_adam_falls_back_when_torch_has_no_fused_kernel(monkeypatch):
    from gahr.train import loop

    net = torch.nn.Conv2d(1, 1, 3, bias=False)
    assert loop.make_adam(net, 1e-3).defaults["fused"] is True  # torch >= 2.4: unchanged
    real = torch.optim.Adam

    def old_torch_adam(params, lr, fused=None):
        if fused:
            raise RuntimeError("`fused=True` requires all the params to be floating point "
                               "Tensors of supported devices: ['cuda']")
        return real(params, lr=lr)

    monkeypatch.setattr(loop.torch.optim, "Adam", old_torch_adam)
    assert not loop.make_adam(net, 1e-3).defaults.get("fused")
