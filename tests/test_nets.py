"""Properties shared by every registered net (homogeneity and no biases: the bias-free ones), the
own weights format, and errors."""

import pytest
import torch
import torch.nn.functional as F

import gahr
from gahr.errors import ArchitectureError, CheckpointError, ShapeError
from gahr.nets import ARCHITECTURES, BFBatchNorm2d, Denoiser, build
from gahr.nets.layers import PAPER_GAIN_STD

TINY = {
    "unet": dict(channels=1, num_kernels=4, num_blocks=2),
    "bfcnn": dict(channels=1, num_kernels=4, num_layers=5),
    "diffusers_unet": dict(channels=1, sample_size=16, block_out_channels=[4, 8],
                           norm_num_groups=2),
}
TINY_COLOR = {
    "unet": dict(channels=3, num_kernels=4, num_blocks=1, num_enc_conv=1, num_mid_conv=1),
    "bfcnn": dict(channels=3, num_kernels=4, num_layers=3, first_layer_linear=True),
    "diffusers_unet": dict(channels=3, sample_size=8, block_out_channels=[4, 4],
                           norm_num_groups=2),
}
#: The families whose shared properties are homogeneity and no biases (not the conditional ones).
BIAS_FREE = sorted(a for a, cls in ARCHITECTURES.items() if getattr(cls, "bias_free", True))
CONDITIONAL = sorted(set(ARCHITECTURES) - set(BIAS_FREE))


def call(net, y):
    """The net's output on y: a bias-free net's residual, a conditional one's F(y, c_noise=0)."""
    return net(y) if getattr(net, "bias_free", True) else net(y, torch.zeros(len(y)))


def test_every_architecture_has_a_tiny_config():
    assert set(TINY) == set(ARCHITECTURES) == set(TINY_COLOR)


def trained_like(arch, config):
    """A net whose BF-norm running statistics are not all ones (a few train-mode passes)."""
    net = build(arch, **config)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            call(net, torch.rand(4, config["channels"], 16, 16))
        for m in net.modules():
            if isinstance(m, BFBatchNorm2d):
                m.gain.uniform_(0.5, 1.5)
    return net.eval()


def test_the_conditional_family_is_registered():
    assert CONDITIONAL == ["diffusers_unet"] and {"unet", "bfcnn"} <= set(BIAS_FREE)


@pytest.mark.parametrize("arch", BIAS_FREE)
@pytest.mark.parametrize("tiny", [TINY, TINY_COLOR], ids=["gray", "color"])
def test_homogeneous_of_degree_one(arch, tiny):
    """Bias-free: net(a*y) == a*net(y) for every a > 0 in eval mode, and net(0) == 0."""
    config = tiny[arch]
    net = trained_like(arch, config)
    y = torch.randn(3, config["channels"], 16, 16)
    with torch.no_grad():
        r = net(y)
        assert r.abs().max() > 0
        for a in [1e-3, 0.37, 2.0, 1e3]:
            torch.testing.assert_close(net(a * y), a * r, rtol=1e-4, atol=1e-5 * a)
        assert torch.count_nonzero(net(torch.zeros_like(y))) == 0


@pytest.mark.parametrize("arch", BIAS_FREE)
@pytest.mark.parametrize("size", [(16, 16), (15, 17), (9, 32)])
def test_output_shape_equals_input_shape(arch, size):
    net = build(arch, **TINY[arch]).eval()
    y = torch.rand(2, 1, *size)
    with torch.no_grad():
        assert net(y).shape == y.shape


def test_unet_pads_sizes_not_divisible_and_stays_homogeneous():
    net = trained_like("unet", TINY["unet"])
    y = torch.randn(2, 1, 13, 10)
    with torch.no_grad():
        torch.testing.assert_close(net(3.5 * y), 3.5 * net(y), rtol=1e-4, atol=1e-5)


def unet_without_padding(net, x):
    """The UNet's layers on x as they are, no padding and no crop: the reference path."""
    skips = []
    for block in net.encoder:
        x = block(x)
        skips.append(x)
        x = net.pool(x)
    x = net.middle(x)
    for b in reversed(range(len(net.decoder))):
        x = net.decoder[b](torch.cat([net.upsample[b](x), skips[b]], dim=1))
    return x


