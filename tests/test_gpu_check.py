"""benchmarks/gpu_check.py runs every paper preset end to end (on a CPU: 2 steps at batch 4)."""

import pytest
from conftest import load_script


def _load():
    return load_script("benchmarks/gpu_check.py")


def test_the_check_shrinks_a_preset_to_a_few_steps_on_generated_images():
    from gahr.config import load_config

    check = _load()
    presets = sorted(check.PAPER.glob("*.toml"))
    assert {p.stem for p in presets} >= {"celeba80_unet", "calpha80_unet", "discs80_unet"}
    config = load_config(presets[0], check.overrides(3, 4, "cpu", "x.npy"))
    assert config.train.samples_per_epoch == 12 and config.train.batch_size == 4
    assert config.model.config["num_kernels"] == 64 and config.model.config["num_blocks"] == 3


@pytest.mark.slow
def test_gpu_check_runs_every_paper_preset_for_two_steps(capsys):
    check = _load()
    assert check.main(["--steps", "2"]) == 0
    out = capsys.readouterr().out
    for name in ("celeba80_unet", "calpha80_unet", "discs80_unet"):
        assert f"{name}: batch" in out
