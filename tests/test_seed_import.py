"""Import of checkpoints saved by the paper's code: same outputs as that code."""

import json
from pathlib import Path

import pytest
import torch
from seed_reference import random_seed_bfcnn_state, random_seed_unet_state, seed_bfcnn, seed_unet

from gahr.cli import main
from gahr.errors import CheckpointError
from gahr.nets import load_net as load
from gahr.nets import load_seed_checkpoint

FIXTURES = Path(__file__).parent / "fixtures" / "seed_checkpoints"


def rel_err(a, b):
    return ((a - b).norm() / b.norm()).item()


def test_fixture_saved_by_the_paper_code_is_reproduced():
    config = json.loads((FIXTURES / "unet_k8_b2_config.json").read_text())
    expected = torch.load(FIXTURES / "unet_k8_b2_expected.pt", weights_only=True)
    net = load_seed_checkpoint(FIXTURES / "unet_k8_b2_state_dict.pt", "unet",
                               num_kernels=config["num_kernels"], num_blocks=config["num_blocks"],
                               num_channels=config["num_channels"])
    with torch.no_grad():
        out = net(expected["input"])
    assert rel_err(out, expected["output_residual"]) < 1e-5
    # The functional reference used below for other configs agrees with the paper code too.
    state = torch.load(FIXTURES / "unet_k8_b2_state_dict.pt", weights_only=True)
    ref = seed_unet(state, config["num_blocks"], expected["input"])
    assert rel_err(ref, expected["output_residual"]) < 1e-5


@pytest.mark.parametrize("channels,k,B,n_enc,n_mid,n_dec", [
    (1, 4, 1, 2, 2, 2), (1, 6, 3, 2, 2, 2), (3, 4, 2, 1, 1, 3), (1, 2, 4, 3, 1, 2)])
@pytest.mark.parametrize("prefix", ["", "module."])
def test_unet_any_config_matches_reference(tmp_path, channels, k, B, n_enc, n_mid, n_dec, prefix):
    g = torch.Generator().manual_seed(B * 10 + k)
    state = random_seed_unet_state(channels, k, B, n_enc, n_mid, n_dec, generator=g)
    path = tmp_path / "seed.pt"
    torch.save({prefix + key: v for key, v in state.items()}, path)
    net = load_seed_checkpoint(path, "unet", channels=channels, num_kernels=k, num_blocks=B,
                               num_enc_conv=n_enc, num_mid_conv=n_mid, num_dec_conv=n_dec)
    x = torch.randn(2, channels, 32, 32, generator=g)
    with torch.no_grad():
        assert rel_err(net(x), seed_unet(state, B, x)) < 1e-5


@pytest.mark.parametrize("k,L,linear", [(4, 5, False), (8, 20, True), (3, 2, False)])
@pytest.mark.parametrize("prefix", ["", "module."])
def test_bfcnn_any_config_matches_reference(tmp_path, k, L, linear, prefix):
    g = torch.Generator().manual_seed(L)
    state = random_seed_bfcnn_state(1, k, L, generator=g)
    path = tmp_path / "seed.pt"
    torch.save({prefix + key: v for key, v in state.items()}, path)
    net = load_seed_checkpoint(path, "bfcnn", num_kernels=k, num_layers=L,
                               first_layer_linear=linear)
    x = torch.randn(2, 1, 20, 20, generator=g)
    with torch.no_grad():
        assert rel_err(net(x), seed_bfcnn(state, L, x, linear)) < 1e-5


def test_first_layer_relu_matters():
    """The seed's BF_CNN applies a ReLU after the first conv unless first_layer_linear."""
    g = torch.Generator().manual_seed(1)
    state = random_seed_bfcnn_state(1, 4, 4, generator=g)
    x = torch.randn(1, 1, 12, 12, generator=g)
    assert rel_err(seed_bfcnn(state, 4, x, True), seed_bfcnn(state, 4, x, False)) > 1e-2


def test_mismatching_config_names_the_first_tensor(tmp_path):
    with pytest.raises(CheckpointError, match=r"'encoder.0.0.weight' has shape \(8, 1, 3, 3\)"):
        load_seed_checkpoint(FIXTURES / "unet_k8_b2_state_dict.pt", "unet", num_kernels=16,
                             num_blocks=2)
    with pytest.raises(CheckpointError, match="'encoder.0.5.weight'.*missing"):
        load_seed_checkpoint(FIXTURES / "unet_k8_b2_state_dict.pt", "unet", num_kernels=8,
                             num_blocks=2, num_enc_conv=3)
    state = torch.load(FIXTURES / "unet_k8_b2_state_dict.pt", weights_only=True)
    state["decoder.0.9.weight"] = torch.zeros(1, 8, 3, 3)
    torch.save(state, tmp_path / "extra.pt")
    with pytest.raises(CheckpointError, match="unexpected tensor 'decoder.0.9.weight'"):
        load_seed_checkpoint(tmp_path / "extra.pt", "unet", num_kernels=8, num_blocks=2)
    with pytest.raises(CheckpointError, match="not part of the paper's bfcnn layout"):
        load_seed_checkpoint(FIXTURES / "unet_k8_b2_state_dict.pt", "bfcnn", num_kernels=8)


def test_non_checkpoint_files_are_refused(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable PyTorch state dict"):
        load_seed_checkpoint(text, "unet")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="not a state dict"):
        load_seed_checkpoint(tmp_path / "list.pt", "unet")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_seed_checkpoint(tmp_path / "missing.pt", "unet")


def test_cli_convert_then_denoise_identically(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["convert", str(FIXTURES / "unet_k8_b2_state_dict.pt"), "--arch", "unet",
               "--num-kernels", "8", "--num-blocks", "2", "--out", str(out)])
    assert rc == 0 and "28768 parameters" in capsys.readouterr().out
    expected = torch.load(FIXTURES / "unet_k8_b2_expected.pt", weights_only=True)
    with torch.no_grad():
        assert rel_err(load(out)(expected["input"]), expected["output_residual"]) < 1e-5


@pytest.mark.parametrize("argv,message", [
    (["--arch", "vit"], "unknown architecture 'vit'"),
    (["--arch", "unet", "--num-kernels", "16", "--num-blocks", "2"], "encoder.0.0.weight"),
    (["--arch", "bfcnn"], "not part of the paper's bfcnn layout"),
])
def test_cli_errors_are_one_line_exit_2(tmp_path, capsys, argv, message):
    rc = main(["convert", str(FIXTURES / "unet_k8_b2_state_dict.pt"), *argv, "--out",
               str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1


def test_cli_missing_file_exit_2(tmp_path, capsys):
    assert main(["convert", str(tmp_path / "none.pt"), "--arch", "unet", "--out",
                 str(tmp_path / "r")]) == 2
    assert "does not exist" in capsys.readouterr().err
