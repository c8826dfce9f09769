"""`gahr sample` and `gahr solve` end to end on a tiny saved net."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gahr.cli import main
from gahr.nets import UNet, save
from gahr.sample import make_operator


@pytest.fixture
def run_dir(tmp_path):
    torch.manual_seed(0)
    net = UNet(num_kernels=4, num_blocks=1)
    save(net.eval(), tmp_path / "run", meta={"mean_intensity": 0.4, "data": {"size": 8}})
    return tmp_path / "run"


def test_sample_writes_npz_and_grid(run_dir, tmp_path, capsys):
    out = tmp_path / "s" / "samples.npz"
    assert main(["sample", str(run_dir), "--n", "3", "--budget", "4", "--out", str(out),
                 "--quiet"]) == 0
    with np.load(out, allow_pickle=False) as f:
        assert f["samples"].shape == (3, 1, 8, 8)
        assert list(f["seeds"]) == [0, 1, 2] and (f["steps"] == 5).all()
    assert out.with_suffix(".png").exists()
    assert "3/3" in capsys.readouterr().out
    # the same seed gives the same samples
    again = tmp_path / "again.npz"
    main(["sample", str(run_dir), "--n", "3", "--budget", "4", "--out", str(again), "--quiet"])
    with np.load(out) as a, np.load(again) as b:
        assert np.array_equal(a["samples"], b["samples"])


def test_solve_reconstruction_is_consistent_with_the_measurement(run_dir, tmp_path):
    image = (np.random.default_rng(0).random((8, 8)) * 255).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "x.png")
    out = tmp_path / "sol"
    assert main(["solve", str(run_dir), "--task", "superres", "--factor", "2", "--input",
                 str(tmp_path / "x.png"), "--out", str(out), "--n", "2", "--quiet",
                 "--max-steps", "30", "--beta", "0.5"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"psnr", "ssim", "psnr_measured"} <= set(metrics) and len(metrics["psnr"]) == 2
    m = np.load(out / "measurement.npy")
    with np.load(out / "reconstruction.npz") as f:
        rec = torch.from_numpy(f["samples"])
        assert f["failed"].size == 0  # else the check below would compare fewer rows
    op = make_operator("superres", (1, 8, 8), factor=2)
    measured = op.measure(rec).numpy()
    assert measured.shape == (2, m.shape[-1]) and np.isfinite(measured).all()
    assert np.allclose(measured, np.broadcast_to(m, measured.shape), atol=1e-5)
    assert (out / "measured.png").exists()


def test_cli_errors_are_one_line(run_dir, tmp_path, capsys):
    assert main(["solve", str(run_dir), "--task", "inpaint", "--out", str(tmp_path)]) == 2
    assert "either an input image" in capsys.readouterr().err
    assert main(["sample", str(tmp_path / "nowhere"), "--out", str(tmp_path / "a.npz")]) == 2
