"""The C^alpha slope table: the meaningful fit range, closed-form curves, files, bad input."""

import json

import numpy as np
import pytest
import torch
from test_jacobian import tiny_unet

from gahr.analysis.optimality import log_sigmas, meaningful_range, mse_curve, prior_mse
from gahr.cli import main
from gahr.errors import ConfigError
from gahr.nets import save
from gahr.workflows.slopes import alpha_models, measure_alpha, summarize


def test_meaningful_range_drops_the_floor_and_the_saturation():
    sigmas = log_sigmas(0.001, 1.0, 13)
    # a floor 1e-4 below sigma = 0.01, a power law sigma^(4/3) above, saturating at 0.05
    mse = np.clip(sigmas ** (4 / 3), 1e-4, 0.05)
    lo, hi = meaningful_range(sigmas, mse, floor=1e-4, saturation=0.05)
    keep = sigmas[(mse >= 4e-4) & (mse <= 0.0125)]
    assert (lo, hi) == (keep[0], keep[-1]) and len(keep) >= 3
    row = summarize({"alpha": 2.0, "sigmas": sigmas.tolist(), "net": mse.tolist(),
                     "wavelets": (sigmas**2).tolist(), "floor": 1e-4, "saturation": 0.05})
    assert row["net"] == pytest.approx(2 / 3) and row["optimum"] == pytest.approx(2 / 3)
    assert row["wavelets"] == pytest.approx(1.0) and row["paper"] == 0.61
    assert row["net_all"] < 0.6  # over every sigma the floor and saturation flatten the slope
    assert row["points"] == len(keep)
    # the widest run wins; fewer than 3 qualifying sigmas give no range
    assert meaningful_range([1, 2, 3, 4, 5, 6], [9, 1, 9, 9, 9, 1], 1, 100) == (3, 5)
    assert meaningful_range([1, 2, 3], [1, 9, 9], 1, 100) is None
    assert summarize({"alpha": 4.0, "sigmas": [1, 2, 3], "net": [1, 9, 9], "wavelets": [1, 2, 3],
                      "floor": 1, "saturation": 100})["net"] is None


def test_floor_and_saturation_of_closed_forms():
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    assert mse_curve(lambda y: y, x, [0.0])[0] == 0.0  # the identity keeps clean images
    mean = x.mean(0, keepdim=True)
    assert mse_curve(lambda y: mean.expand_as(y), x, [0.0, 0.3])[1] == pytest.approx(prior_mse(x))


def test_identity_has_slope_one_and_no_floor():
    m = measure_alpha(lambda y: y, 2.0, 16, 3, log_sigmas(0.01, 0.1, 4), seed=1, wavelet="haar",
                      options={})
    assert m["floor"] == 0.0 and len(m["wavelets"]) == 4
    row = summarize(m)
    assert row["net"] == pytest.approx(1.0, abs=1e-6) and row["points"] == 4
    assert row["noise_kept"] == pytest.approx(1.0, rel=0.1)  # the identity keeps all the noise


def test_slopes_cli_files(tmp_path, capsys):
    for a in (1, 2):
        save(tiny_unet().net, tmp_path / f"run{a}")
    out = tmp_path / "out"
    assert main(["slopes", str(tmp_path / "run{alpha}"), "--alphas", "1", "2", "--out", str(out),
                 "--n-images", "2", "--size", "16", "--sigmas", "5/255", "20/255", "50/255",
                 "--wavelet", "haar"]) == 0
    table = capsys.readouterr().out
    assert table.count("\n| 1 | 0.50 | 0.46 |") == 1 and "| 2 | 0.67 | 0.61 |" in table
    saved = json.loads((out / "slopes.json").read_text())
    assert saved["setup"]["models"] == {"1": str(tmp_path / "run1"), "2": str(tmp_path / "run2")}
    assert (out / "slopes.png").is_file() and (out / "slopes.npz").is_file()
    assert main(["slopes", str(tmp_path / "run1"), "--alphas", "1", "2", "--out", str(out)]) == 2
    assert "template" in capsys.readouterr().err


def test_alpha_models():
    assert alpha_models(["r/a{alpha}"], [1, 2.5]) == {1.0: "r/a1", 2.5: "r/a2.5"}
    with pytest.raises(ConfigError, match="one per alpha"):
        alpha_models(["a", "b"], [1])
