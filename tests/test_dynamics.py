"""`gahr dynamics`: the workflow on the toy preset, resuming, refusals, the CLI."""

import json

import pytest

from gahr.cli import main
from gahr.errors import ConfigError
from gahr.rundir import RunDir
from gahr.train import run_sweep
from gahr.workflows.dynamics import run_dynamics
from gahr.workflows.dynamics_config import dynamics_config

# The quick preset cut to seconds: 2 x 2 runs of 60 steps, 3 snapshots, 2 samples per model,
# one noise level.
SMALL = ["train.epochs=1", "train.samples_per_epoch=960", "train.snapshot_steps=\"log:3:15\"",
         "sweep.n_train=[4, 16]", "sweep.workers=1", "memorization.num_samples=2",
         "memorization.n_eval=8", "memorization.sigmas=[\"50/255\"]"]


def test_small_study_writes_rows_times_figures_and_resumes(tmp_path):
    config = dynamics_config(quick=True, overrides=SMALL)
    logs = []
    out = run_dynamics(config, out=tmp_path, progress=False, log=logs.append)
    saved = json.loads((tmp_path / "dynamics.json").read_text())
    assert saved["steps"] == out["steps"] == [15, 30, 60]
    assert len(saved["rows"]) == 2 * 2 * 3  # one per (N, split, step)
    for row in saved["rows"]:
        assert {"n", "split", "step", "f_mem", "psnr_gap", "gaussian_share",
                "distance_to_memorization", "same_seed_similarity"} <= set(row)
        assert row["f_mem"] is None or 0 <= row["f_mem"] <= 1
    assert set(saved["tau_mem"]) == set(saved["tau_gen"]) == {"4", "16"}
    assert "exponent" in saved and "definitions" in saved
    for name in ("phase.png", "curves.png", "gaussian_share.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 0
    assert "Memorization in time" in (tmp_path / "report.html").read_text()
    assert json.loads((tmp_path / "dynamics_config.json").read_text())["dynamics"]
    assert {json.loads(p.read_text())["copy_distance"] for p in (tmp_path / "records").glob("*")} \
        == {"cosine"}
    records = sorted((tmp_path / "records").glob("*.json"))
    stamps = [p.stat().st_mtime_ns for p in records]
    logs.clear()
    again = run_dynamics(config, out=tmp_path, progress=False, log=logs.append)
    assert [p.stat().st_mtime_ns for p in records] == stamps  # nothing measured again
    assert any("6 of 6" in line for line in logs)
    assert again["rows"] == saved["rows"]
    # sample quality: FID of both models' samples pooled, the same in an (N, step)'s two rows,
    # with real against real at the same count beside (C^alpha: fresh images, pixel features)
    by = {(r["n"], r["step"], r["split"]): r for r in saved["rows"]}
    measured = [r for r in saved["rows"] if r["quality_n"]]
    assert measured, "no snapshot had two finished samples"
    for r in measured:
        assert r["fid"] >= 0 and r["fid_real"] >= 0 and 2 <= r["quality_n"] <= 4
        assert by[r["n"], r["step"], "S2" if r["split"] == "S1" else "S1"]["fid"] == r["fid"]
    # a record written before sample quality was recorded is measured again, and only it
    old = json.loads(records[0].read_text())
    del old["quality"]
    records[0].write_text(json.dumps(old))
    logs.clear()
    run_dynamics(config, out=tmp_path, progress=False, log=logs.append)
    assert any("5 of 6" in line for line in logs)
    assert "quality" in json.loads(records[0].read_text())


def test_a_run_finished_without_the_snapshots_is_refused(tmp_path):
    config = dynamics_config(quick=True, overrides=[*SMALL, "sweep.n_train=[4]",
                                                    "memorization.num_samples=1"])
    run_sweep(config, out=tmp_path, progress=False, log=lambda _: None)
    run = RunDir(tmp_path / "N4_S1")
    run.snapshot(30).unlink()
    with pytest.raises(ConfigError, match=r"without snapshots at steps \[30\].*--retrain"):
        run_dynamics(config, out=tmp_path, progress=False, log=lambda _: None)
    run_dynamics(config, out=tmp_path, progress=False, log=lambda _: None, retrain=True)
    assert run.snapshot_steps() == [15, 30, 60]


def test_cli_dry_run_and_bad_input(tmp_path, capsys):
    assert main(["dynamics", "--quick", "--dry-run", "--out", str(tmp_path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["dynamics"]["threshold"] > 0 and printed["train"]["snapshot_steps"]
    assert main(["dynamics", "--out", str(tmp_path)]) == 2  # neither a config nor --quick
    assert main(["dynamics", "--quick", "--set", "train.snapshot_steps=\"\""]) == 2
    assert main(["dynamics", "--quick", "--widths", "8,x", "--out", str(tmp_path)]) == 2


@pytest.mark.slow
def test_quick_f_mem_grows_in_time_at_small_n_and_stays_lower_at_large_n(tmp_path, capsys):
    assert main(["dynamics", "--quick", "--out", str(tmp_path), "--quiet"]) == 0
    out = json.loads((tmp_path / "dynamics.json").read_text())
    small, large = (str(n) for n in (min(out["ns"]), max(out["ns"])))
    curve_small, curve_large = out["f_mem"][small]["curve"], out["f_mem"][large]["curve"]
    assert curve_small[-1] > curve_small[0] + 0.25  # memorization sets in along training
    assert out["tau_mem"][small]["reached"]
    assert max(curve_large) < curve_small[-1]  # the large N memorizes less, at every time
    assert not out["tau_mem"][large]["reached"]


def test_dynamics_presets_load_and_keep_snapshots():
    from pathlib import Path

    from gahr.workflows.dynamics_config import load_dynamics

    presets = sorted((Path(__file__).parents[1] / "configs" / "dynamics").glob("*.toml"))
    assert presets
    for path in presets:
        config = load_dynamics(path)
        assert config.train.snapshot_steps and set(config.sweep.splits) == {"S1", "S2"}


@pytest.mark.slow
def test_widths_run_the_study_per_width_and_report_the_onset(tmp_path):
    from gahr.workflows.dynamics_widths import parse_widths, run_widths

    assert parse_widths("4,8") == [4, 8]
    config = dynamics_config(quick=True, overrides=SMALL)
    summary = run_widths(config, [4, 8], out=tmp_path, progress=False, log=lambda _: None)
    assert set(summary["widths"]) == {"4", "8"}
    for w in (4, 8):
        saved = json.loads((tmp_path / f"width{w}" / "dynamics_config.json").read_text())
        assert saved["model"]["num_kernels"] == w
    assert json.loads((tmp_path / "widths.json").read_text()) == json.loads(json.dumps(summary))
    assert "Onset of memorization per width" in (tmp_path / "report.html").read_text()
