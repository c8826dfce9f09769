"""The memorization experiment stage on a planted sweep whose models memorize perfectly.

Each planted model returns the training image nearest to its input, so its samples are exact
copies of its own training images. With one training image it is the empirical oracle of that
image (it returns the image for every input): its samples are that image (similarity 1), its
distance to memorization is 0, and the S1 and S2 samples from the same seed are the two training
images, whose similarity is known.
"""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from gahr.analysis import memorization as mem
from gahr.config import (
    DataConfig,
    ExperimentConfig,
    MemorizationSection,
    ModelConfig,
    SweepSection,
    load_experiment,
    save_config,
)
from gahr.errors import ConfigError, DataError, GahrError, ShapeError
from gahr.nets import build, save
from gahr.workflows.experiment import analyze_sweep, is_finished_n, pair_jobs

SIZE = 8


def make_config(root, n_train=(1, 4), splits=("S1", "S2"), **section) -> ExperimentConfig:
    settings = dict(num_samples=3, sigmas=(0.1, 0.4), n_eval=4, patch_size=4, batch_size=8,
                    sampler="kadkhodaie2021", beta=0.5)
    settings.update(section)
    return ExperimentConfig(
        data=DataConfig(source="discs", size=SIZE, n_test=4, split_seed=3),
        model=ModelConfig("bfcnn", {"num_layers": 2, "num_kernels": 4}),
        sweep=SweepSection(n_train=n_train, splits=splits, out=str(root)),
        memorization=MemorizationSection(**settings))


def plant_runs(config: ExperimentConfig) -> None:
    """Run dirs with a (never used) small net and the run's config.json, as training leaves."""
    for jobs in pair_jobs(config).values():
        for job in jobs.values():
            save(build("bfcnn", num_layers=2, num_kernels=4, channels=1), job.run_dir)
            save_config(job.config, job.run_dir / "config.json")


class NearestImage(torch.nn.Module):
    """A blind perfect memorizer: returns the training image nearest to y. Its fixed points are
    the training images, so its samples are exact copies; with one image it is the empirical
    oracle itself (x_hat = x_1 for every y)."""

    def __init__(self, train):
        super().__init__()
        self.register_buffer("images", train.flatten(1))

    def forward(self, y):
        nearest = torch.cdist(y.flatten(1), self.images).argmin(dim=1)
        return self.images[nearest].view(y.shape)


def oracle_loader(run_dir, training_data):
    return NearestImage(training_data.train)


