"""The LS and ELS machines (Kamb & Ganguli 2025) against closed forms and a brute-force loop."""

import pytest
import torch

from gahr.errors import ConfigError, GahrError, ShapeError
from gahr.oracles import EmpiricalOracle, LocalEmpiricalOracle

SHAPE = (2, 5, 4)  # two channels, non-square: catches swapped axes and mixed channels


@pytest.fixture
def train():
    return torch.rand(6, *SHAPE, generator=torch.Generator().manual_seed(7))


@pytest.fixture
def noisy(train):
    gen = torch.Generator().manual_seed(8)
    return (train[:3] + 0.3 * torch.randn(3, *SHAPE, generator=gen)).double()


def brute_patch(img, i, j, k, boundary):
    """P_(i,j) img by explicit indexing: C x k x k values, wrapped or zero outside."""
    C, H, W = img.shape
    r = k // 2
    out = torch.zeros(C, k, k, dtype=torch.float64)
    for a in range(k):
        for b in range(k):
            p, q = i + a - r, j + b - r
            if boundary == "circular":
                out[:, a, b] = img[:, p % H, q % W]
            elif 0 <= p < H and 0 <= q < W:
                out[:, a, b] = img[:, p, q]
    return out.flatten()


def brute_force(train, y, k, equivariant, boundary, sigma):
    """x_hat(u) = sum softmax(-|P_u y - P_v x_n|^2 / 2 sigma^2) x_n(v), v = u unless ELS."""
    C, H, W = train.shape[1:]
    out = torch.zeros(y.shape, dtype=torch.float64)
    for b in range(y.shape[0]):
        for i in range(H):
            for j in range(W):
                q = brute_patch(y[b], i, j, k, boundary)
                sites = [(p, s) for p in range(H) for s in range(W)] if equivariant \
                    else [(i, j)]
                d, centres = [], []
                for n in range(train.shape[0]):
                    for p, s in sites:
                        d.append((q - brute_patch(train[n].double(), p, s, k, boundary))
                                 .square().sum())
                        centres.append(train[n, :, p, s].double())
                w = torch.softmax(-torch.stack(d) / (2 * sigma**2), dim=0)
                out[b, :, i, j] = w @ torch.stack(centres)
    return out


@pytest.mark.parametrize("equivariant", [False, True])
@pytest.mark.parametrize("boundary", ["circular", "zero"])
def test_matches_brute_force_for_any_block_size(train, noisy, equivariant, boundary):
    """The streamed matmul form is the definition, whether one block holds everything or
    each block holds a single logit (every chunking path and the online log-sum-exp)."""
    sigma = 0.25
    expected = brute_force(train, noisy, 3, equivariant, boundary, sigma)
    for block in (1, 7, 1 << 18):
        o = LocalEmpiricalOracle(train, 3, equivariant, sigma, boundary, block_size=block)
        torch.testing.assert_close(o(noisy), expected, atol=1e-12, rtol=0)


def test_online_log_sum_exp_survives_overflow(train):
    """At a tiny sigma the logits span far more than e^709: the streamed sum must rescale
    (not return inf or NaN) and give the nearest patch's centre, here the image itself."""
    o = LocalEmpiricalOracle(train, 3, equivariant=True, sigma=1e-4, block_size=5)
    out = o(train[:2].double())
    torch.testing.assert_close(out, train[:2].double(), atol=1e-12, rtol=0)


@pytest.mark.parametrize("sigma", [0.3, None])
def test_ls_full_cover_zero_border_is_the_empirical_oracle(train, noisy, sigma):
    """k >= 2 max(H, W) - 1 with zero borders: every patch is the whole image plus zeros, so
    LS = EmpiricalOracle, at a given sigma and blind (the same ML sigma). A smaller patch
    or circular borders (patches then repeat pixels) are not the global oracle."""
    k = 2 * max(SHAPE[1:]) - 1
    # halfway between two training images: a spread posterior, where the models differ
    noisy = (train[:3] + train[3:]).double() / 2 + 0.1 * (noisy - train[:3])
    expected = EmpiricalOracle(train, sigma=sigma)(noisy)
    got = LocalEmpiricalOracle(train, k, equivariant=False, sigma=sigma, boundary="zero")(noisy)
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=0)
    for other in (LocalEmpiricalOracle(train, k - 2, False, sigma, "zero"),
                  LocalEmpiricalOracle(train, k, False, sigma, "circular")):
        assert (other(noisy) - expected).abs().max() > 1e-3


