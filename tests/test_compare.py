"""`gahr compare` end to end on tiny run dirs, with closed forms where an oracle stands in."""

import dataclasses
import json
import math
import re

import pytest
import torch

from gahr.cli import main
from gahr.config import Config, DataConfig, save_config
from gahr.errors import GahrError
from gahr.nets import UNet, save
from gahr.oracles import EmpiricalOracle, LocalEmpiricalOracle
from gahr.workflows.compare import CompareSettings, compare_run, training_data

SIGMAS = (0.1, 0.5)


def make_run(path, n_train: int, split: str = "S1"):
    """A run dir: an untrained tiny UNet (the same weights every time) and the [data] of N
    images of 12x12 discs."""
    torch.manual_seed(0)
    data = DataConfig(source="discs", num_images=40, size=12, n_train=n_train, split=split,
                      n_test=8)
    save(UNet(num_kernels=4, num_blocks=1).eval(), path,
         meta={"mean_intensity": 0.3, "data": {"size": 12}})
    save_config(Config(data=data), path / "config.json")
    return path


@pytest.fixture
def run1(tmp_path):
    return make_run(tmp_path / "N1", 1)


def settings(**changes):
    base = dict(oracles=("memorizer", "ls", "els"), calibrate=True, patch_sizes=(1, 3),
                sigmas=SIGMAS, n_images=3, pixels=10, samples=2, sigma_L=0.05, batch_size=2)
    return CompareSettings(**{**base, **changes})


def test_one_training_image_is_matched_exactly(run1, tmp_path, monkeypatch):
    """N = 1: the memorizer and the LS machine return x_1 whatever y is, so a net that does the
    same (the memorizer standing in) agrees with both exactly, at every sigma and k, and
    their samples from the same seeds coincide (r = 1); the ELS machine mixes locations."""
    monkeypatch.setattr("gahr.workflows.json_cache.QUIET_SECONDS", 0.0)  # log every entry
    train = training_data(run1)[0].train
    assert train.shape == (1, 1, 12, 12)
    lines = []
    results = compare_run(run1, settings(), tmp_path / "out", net=EmpiricalOracle(train),
                          log=lines.append)
    summ = results["summary"]
    for label in ("25.5", "127.5"):
        assert summ["memorizer"][label]["to_net"] == [0.0, 0.0]
        assert summ["ls"][label]["to_net"][0] == 0.0 and summ["ls"][label]["k"] == 1
        assert summ["els"][label]["to_net"][0] > 1e-4
        assert all(max(v) == 0 for v in results["calibration"]["ls"]["mse"][label].values())
    assert results["samples"]["memorizer"]["pearson_r"] == pytest.approx([1.0, 1.0])
    assert results["samples"]["ls"]["pearson_r"] == pytest.approx([1.0, 1.0])
    out = tmp_path / "out"
    saved = json.loads((out / "results.json").read_text())
    assert saved["summary"] == json.loads(json.dumps(summ))
    for name in ("mse_vs_sigma", "calibrated_k_els", "calibration_ls", "samples"):
        assert (out / "figures" / f"{name}.png").exists()
    assert "Same-seed" in (out / "report.html").read_text()
    # a rerun computes nothing: every (model, k, sigma) and every model's samples are kept
    again = []
    compare_run(run1, settings(), out, net=EmpiricalOracle(train), log=again.append)
    assert any(line.startswith("  ls:k=3@127.5") for line in lines)
    assert not any("@" in line and line.endswith(" s") for line in again)
    assert not any(line.startswith("  samples of") for line in again)


