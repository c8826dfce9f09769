"""EDM preconditioning (Karras et al. 2022, Table 1) against its closed form, and the
`diffusers_unet` architecture it wraps: the contract, the objective's identity, save/load."""

import math
import sys

import pytest
import torch
from torch import nn

import gahr
from gahr.errors import ConfigError, GahrError, ShapeError
from gahr.nets import ARCHITECTURES, build, estimate_sigma, load_denoiser
from gahr.nets.edm import EDMPrecond, edm_weight
from gahr.train.objective import EDMObjective, objective_of

TINY_UNET = dict(channels=1, sample_size=8, block_out_channels=[8, 16], norm_num_groups=4)


class Linear(nn.Module):
    """F(x, c) = a x + c b, a toy raw network of known output (float64)."""

    def __init__(self, a=0.7, b=-0.3):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x, c_noise):
        return self.a * x + self.b * c_noise.reshape(-1, 1, 1, 1)


def closed_form(y, sigma, lo, hi, s_d, a, b):
    """Table 1 of EDM written out for one image of F(x, c) = a x + c b, model range [lo, hi]."""
    sc = hi - lo
    yp, sp = y * sc + lo, sigma * sc
    c_skip = s_d**2 / (sp**2 + s_d**2)
    c_out = sp * s_d / math.sqrt(sp**2 + s_d**2)
    c_in = 1 / math.sqrt(sp**2 + s_d**2)
    c_noise = math.log(sp) / 4
    x_hat = c_skip * yp + c_out * (a * c_in * yp + b * c_noise)
    return (x_hat - lo) / sc


@pytest.mark.parametrize("data_range, lo, hi", [("[-1,1]", -1.0, 1.0), ("[0,1]", 0.0, 1.0)])
def test_precond_equals_its_closed_form_on_a_linear_module(data_range, lo, hi):
    g = torch.Generator().manual_seed(0)
    y = torch.rand(3, 1, 4, 4, generator=g, dtype=torch.float64)
    sigma = torch.tensor([0.01, 0.3, 1.7], dtype=torch.float64)
    den = EDMPrecond(Linear(), sigma_data=0.37, data_range=data_range)
    out = den(y, sigma=sigma)
    for i in range(3):
        want = closed_form(y[i], float(sigma[i]), lo, hi, 0.37, 0.7, -0.3)
        torch.testing.assert_close(out[i], want, rtol=1e-12, atol=1e-12)
    assert den.blind is False


def test_a_zero_network_gives_c_skip_times_y_and_sigma_zero_gives_y():
    class Zero(nn.Module):
        def forward(self, x, c_noise):
            return torch.zeros_like(x)

    y = torch.rand(2, 1, 5, 5, dtype=torch.float64)
    s_d, sigma = 0.5, 0.2
    c_skip = s_d**2 / (sigma**2 + s_d**2)
    torch.testing.assert_close(EDMPrecond(Zero(), s_d, "[0,1]")(y, sigma), c_skip * y)
    # In [-1, 1]: D'(y') = c_skip' y' with sigma' = 2 sigma, mapped back to [0, 1].
    c2 = s_d**2 / ((2 * sigma) ** 2 + s_d**2)
    torch.testing.assert_close(EDMPrecond(Zero(), s_d)(y, sigma), (c2 * (2 * y - 1) + 1) / 2)
    # sigma = 0: c_out = 0 and F stays finite (c_noise floored), so D is the identity exactly.
    assert torch.equal(EDMPrecond(Linear())(y, sigma=0.0), y)


def test_sigma_forms_agree_and_bad_sigmas_are_refused():
    den = EDMPrecond(Linear())
    y = torch.rand(2, 1, 4, 4)
    one = den(y, sigma=0.3)
    for form in (torch.tensor(0.3), torch.full((2,), 0.3), torch.full((2, 1, 1, 1), 0.3)):
        torch.testing.assert_close(den(y, sigma=form), one)
    with pytest.raises(ShapeError, match="3 values for 2 images"):
        den(y, sigma=torch.ones(3))
    # without sigma: the contract's fixed point sigma = ||y - D(y, sigma)|| / sqrt(d)
    torch.testing.assert_close(den(y), den(y, sigma=estimate_sigma(den, y)))
    with pytest.raises(ConfigError, match="data_range"):
        EDMPrecond(Linear(), data_range="[0,255]")
    with pytest.raises(ConfigError, match="lo < hi"):
        EDMPrecond(Linear(), data_range=(1, -1))
    torch.testing.assert_close(EDMPrecond(Linear(), data_range=(-1, 1))(y, 0.3), one)


def test_edm_objective_is_the_weighted_denoising_error():
    """||F - F_target||^2 = lambda(sigma') ||D'(x' + sigma' z) - x'||^2, lambda = 1 / c_out^2,
    summed over pixels and averaged over images (float64)."""
    torch.manual_seed(0)
    net = build("diffusers_unet", **TINY_UNET).double()
    objective = objective_of(net, None)
    assert isinstance(objective, EDMObjective)
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64)
    z = torch.randn_like(x)
    sigma = torch.tensor([0.02, 0.4, 1.0], dtype=torch.float64).reshape(3, 1, 1, 1)
    loss = objective(net, x.clone(), z.clone(), sigma)
    den = net.make_denoiser()
    x_hat = den(x + sigma * z, sigma=sigma)
    sigma_model = 2 * sigma
    weighted = edm_weight(sigma_model, 0.5) * (2 * x_hat - 2 * x).square()
    torch.testing.assert_close(loss, weighted.sum() / 3, rtol=1e-9, atol=0)


def test_diffusers_unet_meets_the_contract_and_round_trips(tmp_path):
    torch.manual_seed(0)
    net = build("diffusers_unet", **TINY_UNET)
    assert ARCHITECTURES["diffusers_unet"].bias_free is False
    with torch.no_grad():  # a random output layer, so that F matters
        net.unet.conv_out.weight.normal_()
    gahr.save(net, tmp_path, meta={"mean_intensity": 0.3})
    den = load_denoiser(tmp_path)
    assert isinstance(den, EDMPrecond) and den.blind is False and not den.training
    assert (den.channels, den.image_size, den.meta["mean_intensity"]) == (1, 8, 0.3)
    y = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(den(y, sigma=0.2), net.make_denoiser()(y, sigma=0.2))
        assert not torch.allclose(den(y, sigma=0.2), den(y, sigma=0.05))  # sigma is used
    with pytest.raises(ConfigError, match="residual net"):
        gahr.nets.as_denoiser(net)


def test_diffusers_unet_without_diffusers_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)
    with pytest.raises(GahrError, match=r"pip install -e \.\[diffusers\]"):
        build("diffusers_unet", **TINY_UNET)


def test_diffusers_unet_bad_settings_are_clear_errors():
    with pytest.raises(ConfigError, match="multiple of norm_num_groups"):
        build("diffusers_unet", channels=1, block_out_channels=[12, 16], norm_num_groups=8)
    with pytest.raises(ConfigError, match="not divisible"):
        build("diffusers_unet", channels=1, sample_size=10, block_out_channels=[8, 8, 8],
              norm_num_groups=4)