@pytest.mark.parametrize("equivariant", [False, True])
def test_blind_is_the_machine_at_each_image_global_ml_sigma(train, noisy, equivariant):
    """Blind: sigma_hat per image is EmpiricalOracle's, and the output of each image is the
    machine at its own sigma_hat (images of one batch at different noise levels)."""
    y = torch.cat([noisy, train[3:].double() + 0.05 * (noisy - train[:3])])
    o = LocalEmpiricalOracle(train, 3, equivariant, block_size=4000)  # 6 images a pass
    s = o.estimate_sigma(y)
    torch.testing.assert_close(s, EmpiricalOracle(train).estimate_sigma(y))
    assert s.max() > 3 * s.min()
    out = o(y)
    for i in range(len(y)):
        fixed = LocalEmpiricalOracle(train, 3, equivariant, sigma=float(s[i]))
        torch.testing.assert_close(out[i], fixed(y[i:i + 1])[0], atol=1e-12, rtol=0)
    assert (LocalEmpiricalOracle(train, 3, sigma=0.2).estimate_sigma(y) == 0.2).all()


@pytest.mark.parametrize("equivariant", [False, True])
@pytest.mark.parametrize("boundary", ["circular", "zero", "broken"])
def test_output_at_u_depends_only_on_the_patch_at_u(train, noisy, equivariant, boundary):
    """Perturbing y outside P_u leaves x_hat(u) unchanged; perturbing inside changes it."""
    k, (i, j) = 3, (2, 1)
    o = LocalEmpiricalOracle(train, k, equivariant, sigma=0.25, boundary=boundary)
    inside = torch.zeros(SHAPE[1:], dtype=torch.bool)
    inside[i - 1:i + 2, j - 1:j + 2] = True
    bump = torch.randn(noisy.shape, dtype=torch.float64, generator=torch.Generator()
                       .manual_seed(9))
    base = o(noisy)[:, :, i, j]
    outside_changed = o(noisy + bump * ~inside)[:, :, i, j]
    torch.testing.assert_close(outside_changed, base, atol=1e-12, rtol=0)
    assert (o(noisy + bump * inside)[:, :, i, j] - base).abs().max() > 1e-3


def test_circular_els_commutes_with_circular_shifts(train, noisy):
    """ELS on a torus: x_hat(shift y) = shift x_hat(y). LS keeps each location's own
    training pixels, so it does not."""
    def shift(t):
        return torch.roll(t, shifts=(2, 1), dims=(-2, -1))

    els = LocalEmpiricalOracle(train, 3, equivariant=True, sigma=0.25)
    torch.testing.assert_close(els(shift(noisy)), shift(els(noisy)), atol=1e-12, rtol=0)
    ls = LocalEmpiricalOracle(train, 3, equivariant=False, sigma=0.25)
    assert (ls(shift(noisy)) - shift(ls(noisy))).abs().max() > 1e-3


@pytest.mark.parametrize("equivariant", [False, True])
def test_patch_size_one_is_the_pixel_marginal_posterior_mean(train, noisy, equivariant):
    """k = 1: x_hat(u) = E[x(u) | y(u)] under the empirical law of the training pixel values
    (C-vectors) at u (LS) or pooled over every location (ELS)."""
    sigma = 0.2
    C = SHAPE[0]
    y = noisy.flatten(2).transpose(1, 2)  # (B, HW, C)
    x = train.double().flatten(2).transpose(1, 2)  # (N, HW, C)
    if equivariant:
        values = x.reshape(-1, C)  # every training pixel, (N HW, C)
        d = (y[:, :, None] - values[None, None]).square().sum(-1)  # (B, HW, N HW)
        expected = torch.softmax(-d / (2 * sigma**2), -1) @ values
    else:
        d = (y[:, None] - x[None]).square().sum(-1)  # (B, N, HW)
        w = torch.softmax(-d / (2 * sigma**2), dim=1)
        expected = torch.einsum("bnu,nuc->buc", w, x)
    got = LocalEmpiricalOracle(train, 1, equivariant, sigma)(noisy)
    torch.testing.assert_close(got.flatten(2).transpose(1, 2), expected, atol=1e-12, rtol=0)


def test_output_dtype_and_float32_input(train, noisy):
    o = LocalEmpiricalOracle(train, 3, sigma=0.25)
    out32 = o(noisy.float())
    assert out32.dtype == torch.float32
    torch.testing.assert_close(out32.double(), o(noisy), atol=1e-6, rtol=0)


def test_memory_bound_does_not_grow_with_n_or_batch():
    """The streamed temporaries are bounded by the block size, not by N or the batch."""
    shape = (1, 32, 32)
    for equivariant in (False, True):
        small = LocalEmpiricalOracle(torch.rand(300, *shape), 5, equivariant, sigma=0.1)
        large = LocalEmpiricalOracle(torch.rand(3000, *shape), 5, equivariant, sigma=0.1)
        assert small.memory_bound(64) == large.memory_bound(64) == large.memory_bound(640)
        assert large.memory_bound(64) < 8 * 6 * large.block_size