def test_the_cli_compares_saved_nets_across_runs(tmp_path, capsys):
    runs = [make_run(tmp_path / f"N{n}", n) for n in (1, 4)]
    memo = tmp_path / "memorization.json"
    memo.write_text(json.dumps({"table": [{"N": 1, "median_same_seed": 0.25},
                                          {"N": 4, "median_same_seed": 0.75}]}))
    args = ["compare", *map(str, runs), "--oracle", "memorizer", "els", "gaussian",
            "--patch-size", "3", "--sigmas", "25/255", "100/255", "--images", "2",
            "--pixels", "all", "--samples", "1", "--sample-oracles", "memorizer", "els",
            "--local-sample-max-n", "2",
            "--memorization", str(memo), "--out", str(tmp_path / "cmp")]
    stopped = tmp_path / "cmp" / "N1_S1" / "partial.json"  # a first run stopped early
    stopped.parent.mkdir(parents=True)
    stopped.write_text(json.dumps({"settings": {}, "entries": {}, "seconds": {}}))
    args[args.index("gaussian")] = "ls"
    args[args.index("ls") + 1:args.index("ls") + 1] = ["gaussian"]
    assert main(args) == 0
    table = json.loads((tmp_path / "cmp" / "summary.json").read_text())["table"]
    assert [(row["N"], row["S1/S2 same-seed similarity (memorization)"]) for row in table] == \
        [(1, 0.25), (4, 0.75)]
    assert all("MSE(net, ELS) @25" in row and "r(net, global memorizer)" in row for row in table)
    # ELS samples at N = 1 only (--local-sample-max-n 2), LS never (not in --sample-oracles)
    assert "r(net, ELS)" in table[0] and "r(net, ELS)" not in table[1]
    assert not any("r(net, LS)" in row for row in table)
    # no fitted Gaussian of one image (a covariance needs N >= 2), said so
    assert "MSE(net, fitted Gaussian) @25" not in table[0] and "MSE(net, fitted Gaussian) @25" \
        in table[1]
    first = json.loads((tmp_path / "cmp" / "N1_S1" / "results.json").read_text())
    assert first["skipped"] == {"gaussian": "a covariance needs N >= 2"}
    for name in ("r_vs_n", "mse_vs_n_25", "mse_vs_n_100"):
        assert (tmp_path / "cmp" / "figures" / f"{name}.png").exists()
    page = (tmp_path / "cmp" / "report.html").read_text()
    assert "N1_S1/figures/mse_vs_sigma.png" in page and "N4_S1/figures/" in page
    # issue 24: where the report is, no line per instant cache entry, no title twice
    out = capsys.readouterr().out
    assert f"report: {tmp_path / 'cmp' / 'report.html'}" in out
    assert not re.search(r"^  \S+: 0\.0 s$", out, re.MULTILINE)
    titles = [s["title"] for s in json.loads((tmp_path / "cmp" / "report.json").read_text())
              ["sections"]]
    assert len(set(titles)) == len(titles) and "N4_S1: Outputs on noisy test images" in titles


