"""`gahr eigen`: files written, their contents consistent with the library, bad input."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from test_jacobian import tiny_unet

from gahr.analysis.jacobian import jacobian
from gahr.cli import main
from gahr.errors import ConfigError
from gahr.nets import save
from gahr.workflows.eigen_files import default_ranks


@pytest.fixture
def run_dir(tmp_path):
    den = tiny_unet()
    save(den.net, tmp_path / "run")
    return tmp_path / "run", den


def test_eigen_cli_from_png(run_dir, tmp_path, capsys):
    run, den = run_dir
    x = np.random.default_rng(0).integers(0, 256, (8, 8), dtype=np.uint8)
    Image.fromarray(x).save(tmp_path / "x.png")
    out = tmp_path / "out"
    assert main(["eigen", str(run), "--input", str(tmp_path / "x.png"), "--sigma255", "30",
                 "--out", str(out), "--ranks", "1", "5", "64", "--device", "cpu"]) == 0
    assert "PSNR" in capsys.readouterr().out
    for name in ["eigen.npz", "triple.png", "spectrum.png", "eigenvectors.png", "summary.json"]:
        assert (out / name).is_file()
    z = np.load(out / "eigen.npz", allow_pickle=False)
    np.testing.assert_allclose(z["x"].reshape(8, 8), x / 255, atol=1e-6)
    E = z["e_k"].reshape(64, 64).astype(np.float64)
    np.testing.assert_allclose(z["coefficients_x"] @ E, z["x"].ravel(), atol=1e-5)
    y = torch.from_numpy(z["y"])
    J = jacobian(den, y).double()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["effective_dimension"] == pytest.approx(float(J.trace()), rel=1e-4)
    assert summary["ranks"] == [1, 5, 64]
    # the noise is the seeded one: sigma * z with the recorded sigma
    assert np.std(z["y"] - z["x"]) == pytest.approx(30 / 255, rel=0.3)


def test_eigen_cli_from_npy_top_k(run_dir, tmp_path):
    run, _ = run_dir
    images = np.random.default_rng(1).random((3, 1, 8, 8)).astype(np.float32)
    np.save(tmp_path / "set.npy", images)
    out = tmp_path / "out"
    assert main(["eigen", str(run), "--input", str(tmp_path / "set.npy"), "--index", "2",
                 "--sigma", "0.1", "--k", "4", "--out", str(out)]) == 0
    z = np.load(out / "eigen.npz", allow_pickle=False)
    np.testing.assert_array_equal(z["x"], images[2:3])
    assert z["lambda_k"].shape == (4,) and z["e_k"].shape == (4, 1, 8, 8)
    assert json.loads((out / "summary.json").read_text())["effective_dimension"] is None


def test_eigen_cli_bad_input(run_dir, tmp_path, capsys):
    run, _ = run_dir
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "rgb.png")
    np.save(tmp_path / "set.npy", np.zeros((2, 1, 8, 8), np.float32))
    base = ["eigen", str(run), "--sigma", "0.1", "--out", str(tmp_path / "o")]
    assert main(base + ["--input", str(tmp_path / "set.npy"), "--index", "5"]) == 2
    assert "out of range" in capsys.readouterr().err
    assert main(base + ["--input", str(tmp_path / "set.npy"), "--ranks", "65"]) == 2
    assert "ranks" in capsys.readouterr().err
    (tmp_path / "junk.png").write_bytes(b"not an image")
    assert main(base + ["--input", str(tmp_path / "junk.png")]) == 2


def test_default_ranks():
    assert default_ranks(5) == [1, 2, 3, 4, 5]
    r = default_ranks(1024)
    assert r[:8] == list(range(1, 9)) and r[-1] == 1024 and len(r) == 16 and r == sorted(set(r))
    assert default_ranks(1024, top=40)[-1] == 40 and default_ranks(1024, top=12) == list(
        range(1, 13))


def test_eigen_cli_several_sigmas_on_fresh_test_images(run_dir, tmp_path, capsys):
    """Without --input the image is a fresh one of the run's training class; --sigmas writes a
    folder per sigma, the same noise draw scaled, and one table."""
    run, den = run_dir
    (run / "config.json").write_text(json.dumps({"data": {"source": "discs", "size": 16}}))
    out = tmp_path / "out"
    assert main(["eigen", str(run), "--sigmas", "10/255", "40/255", "--out", str(out),
                 "--quiet"]) == 0
    assert capsys.readouterr().out.count("PSNR") == 2
    lo, hi = (np.load(out / f"sigma{s}" / "eigen.npz", allow_pickle=False) for s in (10, 40))
    np.testing.assert_array_equal(lo["x"], hi["x"])
    np.testing.assert_allclose((hi["y"] - hi["x"]) / 40, (lo["y"] - lo["x"]) / 10, atol=1e-6)
    table = (out / "eigen_sigmas.md").read_text()
    assert "| 10/255 |" in table and "| 40/255 |" in table
    rows = json.loads((out / "eigen_sigmas.json").read_text())
    assert rows[0]["image"].startswith("1 fresh discs images")
    y = torch.from_numpy(lo["y"])
    J = jacobian(den, y).double()
    v = y.reshape(-1).double()
    on_y = float(((J - J.T) @ v).norm() / (J @ v).norm())
    assert rows[0]["asymmetry_y"] == pytest.approx(on_y, rel=1e-4)


def test_eigen_cli_without_input_needs_a_known_class(run_dir, tmp_path, capsys):
    run, _ = run_dir
    assert main(["eigen", str(run), "--sigma", "0.1", "--out", str(tmp_path / "o")]) == 2
    assert "--input" in capsys.readouterr().err
    assert main(["eigen", str(run), "--input", "x.png", "--out", str(tmp_path / "o")]) == 2
    assert "noise level" in capsys.readouterr().err


def test_fresh_test_images_of_a_file_source_are_the_runs_held_out_ones(run_dir, tmp_path):
    from gahr.config import DataConfig
    from gahr.train.dataset import select
    from gahr.workflows.test_images import fresh_test_images

    run, _ = run_dir
    images = torch.rand(20, 1, 16, 16, generator=torch.Generator().manual_seed(2))
    np.save(tmp_path / "set.npy", images.numpy())
    data = {"source": str(tmp_path / "set.npy"), "n_train": 12, "n_test": 4}
    (run / "config.json").write_text(json.dumps({"data": data}))
    got, what = fresh_test_images(run, 3)
    held = select(images, DataConfig(**data))
    train = {tuple(x.flatten().tolist()) for x in held.train}
    assert len(got) == 3 and "held-out" in what
    assert all(tuple(x.flatten().tolist()) not in train for x in got)
    assert all(any(torch.equal(x, t) for t in held.test) for x in got)
    with pytest.raises(ConfigError, match="--input"):
        fresh_test_images(run, 5)  # more than the 4 held out