IMAGES = torch.rand(20, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
FAST = dict(h_0=0.5, sigma_L=0.05)  # the 2021 sampler with a larger first step: few calls


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A planted sweep (N = 1, 4) analysed once; its output dir is shared by the tests."""
    config = make_config(tmp_path_factory.mktemp("sweep"), **FAST)
    plant_runs(config)
    lines = []
    results = analyze_sweep(config, images=IMAGES, log=lines.append,
                            model_of=oracle_loader)
    return config, results, lines


def test_one_image_oracles_give_closed_form_results(planted):
    from gahr.train import select

    config, results, _ = planted
    record = results["per_n"]["1"]
    train = {s: select(IMAGES, pair_jobs(config)[1][s].config.data).train for s in ("S1", "S2")}
    for split in ("S1", "S2"):
        assert record[split]["converged"] == 3
        assert record[split]["nearest_own"]["index"] == [0, 0, 0]
        assert record[split]["nearest_own"]["similarity"] == pytest.approx([1.0] * 3, abs=1e-5)
        for key in ("distance_to_memorization", "distance_to_memorization_train"):
            for value in record[split][key].values():
                assert value == pytest.approx(0.0, abs=1e-10)
        assert record[split]["fraction_above"]["0.95"] == 1.0
    expected = float(mem.cosine_similarity(train["S1"], train["S2"])[0])
    assert record["same_seed_similarity"] == pytest.approx([expected] * 3, abs=1e-5)
    assert [row["N"] for row in results["table"]] == [1, 4]


def test_memorizing_models_at_n4_copy_their_own_set(planted):
    _, results, _ = planted
    row = results["table"][1]
    # Samples of the empirical oracle converge onto training images of its own set.
    assert row["median_nearest_S1"] > 0.99 and row["median_nearest_S2"] > 0.99
    assert row["median_nearest_other_S1"] < row["median_nearest_S1"]
    assert row["ratio_test_S1"] == 1.0  # near-copies pass Gu et al.'s test
    for split in ("S1", "S2"):  # memorizers restore their own images (to inf dB), not others
        psnr = results["per_n"]["4"][split]["psnr"]
        for key, test_db in psnr["test"].items():
            assert psnr["train"][key] is None or psnr["train"][key] > test_db + 3


def test_outputs_are_written_and_a_rerun_skips_finished_work(planted):
    config, results, _ = planted
    out = Path(config.sweep.out) / "memorization"
    for name in ("results.json", "N1.json", "N4.npz", "report.html", "figures/grid.png",
                 "figures/grid_N4.png", "figures/similarity_N4.png", "figures/psnr_vs_n.png",
                 "figures/similarity_vs_n.png"):
        assert (out / name).exists(), name
    assert json.loads((out / "results.json").read_text())["table"] == results["table"]
    stamps = {p.name: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    lines = []
    analyze_sweep(config, images=None, log=lines.append, model_of=oracle_loader)
    assert sum("skipped" in line for line in lines) == 2  # no data was even loaded
    assert {p.name: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamps


def test_a_rerun_redraws_missing_figures(planted):
    config, _, _ = planted
    out = Path(config.sweep.out) / "memorization"
    shutil.rmtree(out / "figures")
    lines = []
    analyze_sweep(config, images=None, log=lines.append, model_of=oracle_loader)
    assert not any("up to date" in line for line in lines)
    assert (out / "figures" / "grid.png").exists() and (out / "figures" / "grid_N4.png").exists()


def test_changed_settings_make_a_finished_n_stale(planted):
    config, _, _ = planted
    record = Path(config.sweep.out) / "memorization" / "N4.json"
    assert is_finished_n(record, config.memorization)
    assert not is_finished_n(record, replace(config.memorization, num_samples=2))
    assert not is_finished_n(record.with_name("N5.json"), config.memorization)


def test_bad_sweeps_raise_one_line_errors(tmp_path):
    config = make_config(tmp_path / "a")
    with pytest.raises(DataError, match="gahr sweep"):
        analyze_sweep(config, images=IMAGES)  # nothing trained
    plant_runs(config)
    job = pair_jobs(config)[4]["S2"]
    other = job.config.__class__(data=DataConfig(source="discs", size=16, n_train=4,
                                                 split="S2"))
    save_config(other, job.run_dir / "config.json")
    with pytest.raises(ShapeError, match="size") as info:
        analyze_sweep(config, images=IMAGES)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="S2"):
        analyze_sweep(make_config(tmp_path / "b", splits=("S1",)), images=IMAGES)
    with pytest.raises(ConfigError):
        MemorizationSection(sigmas=())
    bad = tmp_path / "bad.toml"
    bad.write_text("[data]\nsource = 'discs'\n")
    with pytest.raises(GahrError, match="sweep"):
        load_experiment(bad)


def test_presets_load():
    presets = sorted(Path(__file__).parents[1].glob("configs/experiments/*.toml"))
    assert presets, "configs/experiments/ holds the experiment presets"
    for path in presets:
        config = load_experiment(path)
        assert set(config.sweep.splits) >= {"S1", "S2"}, path


@pytest.mark.slow
@pytest.mark.parametrize("command", ["memorization", "sweep"])
def test_cli_trains_and_analyses_a_tiny_sweep(tmp_path, command):
    """`gahr memorization` (and `gahr sweep` on an experiment config) end to end: real
    training of 4 tiny nets, then the analysis."""
    from gahr.cli import main

    preset = Path(__file__).parents[1] / "configs" / "experiments" / "discs_demo.toml"
    args = [command, str(preset), "--out", str(tmp_path),
            "--quiet", "--set", "sweep.n_train=[1, 8]", "--set", "data.num_images=64",
            "--set", "data.size=12", "--set", "data.n_test=8", "--set", "train.epochs=1",
            "--set", "train.samples_per_epoch=256", "--set", "train.eval_images=8",
            "--set", "model.num_kernels=4", "--set", "model.num_blocks=1",
            "--set", "memorization.num_samples=2", "--set", "memorization.n_eval=8",
            "--set", "memorization.h_0=0.5", "--set", "memorization.sigma_L=0.05"]
    assert main(args) == 0
    saved = json.loads((tmp_path / "memorization" / "results.json").read_text())
    assert [row["N"] for row in saved["table"]] == [1, 8]
    if command == "memorization":
        assert main(args + ["--analysis-only"]) == 0  # everything finished: nothing recomputed


def test_runs_are_compared_by_the_image_size_their_model_saw(tmp_path):
    """A run trained at the source's native size (config data.size = None) records the size
    in model.json; that size, not the config's None, is compared with the sweep's [data]."""
    from gahr.rundir import RunDir
    from gahr.workflows.experiment import check_runs

    config = make_config(tmp_path / "native")
    plant_runs(config)
    for jobs in pair_jobs(config).values():
        for job in jobs.values():
            saved = json.loads((job.run_dir / "config.json").read_text())
            saved["data"]["size"] = None
            (job.run_dir / "config.json").write_text(json.dumps(saved))
            model = json.loads((job.run_dir / "model.json").read_text())
            model["meta"] = {**(model.get("meta") or {}), "image_size": [SIZE, SIZE]}
            (job.run_dir / "model.json").write_text(json.dumps(model))
    job = pair_jobs(config)[4]["S2"]
    run = RunDir(job.run_dir)
    assert (run.image_size(), run.data_source()) == ((SIZE, SIZE), "discs")
    check_runs(pair_jobs(config), config.data)  # size 8 in [data], None + meta 8x8 in the runs
    with pytest.raises(ShapeError, match="size"):
        check_runs(pair_jobs(config), replace(config.data, size=SIZE * 2))


def test_the_summary_grid_shows_the_median_seed_of_the_finished_pairs():
    from gahr.workflows.experiment_report import median_seed

    # similarities by seed; None: a pair where a sample failed
    assert median_seed([0.2, None, 0.9, 0.5, 0.7]) == 3  # finished 0.2, 0.5, 0.7, 0.9 -> 0.5
    assert median_seed([0.9, 0.1, 0.4]) == 2
    assert median_seed([None, None]) is None
