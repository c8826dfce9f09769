"""`gahr optimality` and its library calls: files, closed-form rows, bad input."""

import json

import numpy as np
import pytest
from test_jacobian import tiny_unet

from gahr.cli import main
from gahr.errors import ConfigError
from gahr.nets import save
from gahr.workflows.optimality_files import calpha_optimality, disc_optimality


def test_calpha_identity_has_mse_slope_two(tmp_path):
    sigmas = [0.02, 0.05, 0.1]
    rows = calpha_optimality({"identity": lambda y: y, "zero-ish": lambda y: 0.5 * y}, alpha=2,
                             out=tmp_path, size=16, n_images=3, sigmas=sigmas, wavelet="haar")
    ident, wav = rows[0], rows[-1]
    assert ident["slope"] == pytest.approx(2.0, abs=1e-6)
    assert ident["psnr_slope"] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(ident["mse"], np.square(sigmas), rtol=0.15)
    assert ident["optimal_psnr_slope"] == pytest.approx(2 / 3)
    assert wav["name"].startswith("wavelets") and len(wav["thresholds"]) == 3
    assert all(w < i for w, i in zip(wav["mse"], ident["mse"]))  # thresholding beats nothing
    saved = json.loads((tmp_path / "optimality.json").read_text())
    assert saved["setup"]["alpha"] == 2 and len(saved["rows"]) == 3
    assert (tmp_path / "optimality.png").is_file()
    table = (tmp_path / "optimality.md").read_text()
    assert "| identity | 2 | 1.000 | 0.667 | 2.000 | 1.333 |" in table


def test_discs_identity_keeps_every_dimension(tmp_path):
    rows = disc_optimality({"identity": lambda y: y}, tmp_path, size=12, n_images=1,
                           sigmas=[0.05], disc_options={"background": False})
    r = rows["identity"][0]
    assert r["manifold_dim"] == 4 and r["effective_dimension"] == pytest.approx(144, rel=1e-5)
    for name in ["discs.json", "discs.md", "discs_effective_dimension.png", "discs_mse_ratio.png",
                 "discs_spectrum.png", "discs_eigenvectors_identity_sigma12.75.png"]:
        assert (tmp_path / name).is_file()
    table = (tmp_path / "discs.md").read_text().splitlines()
    assert table[2].startswith("| identity | 0.05 | 144.0 |")
    assert table[3].startswith("| optimum (projection on T_x) | small | 4 | 1 |")
    assert table[4] == ""  # the paper's row needs its 5-dimensional manifold
    assert table[7].startswith("| identity | 0 | ")  # the per-disc table: contrast, errors
    rows = disc_optimality({"identity": lambda y: y}, tmp_path / "c", size=12, n_images=3,
                           sigmas=[0.05], disc_options={"min_contrast": 0.5})
    contrast = json.loads((tmp_path / "c" / "discs.json").read_text())["setup"]["contrast"]
    assert len(contrast) == 3 and min(contrast) >= 0.5
    with pytest.raises(ConfigError, match="min_contrast=1.5"):
        disc_optimality({"identity": lambda y: y}, tmp_path, size=12,
                        disc_options={"min_contrast": 1.5})
    with pytest.raises(ConfigError, match="unknown disc options"):
        disc_optimality({"identity": lambda y: y}, tmp_path, size=12, disc_options={"bad": 1})


def test_optimality_cli(tmp_path, capsys):
    save(tiny_unet().net, tmp_path / "runA")
    save(tiny_unet().net, tmp_path / "runB")
    out = tmp_path / "out"
    args = ["optimality", str(tmp_path / "runA"), str(tmp_path / "runB"), "--out", str(out),
            "--size", "16", "--n-images", "2", "--sigmas", "5/255", "20/255", "50/255"]
    assert main(args + ["--data", "calpha", "--alpha", "3", "--wavelet", "haar"]) == 0
    printed = capsys.readouterr().out
    assert "| runA | 3 |" in printed and "| runB | 3 |" in printed and "wavelets" in printed
    assert main(args + ["--data", "calpha"]) == 2
    assert "--alpha" in capsys.readouterr().err
    assert main(args + ["--data", "discs", "--options", "{bad"]) == 2
    assert "JSON" in capsys.readouterr().err
    assert main(["optimality", str(tmp_path / "runA"), "--out", str(out), "--data", "discs",
                 "--size", "12", "--n-images", "1", "--sigmas", "0.05"]) == 0
    assert (out / "discs.md").read_text().count("| runA | 0.05 |") == 1  # one sigma, one row
