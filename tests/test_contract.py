"""The denoiser contract: conditional models get their noise level, residual nets are refused,
loaders are found by spec prefix and can be added from outside (closed forms throughout)."""

import math
import warnings

import pytest
import torch

import gahr
from gahr import GahrError
from gahr.analysis import effective_dimension, effective_dimension_curve, eigen, jacobian
from gahr.metrics import evaluate
from gahr.nets import (
    LOADERS,
    Denoiser,
    UNet,
    as_denoiser,
    denoise,
    estimate_sigma,
    load_denoiser,
    register_loader,
    save,
)
from gahr.sample import Schedule, synthesize


class WhiteWiener(torch.nn.Module):
    """The MMSE denoiser of x ~ N(0, v I) at a given sigma: x_hat = v / (v + sigma^2) y. It
    needs sigma (a conditional model), and records every sigma it is handed."""

    blind = False
    channels, image_size, meta = 1, 8, {}

    def __init__(self, v: float = 0.04):
        super().__init__()
        self.v, self.seen = v, []

    def forward(self, y, sigma=None):
        if sigma is None:
            raise AssertionError("a conditional model must be handed sigma")
        s = torch.as_tensor(sigma, dtype=y.dtype, device=y.device).reshape(-1, 1, 1, 1)
        self.seen.append(s.flatten().clone())
        return self.v / (self.v + s**2) * y


def test_a_conditional_model_is_a_denoiser_of_the_protocol():
    assert isinstance(WhiteWiener(), gahr.DenoiserProtocol)
    assert isinstance(Denoiser(UNet(num_kernels=4, num_blocks=1)), gahr.DenoiserProtocol)


@pytest.mark.parametrize("analysis", [
    lambda f, y: effective_dimension(f, y),
    lambda f, y: eigen(f, y, k=2),
    lambda f, y: jacobian(f, y, rows=[0]),
    lambda f, y: evaluate(f, y, [0.1]),
    lambda f, y: synthesize(f, (1, 8, 8), 1),
])
def test_a_residual_net_handed_to_an_analysis_is_refused(analysis):
    net = UNet(num_kernels=4, num_blocks=1).eval()
    with pytest.raises(GahrError, match="residual net"):
        analysis(net, torch.rand(1, 1, 8, 8))
    analysis(Denoiser(net), torch.rand(1, 1, 8, 8))  # the wrapped net passes the gate


def test_the_blind_net_ignores_sigma():
    den = Denoiser(UNet(num_kernels=4, num_blocks=1))
    y = torch.rand(2, 1, 8, 8)
    assert torch.equal(den(y, sigma=0.3), den(y))


def test_effective_dimension_of_a_conditional_model_at_its_sigma_is_the_closed_form():
    f, v, s = WhiteWiener(), 0.04, 0.1
    y = torch.randn(1, 1, 8, 8)
    exact = 64 * v / (v + s**2)
    assert effective_dimension(f, y, sigma=s).value == pytest.approx(exact, rel=1e-5)
    curve = effective_dimension_curve(f, torch.zeros(1, 1, 8, 8), [0.05, 0.2])
    for row in curve:
        assert row["effective_dimension"] == pytest.approx(
            64 * v / (v + row["sigma"] ** 2), rel=1e-5)


def test_estimate_sigma_is_the_fixed_point_of_the_residual_norm():
    # residual = sigma^2 / (v + sigma^2) y, so |residual| / sqrt(d) = sigma solves
    # sigma^2 - a sigma + v = 0 with a = |y| / sqrt(d); the iteration finds the larger root
    # (real when a^2 >= 4 v: noise well above this full-dimensional prior's spread).
    f, v = WhiteWiener(), 0.04
    g = torch.Generator().manual_seed(0)
    y = (0.2 * torch.randn(3, 1, 8, 8, dtype=torch.float64, generator=g)
         + torch.tensor([0.45, 0.6, 0.9], dtype=torch.float64).view(3, 1, 1, 1)
         * torch.randn(3, 1, 8, 8, dtype=torch.float64, generator=g))
    a = y.flatten(1).norm(dim=1) / 8
    root = (a + (a**2 - 4 * v).sqrt()) / 2
    assert torch.allclose(estimate_sigma(f, y, iterations=500, tol=1e-12), root, rtol=1e-6)
    # used blind, the model is called at that estimate
    assert torch.allclose(denoise(f, y), v / (v + root.view(-1, 1, 1, 1) ** 2) * y, rtol=1e-3)


def test_evaluate_hands_a_conditional_model_each_sigma():
    f = WhiteWiener()
    evaluate(f, torch.rand(4, 1, 8, 8), [0.05, 0.2])
    assert sorted({round(float(s), 6) for seen in f.seen for s in seen}) == [0.05, 0.2]


def test_the_sampler_hands_a_conditional_model_the_level_of_each_iterate():
    f = WhiteWiener()
    schedule = Schedule(sigma_0=1.0, sigma_L=0.05, h_0=0.1, beta=0.5)
    out = synthesize(f, (1, 8, 8), 2, schedule, seeds=[0, 1], start_mean=0.0)
    assert out.samples.shape == (2, 1, 8, 8)
    assert torch.allclose(f.seen[0], torch.ones(2))  # y_0 is at sigma_0
    levels = torch.cat(f.seen)
    assert (levels < 1.0).any() and torch.isfinite(levels).all()


def test_a_user_defined_loader_is_found_by_its_prefix():
    register_loader("toytest", lambda rest, device: WhiteWiener(v=float(rest)))
    try:
        den = load_denoiser("toytest:0.25")
        assert isinstance(den, WhiteWiener) and den.v == 0.25
    finally:
        del LOADERS["toytest"]


def test_a_python_factory_loads(tmp_path):
    (tmp_path / "mymodel.py").write_text(
        "import torch\n"
        "def make(device='cpu'):\n"
        "    return lambda y, sigma=None: 0.5 * y\n")
    den = load_denoiser(f"python:{tmp_path / 'mymodel.py'}:make")
    y = torch.rand(1, 1, 4, 4)
    assert torch.equal(den(y), 0.5 * y)
    with pytest.raises(GahrError, match="no function"):
        load_denoiser(f"python:{tmp_path / 'mymodel.py'}:nope")


def test_a_factory_returning_a_residual_net_is_refused(tmp_path):
    (tmp_path / "net.py").write_text(
        "from gahr.nets import UNet\n"
        "def make():\n"
        "    return UNet(num_kernels=4, num_blocks=1).eval()\n")
    with pytest.raises(GahrError, match="residual net"):
        load_denoiser(f"python:{tmp_path / 'net.py'}:make")


def test_an_unknown_prefix_names_the_known_ones(tmp_path):
    with pytest.raises(GahrError, match="unknown model spec prefix 'nosuch'.*pretrained"):
        load_denoiser("nosuch:thing")


def test_path_and_pretrained_specs_still_load(tmp_path):
    net = UNet(num_kernels=4, num_blocks=1)
    save(net, tmp_path)
    assert isinstance(load_denoiser(tmp_path), Denoiser)
    assert isinstance(load_denoiser("pretrained:discs32"), Denoiser)


def test_gahr_load_is_deprecated_and_not_exported():
    assert "load" not in gahr.__all__
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        net = gahr.load("pretrained:discs32")
    assert any(issubclass(x.category, DeprecationWarning) for x in w)
    with pytest.raises(GahrError):
        as_denoiser(net)
    assert math.isfinite(float(gahr.nets.load_net("pretrained:discs32")(
        torch.rand(1, 1, 32, 32)).sum()))
