"""An independent functional reference of the paper code's forward pass, on its own state-dict
keys, written from the facts of its layout (see gahr.nets.seed). Used to check the import for
arbitrary widths and depths, and itself checked against the outputs saved by the paper's code."""

import torch
import torch.nn.functional as F


def _bn(state, prefix, x):
    return x / state[prefix + "running_sd"] * state[prefix + "gammas"]


def _conv(state, key, x):
    w = state[key]
    return F.conv2d(x, w, padding=w.shape[-1] // 2)


def _sequential(state, prefix, x, final_relu=True):
    """Apply the `nn.Sequential` stored under `prefix`: an index with a conv weight is a conv, one
    with `gammas` a BF-norm, one with no tensors a ReLU; every block but the output one ends in
    a ReLU."""
    present = {int(k[len(prefix):].split(".")[0]) for k in state if k.startswith(prefix)}
    end = max(present) + int(final_relu)
    for i in range(end + 1):
        key = f"{prefix}{i}."
        if key + "weight" in state:
            x = _conv(state, key + "weight", x)
        elif key + "gammas" in state:
            x = _bn(state, key, x)
        else:
            x = F.relu(x)
    return x


def seed_unet(state, num_blocks, x, pool_window=2):
    skips = []
    for b in range(num_blocks):
        x = _sequential(state, f"encoder.{b}.", x)
        skips.append(x)
        x = F.avg_pool2d(x, pool_window, stride=2, padding=(pool_window - 1) // 2)
    x = _sequential(state, "mid_block.", x)
    for b in reversed(range(num_blocks)):
        x = F.conv_transpose2d(x, state[f"upsample.{b}.weight"], stride=2)
        x = torch.cat([x, skips[b]], dim=1)
        x = _sequential(state, f"decoder.{b}.", x, final_relu=b > 0)
    return x


def seed_bfcnn(state, num_layers, x, first_layer_linear):
    x = _conv(state, "conv_layers.0.weight", x)
    if not first_layer_linear:
        x = F.relu(x)
    for l in range(1, num_layers - 1):
        x = _conv(state, f"conv_layers.{l}.weight", x)
        x = F.relu(_bn(state, f"BN_layers.{l - 1}.", x))
    return _conv(state, f"conv_layers.{num_layers - 1}.weight", x)


def random_seed_unet_state(channels, k, B, n_enc=2, n_mid=2, n_dec=2, generator=None):
    """A state dict with the paper code's UNet keys and random values."""
    g = generator
    state = {}

    def conv(key, c_out, c_in, size=3):
        state[key] = torch.randn(c_out, c_in, size, size, generator=g) * (2 / (9 * c_in)) ** 0.5

    def bn(key, c):
        state[key + ".gammas"] = torch.rand(1, c, 1, 1, generator=g) + 0.5
        state[key + ".running_sd"] = torch.rand(1, c, 1, 1, generator=g) + 0.5

    w = [k * 2**b for b in range(B + 1)]
    for b in range(B):
        i = 0
        for j in range(n_enc):
            c_in = (channels if b == 0 else w[b - 1]) if j == 0 else w[b]
            conv(f"encoder.{b}.{i}.weight", w[b], c_in)
            if b == 0 and j == 0:
                i += 2
            else:
                bn(f"encoder.{b}.{i + 1}", w[b])
                i += 3
    for j in range(n_mid):
        conv(f"mid_block.{3 * j}.weight", w[B], w[B - 1] if j == 0 else w[B])
        bn(f"mid_block.{3 * j + 1}", w[B])
    for b in range(B):
        state[f"upsample.{b}.weight"] = torch.randn(w[b + 1], w[b], 2, 2, generator=g) * 0.3
        n = n_dec - 1 if b == 0 else n_dec
        for j in range(n):
            conv(f"decoder.{b}.{3 * j}.weight", w[b], w[b + 1] if j == 0 else w[b])
            bn(f"decoder.{b}.{3 * j + 1}", w[b])
        if b == 0:
            conv(f"decoder.0.{3 * n}.weight", channels, w[0])
    return state


def random_seed_bfcnn_state(channels, k, L, generator=None):
    g = generator
    chans = [channels] + [k] * (L - 1) + [channels]
    state = {f"conv_layers.{l}.weight": torch.randn(chans[l + 1], chans[l], 3, 3, generator=g)
             * (2 / (9 * chans[l])) ** 0.5 for l in range(L)}
    for l in range(L - 2):
        state[f"BN_layers.{l}.gammas"] = torch.rand(1, k, 1, 1, generator=g) + 0.5
        state[f"BN_layers.{l}.running_sd"] = torch.rand(1, k, 1, 1, generator=g) + 0.5
    return state
