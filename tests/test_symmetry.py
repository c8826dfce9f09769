"""The five asymmetry ratios of J(y): closed forms on linear maps, zero on symmetric oracles."""

import math

import pytest
import torch
from test_jacobian import tiny_unet

from gahr.analysis.eigen import eigen
from gahr.analysis.symmetry import (
    MEASURES,
    asymmetry_on_y,
    symmetry,
    symmetry_curve,
    symmetry_of,
)
from gahr.errors import ShapeError
from gahr.oracles import EmpiricalOracle, GaussianOracle, power_law


def _linear(A):
    def den(y):
        return (y.reshape(y.shape[0], -1) @ A.T.to(y)).reshape(y.shape)
    return den


def _rotated_shrinkage(a=0.07, lam_top=0.9):
    """J = Q (diag(lam) + a R) Q^T, R the rotation of the top eigenpair (equal eigenvalues
    lam_top): the block lam_top I + a R is normal, so every ratio has a closed form."""
    g = torch.Generator().manual_seed(3)
    Q, _ = torch.linalg.qr(torch.randn(16, 16, generator=g, dtype=torch.float64))
    lam = torch.tensor([lam_top, lam_top, 0.5] + [0.02] * 13, dtype=torch.float64)
    R = torch.zeros(16, 16, dtype=torch.float64)
    R[0, 1], R[1, 0] = 1.0, -1.0
    c = torch.arange(1.0, 17.0, dtype=torch.float64) / 10  # y = Q c
    return Q @ (torch.diag(lam) + a * R) @ Q.T, Q @ c, lam, c


def test_closed_forms_of_a_known_asymmetric_map():
    a, l_top = 0.07, 0.9
    J, y, lam, c = _rotated_shrinkage(a, l_top)
    s = symmetry_of(J, y)
    anti = 2 * a * math.sqrt(2)  # ||J - J^T||_F = 2a ||R||_F
    assert s.top_dim == 3  # round(tr J) = round(0.9 + 0.9 + 0.5 + 13 * 0.02)
    assert s.frobenius == pytest.approx(anti / math.sqrt(float((lam**2).sum()) + 2 * a**2))
    assert s.residual == pytest.approx(anti / math.sqrt(float(((1 - lam)**2).sum()) + 2 * a**2))
    assert s.spectral == pytest.approx(2 * a / math.hypot(l_top, a))
    assert s.retained == pytest.approx(anti / math.sqrt(2 * l_top**2 + 2 * a**2 + 0.25))
    pair = float(c[0]**2 + c[1]**2)
    Jy = math.sqrt((l_top**2 + a**2) * pair + float((lam[2:]**2 * c[2:]**2).sum()))
    assert s.on_y == pytest.approx(2 * a * math.sqrt(pair) / Jy)
    # the same through a denoiser (dense Jacobian by autograd) and matrix-free
    y_img = y.float().reshape(1, 1, 4, 4)
    via_net = symmetry(_linear(J.float()), y_img)
    for name in MEASURES:
        assert getattr(via_net, name) == pytest.approx(getattr(s, name), rel=1e-4)
    assert asymmetry_on_y(_linear(J.float()), y_img) == pytest.approx(s.on_y, rel=1e-4)


def test_symmetric_oracles_give_zero():
    oracle = GaussianOracle(power_law(2.0, 0.04, f0=1 / 8), (1, 8, 8))
    y = torch.rand(1, 1, 8, 8)
    wiener = symmetry(lambda v: oracle.wiener(v, 0.1), y)
    # the empirical MMSE denoiser: nonlinear, and J = Cov[x | y] / sigma^2 is symmetric
    train = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    memorizer = symmetry(EmpiricalOracle(train.double(), sigma=0.3), y.double())
    for s in (wiener, memorizer):
        for name in MEASURES:
            assert getattr(s, name) < 1e-5, name


