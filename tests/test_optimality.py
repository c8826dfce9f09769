"""MSE curves, log-log slopes, the PSNR-slope conversion and the wavelet baseline."""

import numpy as np
import pytest
import torch

from gahr.analysis.optimality import (
    fit_loglog_slope,
    log_sigmas,
    markdown_table,
    mse_curve,
    optimal_mse_slope,
    psnr_slope,
    slope_row,
    wavelet_mse_curve,
)
from gahr.analysis.wavelets import WaveletDenoiser, best_threshold_mse, wavelet_threshold
from gahr.errors import ConfigError
from gahr.metrics import psnr_db


def test_mse_curve_of_a_shrinkage_has_its_closed_form():
    # x = 0 and x_hat = a y: MSE = a^2 sigma^2 mean(z^2), so slope exactly 2 (shared noise)
    a = 0.3
    images = torch.zeros(5, 1, 16, 16)
    sigmas = log_sigmas(0.01, 0.5, 6)
    mse = mse_curve(lambda y: a * y, images, sigmas, seed=3, batch_size=2)
    np.testing.assert_allclose(mse / (a**2 * sigmas**2), 1.0, rtol=0.05)
    np.testing.assert_allclose(mse / (a**2 * sigmas**2), mse[0] / (a**2 * sigmas[0]**2), rtol=1e-6)
    fit = fit_loglog_slope(sigmas, mse)
    assert fit.slope == pytest.approx(2.0, abs=1e-6) and fit.points == 6


def test_mse_curve_power_law_denoiser():
    # x_hat = x + c sigma^(p/2) z exactly when the denoiser knows x and z: the MSE law c^2 sigma^p
    x = torch.rand(3, 1, 8, 8)
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(7))
    p, c = 1.2, 0.5

    def den(y):
        sigma = float(((y - x) / z).mean())  # the sigma used, recovered exactly
        return x + c * sigma ** (p / 2) * z

    sigmas = log_sigmas(0.02, 0.4, 5)
    mse = mse_curve(den, x, sigmas, seed=7)
    np.testing.assert_allclose(mse, c**2 * sigmas**p * float((z**2).mean()), rtol=1e-4)
    assert fit_loglog_slope(sigmas, mse).slope == pytest.approx(p, abs=1e-4)


def test_slope_fit_uses_only_the_range():
    sigmas = log_sigmas(0.001, 1.0, 13)
    # continuous at sigma = 0.01: slope 2 below it, 1.4 above
    mse = np.where(sigmas < 0.01, sigmas**2 * (0.01**1.4 / 0.01**2), sigmas**1.4)
    fit = fit_loglog_slope(sigmas, mse, (0.01, 1.0))
    assert fit.slope == pytest.approx(1.4, abs=1e-9)
    assert fit_loglog_slope(sigmas, mse).slope < 1.6  # the kink bends a fit over everything
    with pytest.raises(ConfigError, match="fewer than 2"):
        fit_loglog_slope(sigmas, mse, (0.5, 0.6))


def test_psnr_slope_is_half_the_mse_slope():
    # check the derivation numerically: regress PSNR_out on PSNR_in for an MSE power law
    sigmas = log_sigmas(0.01, 0.3, 8)
    for s in [0.8, 4 / 3, 1.5, 2.0]:
        mse = 0.7 * sigmas**s
        slope = np.polyfit(psnr_db(sigmas**2), psnr_db(mse), 1)[0]
        assert psnr_slope(s) == pytest.approx(slope, abs=1e-9)
    # the paper's optimum alpha / (alpha + 1) for alpha = 1, 2, 3, 5
    opt = [psnr_slope(optimal_mse_slope(a)) for a in (1, 2, 3, 5)]
    np.testing.assert_allclose(opt, [0.5, 2 / 3, 0.75, 5 / 6])


def test_table_row_and_markdown():
    sigmas = log_sigmas(0.01, 0.2, 4)
    row = slope_row("net", sigmas, 0.1 * sigmas**1.5, (0.01, 0.2), alpha=3)
    assert row["slope"] == pytest.approx(1.5) and row["psnr_slope"] == pytest.approx(0.75)
    assert row["optimal_psnr_slope"] == pytest.approx(0.75)
    md = markdown_table([row, slope_row("wavelets", sigmas, sigmas, None)])
    assert md.count("\n") == 4 and "| net | 3 | 0.750 | 0.750 | 1.500 | 1.500 |" in md


def test_wavelet_threshold_zero_is_identity_and_infinite_keeps_the_approximation():
    g = torch.Generator().manual_seed(0)
    y = torch.randn(4, 2, 32, 32, generator=g)
    for wavelet in ["haar", "db4"]:
        torch.testing.assert_close(wavelet_threshold(y, 0.0, wavelet), y, atol=1e-5, rtol=0)
    # orthonormal: white noise keeps variance 1 on the 4x4 approximation of a 3-level transform,
    # so the kept energy is 16 / 1024 of the total on average
    kept = wavelet_threshold(y, 1e9, "haar", level=3)
    assert float((kept**2).mean()) == pytest.approx(16 / 1024, rel=0.2)
    smooth = wavelet_threshold(torch.ones(1, 1, 32, 32), 1e9, "db4", level=2)
    torch.testing.assert_close(smooth, torch.ones(1, 1, 32, 32), atol=1e-5, rtol=0)


def test_best_threshold_is_the_grid_minimum():
    x = torch.zeros(2, 1, 32, 32)
    x[..., 8:24, 8:24] = 1.0
    sigma = 0.1
    y = x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    mse, t = best_threshold_mse(x, y, sigma, grid=(0.5, 3.0, 10.0), wavelet="haar")
    each = [float(((WaveletDenoiser(c * sigma, "haar")(y) - x) ** 2).mean()) for c in (0.5, 3, 10)]
    assert mse == pytest.approx(min(each))
    assert t == pytest.approx((0.5, 3.0, 10.0)[int(np.argmin(each))] * sigma)
    assert mse < sigma**2 / 5  # a sparse image: thresholding removes most of the noise
    curve, ts = wavelet_mse_curve(x, [0.05, 0.1], seed=1, wavelet="haar")
    assert curve[1] == pytest.approx(mse) and ts.shape == (2,)


def test_bad_input():
    with pytest.raises(ConfigError, match="unknown wavelet"):
        WaveletDenoiser(1.0, "nope")
    with pytest.raises(ConfigError, match="not orthogonal"):
        WaveletDenoiser(1.0, "bior2.2")
    with pytest.raises(ConfigError, match="> 0"):
        mse_curve(lambda y: y, torch.zeros(1, 1, 4, 4), [0.1, -1])
    with pytest.raises(ConfigError, match="alpha"):
        optimal_mse_slope(0)
