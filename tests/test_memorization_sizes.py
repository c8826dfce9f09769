"""The experiment across image sizes: parsing, the gap summary and the transition N."""

import json
from pathlib import Path

import pytest

from gahr.analysis.sizes import mean_gap, summarize_sizes, transition_n
from gahr.errors import ConfigError
from gahr.workflows.sizes import parse_sizes


def test_parse_sizes():
    assert parse_sizes("32,16") == [(16, None), (32, None)]
    assert parse_sizes(" 8 , 12 ") == [(8, None), (12, None)]
    assert parse_sizes("32:2,16:1") == [(16, 1), (32, 2)]
    for bad in ["", "a,b", "16,16", "2,16", "16;32", "16:0", "16:x", "16:1,16:2"]:
        with pytest.raises(ConfigError, match="--sizes"):
            parse_sizes(bad)


def test_transition_is_the_first_n_from_which_the_gap_stays_closed():
    ns = [1, 10, 100, 1000]
    assert transition_n(ns, [20.0, 5.0, 0.5, 0.2], 1.0) == 100
    assert transition_n(ns, [20.0, 0.5, 3.0, 0.2], 1.0) == 1000  # reopened at 100: not closed
    assert transition_n(ns, [20.0, 5.0, 3.0, 2.0], 1.0) is None
    assert transition_n(ns, [0.1, 0.1, 0.1, None], 1.0) is None
    assert transition_n(list(reversed(ns)), [0.2, 0.5, 5.0, 20.0], 1.0) == 100  # any order


def test_summary_averages_the_gap_over_the_noise_levels():
    sigmas = (25 / 255, 100 / 255)
    row = {"N": 10, "gap_psnr_25": 3.0, "gap_psnr_100": 1.0}
    assert mean_gap(row, sigmas) == pytest.approx(2.0)
    assert mean_gap({"N": 1, "gap_psnr_25": None, "gap_psnr_100": 1.0}, sigmas) is None
    tables = {16: [{"N": 1, "gap_psnr_25": 9.0, "gap_psnr_100": 7.0},
                   {"N": 10, "gap_psnr_25": 0.5, "gap_psnr_100": 0.3}],
              32: [{"N": 1, "gap_psnr_25": 12.0, "gap_psnr_100": 8.0},
                   {"N": 10, "gap_psnr_25": 2.0, "gap_psnr_100": 1.0}]}
    summary = summarize_sizes(tables, sigmas, gap_db=1.0)
    assert summary["sizes"]["16"] == {"N": [1, 10], "mean_gap_db": [8.0, 0.4],
                                      "transition_n": 10}
    assert summary["sizes"]["32"]["mean_gap_db"] == [10.0, 1.5]
    assert summary["sizes"]["32"]["transition_n"] is None


@pytest.mark.slow
def test_cli_runs_the_experiment_at_two_sizes(tmp_path, capsys):
    from gahr.cli import main

    preset = Path(__file__).parents[1] / "configs" / "experiments" / "discs_demo.toml"
    args = ["memorization", str(preset), "--out", str(tmp_path / "exp"), "--sizes", "12,16",
            "--quiet", "--set", "sweep.n_train=[1, 8]", "--set", "data.num_images=64",
            "--set", "data.n_test=8", "--set", "train.epochs=1",
            "--set", "train.samples_per_epoch=128", "--set", "train.eval_images=8",
            "--set", "model.num_kernels=4", "--set", "model.num_blocks=1",
            "--set", "memorization.num_samples=2", "--set", "memorization.n_eval=8",
            "--set", "memorization.h_0=0.5", "--set", "memorization.sigma_L=0.05",
            "--set", "memorization.patch_size=4"]
    assert main(args) == 0
    summary = json.loads((tmp_path / "exp-sizes-12px-16px" / "sizes.json").read_text())
    assert set(summary["sizes"]) == {"12", "16"}
    assert all(v["N"] == [1, 8] for v in summary["sizes"].values())
    for size in (12, 16):
        results = json.loads((tmp_path / f"exp-{size}px" / "memorization" / "results.json")
                             .read_text())
        assert [row["N"] for row in results["table"]] == [1, 8]
    assert (tmp_path / "exp-sizes-12px-16px" / "gap_vs_n_by_size.png").is_file()
    # it says where its reports are, as `gahr memorization` without --sizes does
    lines = capsys.readouterr().out.splitlines()
    reports = [Path(line.removeprefix("report: ")) for line in lines
               if line.startswith("report: ")]
    assert reports == [tmp_path / f"exp-{size}px" / "memorization" / "report.html"
                       for size in (12, 16)]
    assert all(r.is_file() for r in reports)
    printed = lines[-1].removeprefix("sizes: ").split(" (figure: ")
    assert Path(printed[0]) == tmp_path / "exp-sizes-12px-16px" / "sizes.json"
    assert Path(printed[0]).is_file() and Path(printed[1].rstrip(")")).is_file()