def test_bad_options_are_one_line_and_exit_2(run1, tmp_path, capsys):
    assert main(["compare", str(run1), "--oracle", "els", "--out", str(tmp_path / "o")]) == 2
    assert "--patch-size K or --calibrate" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # argparse's own check
        main(["compare", str(run1), "--pixels", "0", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2 and "--pixels" in capsys.readouterr().err


def test_a_model_without_its_data_is_refused(tmp_path, capsys):
    save(UNet(num_kernels=4, num_blocks=1).eval(), tmp_path / "bare")
    assert main(["compare", str(tmp_path / "bare" / "model.safetensors"), "--oracle",
                 "memorizer", "--out", str(tmp_path / "o")]) == 2
    assert "records no [data]" in capsys.readouterr().err


def test_the_other_split_net_samples_from_the_same_start(tmp_path):
    """--other-split samples the sweep's sibling run N{n}_S2 beside the S1 net: two nets with
    the same weights from the same seeds and start give the same samples (r = 1)."""
    s1 = make_run(tmp_path / "sweep" / "N4_S1", 4)
    make_run(tmp_path / "sweep" / "N4_S2", 4, "S2")
    results = compare_run(s1, settings(oracles=("memorizer",), calibrate=False,
                                       other_split=True), tmp_path / "out", log=lambda _: None)
    assert results["samples"]["other_split"]["pearson_r"] == pytest.approx([1.0, 1.0])
    assert results["samples"]["memorizer"]["pairs"] == 2
    make_run(tmp_path / "lone" / "N4_S1", 4)
    with pytest.raises(GahrError, match="N4_S2"):
        compare_run(tmp_path / "lone" / "N4_S1", settings(oracles=("memorizer",),
                    calibrate=False, other_split=True), tmp_path / "out2", log=lambda _: None)


def _samples(out, name):
    import numpy as np

    return np.load(out / f"samples_{name}.npz")["samples"]


@pytest.mark.parametrize("change", [dict(boundary="zero"), dict(patch_size=1),
                                    dict(calibrate=True, patch_size=None, sigmas=(0.05,),
                                         patch_sizes=(1,))])
def test_a_rerun_with_other_machine_settings_samples_again(tmp_path, change):
    """A rerun into the same --out with another boundary, patch size or calibration
    (sigmas, grid) gives the samples a fresh run gives, not the first run's (the sample
    cache was keyed by seeds, schedule and start only)."""
    run = make_run(tmp_path / "N2", 2)
    train = training_data(run)[0].train
    first = settings(oracles=("els",), calibrate=False, patch_size=3, samples=1)
    quiet = dict(net=EmpiricalOracle(train), log=lambda _: None)
    compare_run(run, first, tmp_path / "out", **quiet)
    before = _samples(tmp_path / "out", "els")
    second = dataclasses.replace(first, **change)
    again = compare_run(run, second, tmp_path / "out", **quiet)
    fresh = compare_run(run, second, tmp_path / "fresh", **quiet)
    assert abs(before - _samples(tmp_path / "fresh", "els")).max() > 1e-4
    assert (_samples(tmp_path / "out", "els") == _samples(tmp_path / "fresh", "els")).all()
    assert again["samples"]["els"]["pearson_r"] == fresh["samples"]["els"]["pearson_r"]
    assert again["settings"] == fresh["settings"]


def test_a_calibrated_machine_has_a_k_at_every_level_it_samples_at(run1, tmp_path,
                                                                    monkeypatch):
    """Calibrated at the output sigmas 0.1 and 0.5 only, the machine would sample its first
    calls (sigma_0 = 1) at the k of 0.5; every level the sampler hands it lies within sqrt 2
    of a calibrated level, and the run reports 0 uncovered calls."""
    seen = []
    forward = LocalEmpiricalOracle.forward

    def record(self, y, sigma=None):
        seen.extend(torch.as_tensor(sigma, dtype=torch.float64).flatten().tolist())
        return forward(self, y, sigma)

    monkeypatch.setattr(LocalEmpiricalOracle, "forward", record)
    train = training_data(run1)[0].train
    results = compare_run(run1, settings(oracles=("els",), samples=1), tmp_path / "out",
                          net=EmpiricalOracle(train), log=lambda _: None)
    calibrated = [float(label) / 255 for label in results["calibration"]["els"]["best"]]
    assert max(seen) >= 1.0 and min(seen) < 0.05  # the sampler's whole range
    for sigma in seen:
        assert min(abs(math.log(sigma / c)) for c in calibrated) <= math.log(2**0.5) + 1e-3
    assert results["samples"]["els"]["uncalibrated_calls"] == 0
    assert set(results["per_sigma"]["els"]) == {"25.5", "127.5"}  # the output table's sigmas


def test_the_boundary_follows_the_nets_padding(run1, tmp_path):
    """auto: zero-padded convolutions (gahr's UNet) -> the boundary-broken machine, circular
    ones -> circular, said in the log; an explicit --boundary wins."""
    from gahr.workflows.compare import boundary_of

    net = UNet(num_kernels=4, num_blocks=1)
    assert boundary_of(net)[0] == "broken"
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.padding_mode = "circular"
    assert boundary_of(net) == ("circular", "the net pads circularly")
    lines = []
    results = compare_run(run1, settings(oracles=("els",), calibrate=False, patch_size=3,
                                         samples=0), tmp_path / "out", log=lines.append)
    assert results["settings"]["boundary"] == "broken"
    assert any("boundary 'broken'" in line and "zeros" in line for line in lines)


def test_the_kamb_ganguli_protocol_end_to_end(run1, tmp_path):
    """--protocol kamb-ganguli: DDIM on their 20-level grid from 0.5, k per step on the net's
    trajectory (20 steps, odd k up to the image size), samples at a calibrated k at every
    level; explicit flags win over the protocol's; a rerun computes nothing."""
    out = tmp_path / "kg"
    args = ["compare", str(run1), "--oracle", "els", "--protocol", "kamb-ganguli",
            "--samples", "2", "--calibration-samples", "2", "--sigmas", "25/255", "--images",
            "2", "--pixels", "8", "--out", str(out)]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["sampler"] == "kamb-ganguli"
    assert results["settings"]["samples"] == 2 and results["settings"]["boundary"] == "broken"
    for name in ("els",):
        cal = results["calibration"][name]
        assert cal["method"] == "trajectory" and cal["patch_sizes"] == [1, 3, 5, 7, 9, 11]
        assert len(cal["steps"]) == 20 and cal["steps"][0]["sigma"] == pytest.approx(40.1, abs=.1)
        assert results["samples"][name]["uncalibrated_calls"] == 0
        assert results["samples"][name]["calls"] == [20, 20]
        assert results["summary"][name]["25"]["k"] in cal["patch_sizes"]
    for name in ("calibrated_k_els", "calibration_els", "samples"):
        assert (out / "figures" / f"{name}.png").exists()
    from gahr.commands import compare as command

    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*") if p.suffix in (".npz",)}
    stamps["calibration_els.json"] = (out / "calibration_els.json").stat().st_mtime_ns
    assert command.PROTOCOLS["kamb-ganguli"]["samples"] == 100
    assert main(args) == 0  # everything cached: no file of samples or calibration rewritten
    assert stamps == {name: (out / name).stat().st_mtime_ns for name in stamps}