def test_bad_input_raises_one_line_errors(train):
    """Each message is one line that names the fix."""
    bad = train.clone()
    bad[0, 0, 0, 0] = float("inf")
    cases = [
        (ShapeError, "(N, C, H, W)", lambda: LocalEmpiricalOracle(train[0], 3)),
        (ConfigError, "odd integer", lambda: LocalEmpiricalOracle(train, 4)),
        (ConfigError, "odd integer", lambda: LocalEmpiricalOracle(train, 0)),
        (ConfigError, "odd integer", lambda: LocalEmpiricalOracle(train, True)),
        (ConfigError, "odd integer", lambda: LocalEmpiricalOracle(train, 3.0)),
        (ConfigError, "use 'circular', 'zero' or 'broken'",
         lambda: LocalEmpiricalOracle(train, 3, boundary="reflect")),
        (ConfigError, "or None", lambda: LocalEmpiricalOracle(train, 3, sigma=0.0)),
        (ConfigError, ">= 1", lambda: LocalEmpiricalOracle(train, 3, block_size=0)),
        (ConfigError, "clean the data", lambda: LocalEmpiricalOracle(bad, 3)),
        (ShapeError, "pass (B, 2, 5, 4)",
         lambda: LocalEmpiricalOracle(train, 3)(torch.rand(1, 1, 5, 4))),
        (ConfigError, "finite images",
         lambda: LocalEmpiricalOracle(train, 3)(torch.full((1, *SHAPE), float("nan")))),
    ]
    for error, fix, call in cases:
        with pytest.raises(error) as info:
            call()
        assert isinstance(info.value, GahrError)
        assert fix in str(info.value) and "\n" not in str(info.value)


def naive_broken(train, y, k, equivariant, sigma):
    """Kamb & Ganguli's boundary-broken machine, pixel by pixel from its definition: zero
    padding, and pixel (i, j) meets the training patches at rows {i} if i is within k // 2 of
    the top or bottom border, else at every row whose patch lies inside the image; the same
    for columns (LS: at (i, j) only)."""
    C, H, W = train.shape[1:]
    r = k // 2
    x = torch.nn.functional.pad(train.double(), (r, r, r, r))
    q = torch.nn.functional.pad(y.double(), (r, r, r, r))

    def allowed(i, size):
        return [i] if i < r or i >= size - r or not equivariant else list(range(r, size - r))

    out = torch.zeros(y.shape, dtype=torch.float64)
    for b in range(len(y)):
        for i in range(H):
            for j in range(W):
                patch = q[b, :, i:i + k, j:j + k]
                sites = [(p, s) for p in allowed(i, H) for s in allowed(j, W)]
                keys = torch.stack([x[:, :, p:p + k, s:s + k] for p, s in sites], 1)  # N,S,..
                d = (keys - patch).square().flatten(2).sum(-1).flatten()
                centres = torch.stack([train[:, :, p, s].double() for p, s in sites], 1)
                w = torch.softmax(-d / (2 * sigma**2), 0)
                out[b, :, i, j] = w @ centres.flatten(0, 1)
    return out


@pytest.mark.parametrize("equivariant", [False, True])
@pytest.mark.parametrize("k", [3, 5])
def test_boundary_broken_machine_is_its_definition(equivariant, k):
    """The streamed "broken" machine equals the per-pixel reference to 1e-10 (float64), with
    single-logit blocks too, whole images and at some pixels; at k = 5 on 9 x 8 images there
    are interior, edge and corner pixels. It differs from the zero-border ELS (which lets an
    edge pixel meet any patch), and LS "broken" is LS "zero"."""
    gen = torch.Generator().manual_seed(11)
    train = torch.rand(5, 2, 9, 8, generator=gen)
    y = (train[:2] + 0.3 * torch.randn(2, 2, 9, 8, generator=gen)).double()
    sigma = 0.3
    expected = naive_broken(train, y, k, equivariant, sigma)
    for block in (1, 97, 1 << 18):
        o = LocalEmpiricalOracle(train, k, equivariant, sigma, "broken", block_size=block)
        torch.testing.assert_close(o(y), expected, atol=1e-10, rtol=0)
    pixels = torch.tensor([[0, 5, 40, 71], [71, 8, 36, 9]])
    got = o.denoise_pixels(y, pixels)
    torch.testing.assert_close(got, expected.flatten(2).gather(
        2, pixels[:, None].expand(-1, 2, -1)), atol=1e-10, rtol=0)
    zero = LocalEmpiricalOracle(train, k, equivariant, sigma, "zero")(y)
    if equivariant:
        assert (zero - expected).abs().max() > 1e-3
        interior = (slice(None), slice(None), slice(k // 2, 9 - k // 2), slice(k // 2, 8 - k // 2))
        # an interior pixel meets only interior patches: not the zero ELS there either
        assert (zero[interior] - expected[interior]).abs().max() > 1e-6
    else:
        torch.testing.assert_close(zero, expected, atol=1e-10, rtol=0)
