"""The exact Jacobian: Euler's identity, agreement with the row-by-row reference, closed forms."""

import pytest
import torch

from gahr.analysis.jacobian import jacobian, jacobian_rowwise, linear_maps
from gahr.errors import ConfigError, DataError, ShapeError
from gahr.nets import BFCNN, Denoiser, UNet
from gahr.oracles import GaussianOracle, power_law


def _randomize_norms(net: torch.nn.Module) -> torch.nn.Module:
    """Give BF-norm layers non-trivial gains and running sds, so they are not the identity."""
    g = torch.Generator().manual_seed(1)
    for name, buf in list(net.named_buffers()) + list(net.named_parameters()):
        if name.endswith(("running_sd", "gain")):
            buf.data = 0.5 + torch.rand(buf.shape, generator=g)
    return net


def tiny_unet(channels=1):
    return Denoiser(_randomize_norms(UNet(channels=channels, num_kernels=4, num_blocks=2)))


def tiny_bfcnn():
    return Denoiser(_randomize_norms(BFCNN(num_kernels=4, num_layers=4)))


@pytest.mark.parametrize("make, shape", [(tiny_unet, (1, 8, 8)), (tiny_bfcnn, (1, 6, 7)),
                                         (lambda: tiny_unet(3), (3, 8, 8))])
def test_euler_identity_for_bias_free_nets(make, shape):
    den = make()
    y = torch.rand(1, *shape)
    J = jacobian(den, y, chunk_size=16)
    x_hat = den(y).detach().reshape(-1)
    torch.testing.assert_close(J @ y.reshape(-1), x_hat, rtol=1e-4, atol=1e-5)
    # Not a trivial identity: a different image has a different Jacobian.
    J2 = jacobian(den, torch.rand(1, *shape), chunk_size=16)
    assert (J - J2).abs().max() > 1e-3


@pytest.mark.parametrize("method", ["vjp", "jvp"])
def test_equals_row_by_row_reference(method):
    den = tiny_unet()
    y = torch.rand(1, 1, 8, 8)
    ref = jacobian_rowwise(den, y)
    # a chunk size that does not divide D = 64 exercises the last, short chunk
    torch.testing.assert_close(jacobian(den, y, chunk_size=7, method=method), ref,
                               rtol=1e-5, atol=1e-6)


def test_subset_of_rows():
    den = tiny_bfcnn()
    y = torch.rand(1, 1, 6, 6)
    full = jacobian(den, y)
    idx = [35, 0, 17]
    torch.testing.assert_close(jacobian(den, y, rows=idx, chunk_size=2), full[idx])
    torch.testing.assert_close(jacobian(den, y, rows=slice(3, 9)), full[3:9])
    torch.testing.assert_close(jacobian(den, y, rows=idx, method="rows"), full[idx],
                               rtol=1e-5, atol=1e-6)


def test_linear_denoiser_gives_its_matrix():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(48, 48, generator=g)

    def den(y):
        return (y.reshape(y.shape[0], -1) @ A.T).reshape(y.shape)

    y = torch.rand(3, 4, 4)
    torch.testing.assert_close(jacobian(den, y, chunk_size=10), A, rtol=0, atol=1e-6)
    torch.testing.assert_close(jacobian(den, y, method="jvp"), A, rtol=0, atol=1e-6)


def test_linear_maps_products_match_full_matrix():
    den = tiny_unet()
    y = torch.rand(1, 1, 8, 8)
    J = jacobian(den, y)
    x_hat, J_v, JT_v = linear_maps(den, y)
    V = torch.randn(5, 64)
    torch.testing.assert_close(J_v(V), V @ J.T, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(JT_v(V), V @ J, rtol=1e-4, atol=1e-5)
    for v in V[:2]:  # one vector at a time takes the reverse-over-reverse path
        torch.testing.assert_close(J_v(v[None]), v[None] @ J.T, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(x_hat, den(y))


def test_gaussian_oracle_jacobian_matches_closed_form():
    shape = (1, 8, 8)
    oracle = GaussianOracle(power_law(2.0, 0.04, f0=1 / 8), shape, mean=0.4)
    g = torch.Generator().manual_seed(0)
    x = oracle.sample(1, generator=g)
    y = x + 0.1 * torch.randn(x.shape, generator=g)
    assert oracle.estimate_sigma(y).item() > 0.05  # away from the ML estimate's s2 = 0 branch
    exact = oracle.jacobian_at(y)[0].float()
    J = jacobian(oracle, y, chunk_size=16)
    torch.testing.assert_close(J, exact, rtol=1e-4, atol=1e-6)
    # the blind oracle's J is not the known-sigma Wiener filter: the sigma estimate adds v u^T
    assert (J - oracle.jacobian(oracle.estimate_sigma(y).item()).float()).abs().max() > 1e-3


def test_bad_input_raises():
    den = tiny_unet()
    with pytest.raises(ShapeError, match="one image"):
        jacobian(den, torch.rand(2, 1, 8, 8))
    with pytest.raises(DataError, match="NaN"):
        jacobian(den, torch.full((1, 1, 8, 8), float("nan")))
    with pytest.raises(ConfigError, match="residual net"):
        jacobian(UNet(num_kernels=4, num_blocks=1).eval(), torch.rand(1, 1, 8, 8))
    with pytest.raises(ConfigError, match="training mode"):
        jacobian(torch.nn.BatchNorm2d(1).train(), torch.rand(1, 1, 8, 8))
    with pytest.raises(ShapeError, match="same shape"):
        jacobian(lambda y: y[..., :4], torch.rand(1, 1, 8, 8))
    with pytest.raises(ConfigError, match="chunk_size"):
        jacobian(den, torch.rand(1, 1, 8, 8), chunk_size=0)
    with pytest.raises(ShapeError, match="rows"):
        jacobian(den, torch.rand(1, 1, 8, 8), rows=[64])
    with pytest.raises(ConfigError, match="method"):
        jacobian(den, torch.rand(1, 1, 8, 8), method="magic")
