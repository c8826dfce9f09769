"""`gahr scaling`: the cell overrides, the command list, one tiny trained and measured cell."""

import json
import shlex

import pytest

from gahr.cli import main
from gahr.config import load_config
from gahr.workflows.scaling import cell_overrides, scaling_plan

TINY = """
[data]
source = "calpha"
num_images = 48
size = 16
n_test = 8
options = { alpha = 1.0 }

[model]
arch = "bfcnn"
num_kernels = 8
num_layers = 3

[train]
epochs = 4
samples_per_epoch = 64
batch_size = 16
lr = 1e-3
lr_halve_every = 2
eval_sigmas = ["25/255"]
eval_images = 8
device = "cpu"
threads = 1
"""


@pytest.fixture
def preset(tmp_path):
    path = tmp_path / "tiny_calpha.toml"
    path.write_text(TINY)
    return path


def test_cell_overrides_set_size_steps_and_a_scaled_schedule(preset):
    sets = cell_overrides(preset, 24, 40, 3.0, ["train.lr=2e-3"])
    config = load_config(preset, sets)
    assert config.data.size == 24 and config.data.options["alpha"] == 3
    steps = config.train.epochs * config.train.samples_per_epoch // config.train.batch_size
    assert steps == 40 and config.train.lr_halve_every == 5 and config.train.lr == 2e-3


def test_plan_lists_a_train_and_a_slopes_command_per_cell(preset, tmp_path):
    lines = scaling_plan(preset, tmp_path / "s", [16, 24], [8, 16], [1.0])
    assert len(lines) == 8
    train = shlex.split(lines[2])
    assert train[:3] == ["gahr", "train", str(preset)] and "data.size=16" in train
    assert train[-1] == str(tmp_path / "s" / "size16_steps16_alpha1")
    assert shlex.split(lines[3])[:3] == ["gahr", "slopes", train[-1]]


def test_scaling_trains_measures_and_resumes(preset, tmp_path, capsys):
    out = tmp_path / "s"
    args = ["scaling", str(preset), "--out", str(out), "--sizes", "16", "--steps", "4", "8",
            "--alphas", "1", "--n-images", "4", "--quiet"]
    assert main(args) == 0
    assert capsys.readouterr().out.count("| 16 |") == 2
    cells = json.loads((out / "scaling.json").read_text())
    assert [c["steps"] for c in cells] == [4, 8] and all(c["train_seconds"] for c in cells)
    assert cells[0]["optimum"] == pytest.approx(0.5) and (out / "scaling_floor.png").is_file()
    assert main(args) == 0  # every cell finished: nothing is trained or measured again
    again = json.loads((out / "scaling.json").read_text())
    assert again == cells