def test_on_y_is_twice_the_error_of_the_shrinkage_reading():
    """x_hat = J y for a bias-free net; the eigen-shrinkage sum_k lambda_k <y, e_k> e_k is S y,
    S = (J + J^T) / 2, so ||x_hat - S y|| / ||x_hat|| = on_y / 2."""
    net = tiny_unet()
    y = torch.rand(1, 1, 8, 8)
    basis = eigen(net, y)
    E = basis.e_k.reshape(64, -1).double()
    shrunk = (basis.lambda_k * basis.coefficients(y)) @ E
    x_hat = net(y).detach().reshape(-1).double()
    err = float(torch.linalg.norm(x_hat - shrunk) / torch.linalg.norm(x_hat))
    assert basis.asymmetry_y > 0.01  # a random net: the identity is not trivially 0 = 0
    assert err == pytest.approx(basis.asymmetry_y / 2, rel=1e-3)
    assert symmetry(net, y).on_y == pytest.approx(basis.asymmetry_y, rel=1e-4)
    top = eigen(net, y, k=3)
    assert top.asymmetry_y == pytest.approx(basis.asymmetry_y, rel=1e-4)


def test_curve_shares_the_noise_and_names_every_measure():
    net = tiny_unet()
    x = torch.rand(1, 1, 8, 8)
    rows = symmetry_curve(net, x, [0.05, 0.2], seed=4)
    assert [r["sigma"] for r in rows] == [0.05, 0.2]
    assert set(MEASURES) <= set(rows[0])
    assert rows == symmetry_curve(net, x, [0.05, 0.2], seed=4)
    assert rows[0]["frobenius"] != rows[1]["frobenius"]


def test_bad_shapes():
    with pytest.raises(ShapeError, match="square"):
        symmetry_of(torch.eye(4)[:3], torch.rand(4))


def test_symmetry_cli_table_matches_the_library(tmp_path, capsys):
    import json

    from gahr.cli import main
    from gahr.metrics import noise_sample
    from gahr.nets import save
    from gahr.workflows.test_images import TEST_SEED, fresh_test_images

    net = tiny_unet()
    save(net.net, tmp_path / "run")
    (tmp_path / "run" / "config.json").write_text(
        json.dumps({"data": {"source": "discs", "size": 16}}))
    out = tmp_path / "out"
    assert main(["symmetry", str(tmp_path / "run"), "--sigmas", "0.05", "0.2", "--n-images",
                 "1", "--out", str(out)]) == 0
    assert "| 51/255 |" in capsys.readouterr().out
    rows = json.loads((out / "symmetry.json").read_text())["rows"][str(tmp_path / "run")]
    x, _ = fresh_test_images(tmp_path / "run", 1)
    y = x + 0.2 * noise_sample(x.shape, TEST_SEED)
    expect = symmetry(net, y)
    for name in MEASURES:
        assert rows[1][name] == pytest.approx(getattr(expect, name), rel=1e-4)
    assert (out / "symmetry.md").exists() and list(out.glob("symmetry_*.png"))


def test_symmetry_rows_denoise_a_conditional_model_at_the_true_sigma():
    """The PSNR column of `gahr symmetry` hands a conditional model the sigma of the noise,
    as its Jacobians are taken at: D(y, sigma) = y / (1 + sigma) here, linear, symmetric."""
    from gahr.metrics import noise_sample, psnr
    from gahr.workflows.symmetry_files import model_rows

    class Shrink(torch.nn.Module):
        blind, channels, image_size, meta = False, 1, None, {}

        def forward(self, y, sigma=None):
            assert sigma is not None
            return y / (1 + torch.as_tensor(sigma).reshape(-1, 1, 1, 1))

    x = torch.rand(1, 1, 6, 6)
    (row,) = model_rows(Shrink(), x, [0.3], seed=5)
    y = x + 0.3 * noise_sample(x.shape, 5)
    assert row["psnr_denoised"] == pytest.approx(psnr(y / 1.3, x), abs=1e-6)
    assert row["frobenius"] == pytest.approx(0.0, abs=1e-6)