def test_unet_pads_only_sizes_not_divisible_by_its_multiple():
    """A multiple of 2**num_blocks = 4 goes through the layers as it is; any other size is
    replicate-padded up to the next multiple and the output cropped back."""
    net = trained_like("unet", TINY["unet"])
    y, z = torch.randn(1, 1, 13, 10), torch.randn(1, 1, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(net(z), unet_without_padding(net, z), rtol=0, atol=0)
        padded = F.pad(y, (0, 2, 0, 3), mode="replicate")  # 16 x 12
        torch.testing.assert_close(net(y), unet_without_padding(net, padded)[..., :13, :10],
                                   rtol=0, atol=0)
        # and the check has teeth: padding a divisible size anyway changes the output
        padded_anyway = unet_without_padding(net, F.pad(z, (0, 4, 0, 4), mode="replicate"))
        assert (net(z) - padded_anyway[..., :12, :12]).abs().max() > 1e-4


def test_bf_batchnorm_train_mode_divides_by_batch_sd_and_tracks_it():
    bn = BFBatchNorm2d(3)
    x = torch.randn(8, 3, 5, 5) * torch.tensor([1.0, 2.0, 4.0]).view(1, 3, 1, 1) + 1.0
    out = bn.train()(x)
    sd = torch.sqrt(x.var(dim=(0, 2, 3), unbiased=False) + 1e-5)
    torch.testing.assert_close(out, x / sd.view(1, 3, 1, 1) * bn.gain.view(1, 3, 1, 1))
    torch.testing.assert_close(bn.running_sd, 0.9 + 0.1 * sd)
    assert not any("bias" in n for n, _ in bn.named_parameters())


def test_bf_norm_gains_start_as_the_paper_code_draws_them():
    """N(0, (2/9/64)^2) clamped to +-0.025: mean 0, that std, both signs, within the clamp."""
    torch.manual_seed(0)
    g = torch.cat([BFBatchNorm2d(1000).gain.detach() for _ in range(20)])
    assert abs(g.mean()) < 4 * PAPER_GAIN_STD / len(g) ** 0.5
    assert g.std() == pytest.approx(PAPER_GAIN_STD, rel=0.02)
    assert g.abs().max() <= 0.025 and (g < 0).any() and (g > 0).any()


@pytest.mark.parametrize("arch", CONDITIONAL)
@pytest.mark.parametrize("size", [(16, 16), (8, 32)])
def test_conditional_output_shape_equals_input_shape(arch, size):
    net = build(arch, **TINY[arch]).eval()
    y = torch.rand(2, 1, *size)
    with torch.no_grad():
        assert call(net, y).shape == y.shape
        assert net.make_denoiser()(y, sigma=0.1).shape == y.shape


@pytest.mark.parametrize("arch", BIAS_FREE)
def test_a_fresh_net_is_close_to_the_identity_denoiser(arch):
    """With the paper's gains the residual of a fresh net is tiny: ||r(x)|| / ||x|| < 1e-3 on
    clean images (with gains 1 it is not)."""
    torch.manual_seed(0)
    x = torch.rand(4, 1, 32, 32)
    net = build(arch, **TINY[arch]).eval()
    with torch.no_grad():
        ratio = net(x).norm() / x.norm()
        for m in net.modules():
            if isinstance(m, BFBatchNorm2d):
                m.gain.fill_(1.0)
        ones = net(x).norm() / x.norm()
    assert ratio < 1e-3 < ones, (ratio, ones)


@pytest.mark.parametrize("arch", BIAS_FREE)
def test_bf16_autocast_keeps_homogeneity(arch):
    """f(a y) = a f(y) under bf16 autocast on CPU, to bf16 rounding: relative error < 2e-2
    (bf16 has 8 bits of mantissa, ~4e-3 relative per rounding, accumulated over the layers)."""
    net = trained_like(arch, TINY[arch])
    y = torch.rand(2, 1, 16, 16)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        for a in (0.1, 3.0, 40.0):
            lhs, rhs = net(a * y).float(), a * net(y).float()
            assert (lhs - rhs).norm() / rhs.norm() < 2e-2, a


@pytest.mark.parametrize("arch", BIAS_FREE)
def test_no_bias_parameters(arch):
    net = build(arch, **TINY[arch])
    names = [n for n, _ in net.named_parameters()]
    assert names and not any(n.endswith("bias") for n in names)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_save_load_round_trip_is_bit_exact(arch, tmp_path):
    net = trained_like(arch, TINY_COLOR[arch])
    gahr.save(net, tmp_path, meta={"mean_intensity": 0.42})
    for source in [tmp_path, tmp_path / "model.safetensors"]:
        loaded = gahr.nets.load_net(source)
        assert loaded.meta["mean_intensity"] == 0.42
        assert not loaded.training
        for (k, v), (k2, v2) in zip(net.state_dict().items(), loaded.state_dict().items()):
            assert k == k2 and torch.equal(v, v2)
        y = torch.rand(2, 3, 8, 8)
        with torch.no_grad():
            assert torch.equal(call(net, y), call(loaded, y))


def test_denoiser_returns_y_minus_residual_in_eval_mode():
    net = trained_like("unet", TINY["unet"]).train()
    d = Denoiser(net).train()
    assert not net.training and not d.training
    y = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(d(y), y - net(y))
    with pytest.raises(ShapeError, match="batch axis"):
        d(y[0])


def test_unknown_architecture_and_bad_settings_are_clear_errors():
    with pytest.raises(ArchitectureError, match="choose one of bfcnn, diffusers_unet, unet"):
        build("vit")
    with pytest.raises(ArchitectureError, match="num_blocks"):
        build("unet", num_blocks=0)
    with pytest.raises(ArchitectureError, match="unexpected keyword"):
        build("bfcnn", num_blocks=3)


def test_load_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        gahr.nets.load_net(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="holds no model.safetensors"):
        gahr.nets.load_net(tmp_path)
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"not a safetensors file at all")
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        gahr.nets.load_net(bad)


def test_unknown_pretrained_name_lists_the_available_ones():
    with pytest.raises(CheckpointError, match="no pretrained model 'nope'; available"):
        gahr.nets.load_net("pretrained:nope")
