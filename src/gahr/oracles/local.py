"""Local and equivariant local empirical denoisers: the LS and ELS machines (Kamb & Ganguli 2025).

Kamb & Ganguli, "An analytic theory of creativity in convolutional diffusion models" (ICML 2025):
a convolutional denoiser sees only a k x k neighbourhood of each pixel (locality) and applies
the same map at every pixel (equivariance). The MMSE denoiser under those constraints replaces
the posterior over whole training images by a posterior over training *patches*. With P_u y the
C x k x k patch of y centred at pixel u (k odd), the denoised pixel u is

    LS  (equivariant=False):  x_hat(u) = sum_n       w_u(n)    x_n(u),
                              w_u(n)    = softmax_n     (-|P_u y - P_u x_n|^2 / (2 sigma^2))
    ELS (equivariant=True):   x_hat(u) = sum_{n, v}  w_u(n, v) x_n(v),
                              w_u(n, v) = softmax_{n, v}(-|P_u y - P_v x_n|^2 / (2 sigma^2))

(the centre pixel x_n(v) carries all C channels; one weight per patch serves every channel).
Every output pixel is a convex combination of training pixels whose neighbourhoods resemble
the input's, so the output can be a new image: a mosaic of training patches.

Borders: "circular" wraps the image (a torus: ELS then commutes with circular shifts); "zero"
pads with zeros outside the image on both sides, query and training, so a patch that overhangs
the border compares zeros with zeros there; "broken" (Kamb & Ganguli's boundary-broken ELS, their
model of zero-padded CNNs, which can tell where they are in the image) pads with zeros as "zero"
but lets a pixel match only training patches at the same offsets from the same borders: with
r = k // 2, a row i < r or i >= H - r is matched to training row i only, a row in between to
every row in between (the rows whose patch lies inside the image), and the same for columns;
so a pixel whose patch lies inside the image meets the interior training patches at any
position, an edge pixel the patches along the same edge at the same distance from it, a corner
pixel the same corner. These sets partition the pixels, so the broken ELS does no more work than
the zero ELS. LS already matches a pixel to its own location only: its "broken" is its "zero".
Which machine models which net: a net with circular padding, "circular"; a zero-padded net (as
gahr's UNets and BF-CNNs are), "broken". For LS with zero borders and k >= 2 max(H, W) - 1
every patch holds the whole image plus zeros, |P_u y - P_u x_n|^2 = |y - x_n|^2 for every u,
and LS is exactly `EmpiricalOracle`. Patch size 1: the posterior mean of each pixel under the
training pixel values at that location (LS) or at every location (ELS).

Blind version (sigma=None): sigma is, per image, the maximum-likelihood noise level of the
*global* mixture (1/N) sum_n N(y; x_n, sigma^2 I), the very estimate of `EmpiricalOracle` (so the
full-cover LS is `EmpiricalOracle`, blind as well). Per-pixel estimates from k^2 values would be
noisy and would let the noise level vary across one image, which the nets' noise does not. Two
consequences: the blind ELS machine is not shift-equivariant (the global sigma is not), and for
an image far from every training image the global estimate includes that distance, so it
overestimates the noise; pass `sigma` when it is known.

Computation: logits q . k / s2 - |k|^2 / (2 s2) (the |q|^2 term is constant per pixel and drops
out of the softmax) as one matmul of augmented patches [q / s2, -1 / (2 s2)] . [k, |k|^2], in
float64, streamed over chunks of training images with an online log-sum-exp (running maximum,
running sum of weights, running weighted sum of centre pixels).
"""

import copy

import torch
from torch import nn

from ..errors import ConfigError, ShapeError
from .empirical import EmpiricalOracle, check_train_images
from .noise_level import noise_variances

BOUNDARIES = ("circular", "zero", "broken")
PIXEL_ROWS = 8192  # query rows per pass of denoise_pixels: ~30-90 MiB of patches at k <= 21
_BYTES = 8  # float64
_FLOOR = -600.0  # logits below the reference by more than this are raised to it (see _update)


class LocalEmpiricalOracle(nn.Module):
    """The LS (`equivariant=False`) or ELS (`equivariant=True`) machine of `train_images`
    (N, C, H, W) with odd `patch_size` k, as a denoiser y -> x_hat on (B, C, H, W) images.

    Memory does not grow with N or with the batch (at a given sigma): each step holds a block
    of at most `block_size` float64 logits (default 2^18 = 2 MiB, which stays in cache; larger
    blocks measured slower) and its exponential, the patches of the current chunk of training
    patches and of the current query images (each about one block, at least one image's), and
    the streaming state, O(B H W C). `memory_bound(batch)` counts it: 8 / 11 MiB (LS / ELS,
    k = 5, 32 x 32), 21 MiB for ELS at k = 15, where one image's patches outgrow a block (the
    measured peak RSS growth of a call stayed below these). The blind sigma adds
    `EmpiricalOracle`'s (B, N) float64 distances.
    Time: O(B N (HW)^2 C k^2) for ELS, O(B N HW C k^2) for LS; the output is exact (no pruning).
    """

    def __init__(self, train_images: torch.Tensor, patch_size: int, equivariant: bool = True,
                 sigma: float | None = None, boundary: str = "circular",
                 block_size: int = 1 << 18):
        super().__init__()
        check_train_images(train_images)
        _check_patch_size(patch_size)
        if boundary not in BOUNDARIES:
            raise ConfigError(f"boundary={boundary!r} is unknown; use 'circular', 'zero' or "
                              "'broken'")
        if sigma is not None and not sigma > 0:
            raise ConfigError(f"sigma={sigma} must be > 0 (or None for the blind oracle)")
        if not isinstance(block_size, int) or block_size < 1:
            raise ConfigError(f"block_size={block_size!r} must be an integer >= 1 (float64 "
                              f"entries per logit block)")
        self.shape = tuple(train_images.shape[1:])
        self.patch_size = patch_size
        self.equivariant = bool(equivariant)
        self.sigma = sigma
        self.boundary = boundary
        self.block_size = block_size
        N, C, H, W = train_images.shape
        # (N, HW + 1, C): pixels in raster order, channels last, then one zero pixel that the
        # patch index points at outside the image (zero borders).
        pixels = train_images.detach().float().flatten(2).transpose(1, 2)
        self.register_buffer("pixels", torch.cat([pixels, pixels.new_zeros(N, 1, C)], 1))
        # The blind noise level is the global one (module docstring); only built when needed.
        self.global_oracle = EmpiricalOracle(train_images) if sigma is None else None

    def extra_repr(self) -> str:
        kind = "ELS" if self.equivariant else "LS"
        return (f"{kind}, N={self.n_train}, shape={self.shape}, "
                f"patch_size={self.patch_size}, boundary={self.boundary!r}, sigma={self.sigma}")

    def describe(self) -> dict:
        """What this machine is, for cache keys (the training set is the caller's to add)."""
        return {"machine": "ELS" if self.equivariant else "LS", "n_train": self.n_train,
                "shape": list(self.shape), "patch_size": self.patch_size,
                "boundary": self.boundary, "sigma": self.sigma}

    @property
    def n_train(self) -> int:
        return self.pixels.shape[0]

    @property
    def patch_dim(self) -> int:
        """C k^2, the length of one patch."""
        return self.shape[0] * self.patch_size**2


    def forward(self, y: torch.Tensor, sigma=None) -> torch.Tensor:
        """x_hat(y): per pixel, the posterior mean of the centre pixel over training patches,
        at `sigma` (one, or one per image) when given, else at this oracle's (or the blind)."""
        self._check(y)
        s2 = self._s2(y, sigma)
        B, C, H, W = y.shape
        flat = _with_zero_pixel(y.double().flatten(2).transpose(1, 2))
        every = torch.arange(H * W, device=y.device)
        index = self._index(every)
        per_call = self._images_per_call()
        if self.equivariant:
            parts = [self._els_rows(_patches(flat[i:i + per_call], index).flatten(0, 1),
                                    s2[i:i + per_call].repeat_interleave(H * W), index,
                                    every.repeat(len(flat[i:i + per_call])))
                     for i in range(0, B, per_call)]
        else:
            parts = [self._ls(flat[i:i + per_call], s2[i:i + per_call], index, every)
                     for i in range(0, B, per_call)]
        return torch.cat(parts).view(B, H * W, C).transpose(1, 2).reshape(B, C, H, W).to(
            y.dtype)

    def denoise_pixels(self, y: torch.Tensor, pixels: torch.Tensor, sigma=None) -> torch.Tensor:
        """x_hat(y) at some pixels only, (B, C, P): `pixels` (B, P) flat raster indices, one
        row per image; each pixel costs what it costs in `forward` (1/HW of an image), so an
        MSE over P random pixels per image is estimated HW/P times faster. The pixels of all
        images (up to 8192 at a time) are the rows of one streamed pass, so the training
        patches are built once for all of them: batch many images (e.g. several noise levels
        of each, one sigma per image) into one call."""
        self._check(y)
        B, C, H, W = y.shape
        pixels = torch.as_tensor(pixels, dtype=torch.long, device=y.device)
        if pixels.dim() != 2 or len(pixels) != B or not pixels.numel() \
                or pixels.min() < 0 or pixels.max() >= H * W:
            raise ShapeError(f"pixels must be (B={B}, P) flat indices in [0, {H * W}), got "
                             f"{tuple(pixels.shape)}; draw P of them per image")
        s2 = self._s2(y, sigma)
        flat = _with_zero_pixel(y.double().flatten(2).transpose(1, 2))
        index = self._index(torch.arange(H * W, device=y.device))
        if not self.equivariant:
            parts = [self._ls(flat[i:i + 1], s2[i:i + 1], index, pixels[i]) for i in range(B)]
            return torch.cat(parts).transpose(1, 2).to(y.dtype)
        # every image's pixels are rows of one pass: the training patches are built once
        image = torch.arange(B, device=y.device).repeat_interleave(pixels.shape[1])
        queries = flat[image[:, None], index[pixels.flatten()]].flatten(1)  # (B P, k^2 C)
        s2, step = s2[image], max(H * W * self._images_per_call(), PIXEL_ROWS)
        where = pixels.flatten()
        out = torch.cat([self._els_rows(queries[i:i + step], s2[i:i + step], index,
                                        where[i:i + step])
                         for i in range(0, len(queries), step)])
        return out.view(B, -1, C).transpose(1, 2).to(y.dtype)

    def with_patch_size(self, patch_size: int) -> "LocalEmpiricalOracle":
        """The same machine with another patch size, sharing the training pixels (no copy)."""
        _check_patch_size(patch_size)
        other = copy.copy(self)  # shallow: the buffers are shared, the patch size is not
        other.patch_size = patch_size
        return other

    def estimate_sigma(self, y: torch.Tensor) -> torch.Tensor:
        """The noise level used for each image (B,): the given sigma, or the global ML one."""
        self._check(y)
        return self._s2(y).sqrt().to(y.dtype)

    def memory_bound(self, batch: int) -> int:
        """Bytes of the temporaries that `forward` holds at once for `batch` images at a given
        sigma, counted in 8-byte values: two logit blocks; per key patch its float32 gather,
        float64 copy, augmented copy, centre (C + 1) and, for ELS, three int64 index rows; per
        query patch its gather, augmented and shifted copies; the streaming state (old and
        new) and the patch index."""
        C, H, W = self.shape
        HW, d, k2 = H * W, self.patch_dim, self.patch_size**2
        b = min(batch, self._images_per_call())
        if self.equivariant:
            r, K = self._els_plan(b * HW)
            blocks, keys, queries, index = r * K, K, b * HW, 3 * K * k2
        else:
            g, n = self._ls_plan(b)
            blocks, keys, queries, index = g * b * n, g * n, g * b, 0
        # "broken" ELS copies each group's query patches once more
        copies = 4 if self.equivariant and self.boundary == "broken" else 3
        values = (2 * blocks + keys * (2.5 * d + C + 3) + index + queries * (copies * d + 4)
                  + 2 * queries * (C + 2) + HW * k2)
        return int(_BYTES * values)

    def _check(self, y: torch.Tensor) -> None:
        if y.dim() != 4 or tuple(y.shape[1:]) != self.shape:
            dims = ", ".join(map(str, self.shape))
            raise ShapeError(f"the local empirical oracle holds {self.shape} images, got "
                             f"{tuple(y.shape)}; pass (B, {dims})")
        if not torch.isfinite(y).all():
            raise ConfigError("the input contains NaN or inf; denoise finite images only")

    def _s2(self, y: torch.Tensor, sigma=None) -> torch.Tensor:
        if sigma is not None:
            return noise_variances(sigma, len(y), y.device)
        if self.sigma is not None:
            return torch.full(y.shape[:1], float(self.sigma) ** 2, dtype=torch.float64,
                              device=y.device)
        return self.global_oracle.estimate_sigma(y.double()).double() ** 2

    def _index(self, locs: torch.Tensor) -> torch.Tensor:
        """For pixels u (flat raster indices, (L,)), the flat indices of P_u: (L, k^2), wrapped
        ("circular") or pointing at the zero pixel H W outside the image ("zero", "broken")."""
        _, H, W = self.shape
        r = self.patch_size // 2
        offsets = torch.arange(-r, r + 1, device=locs.device)
        rows = (locs // W)[:, None, None] + offsets[None, :, None]
        cols = (locs % W)[:, None, None] + offsets[None, None, :]
        if self.boundary == "circular":
            return ((rows % H) * W + cols % W).flatten(1)
        inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
        return torch.where(inside, rows * W + cols, H * W).flatten(1)

    def _sites(self, device) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(group of every pixel (HW,), the training positions of each group): ELS matches a
        pixel to the training patches at its group's positions. One group of every position,
        except "broken": per row, r = k // 2, rows i < r and i >= H - r are groups of their own
        and the rows between one group; the same for columns; a pixel's group is (row group,
        column group), and its positions are that group's pixels."""
        _, H, W = self.shape
        if self.boundary != "broken":
            return torch.zeros(H * W, dtype=torch.long, device=device), \
                [torch.arange(H * W, device=device)]
        r = self.patch_size // 2
        rows, cols = torch.arange(H, device=device), torch.arange(W, device=device)
        row_group = torch.where((rows < r) | (rows >= H - r), rows, H)
        col_group = torch.where((cols < r) | (cols >= W - r), cols, W)
        key = (row_group[:, None] * (W + 1) + col_group[None, :]).flatten()
        _, group = key.unique(return_inverse=True)
        return group, [(group == g).nonzero().squeeze(1) for g in range(int(group.max()) + 1)]

    def _els_rows(self, patches: torch.Tensor, s2: torch.Tensor, index: torch.Tensor,
                  where: torch.Tensor) -> torch.Tensor:
        """ELS posterior means (rows, C) of query patches at pixels `where` (rows,), each row
        against the training patches at its pixel's positions (`_sites`)."""
        group, positions = self._sites(index.device)
        if len(positions) == 1:
            return self._els(patches, s2, index, positions[0])
        rows_group = group[where]
        out = patches.new_empty(len(patches), self.shape[0])
        for g in rows_group.unique().tolist():
            rows = (rows_group == g).nonzero().squeeze(1)
            out[rows] = self._els(patches[rows], s2[rows], index, positions[g])
        return out

    def _images_per_call(self) -> int:
        """Query images per streamed pass: ELS holds all their patches (about one block)."""
        if not self.equivariant:
            return 64
        HW = self.shape[1] * self.shape[2]
        return max(1, self.block_size // (HW * (self.patch_dim + 1)))

    def _els_plan(self, rows: int, sites: int | None = None) -> tuple[int, int]:
        """(query rows r, training patches K) per logit block r x K <= block_size, with
        K (C k^2 + 1) <= block_size for the chunk of key patches, for `rows` query pixels
        against the training patches at `sites` positions (default every one)."""
        total = self.n_train * (sites or self.shape[1] * self.shape[2])
        r = min(rows, 256)  # rows x keys both >= ~256 keep the matmuls efficient
        K = max(1, min(total, self.block_size // max(r, self.patch_dim + 1)))
        return max(1, min(rows, self.block_size // K)), K

    def _ls_plan(self, batch: int) -> tuple[int, int]:
        """(locations g, training images n) per logit block g x batch x n <= block_size."""
        HW, d1 = self.shape[1] * self.shape[2], self.patch_dim + 1
        n = min(self.n_train, 256)
        g = self.block_size // (n * max(batch, d1))
        if g < 1:
            n = max(1, min(self.n_train, self.block_size // max(batch, d1)))
        return max(1, min(HW, g)), n

    def _els(self, patches: torch.Tensor, s2: torch.Tensor, index: torch.Tensor,
             sites: torch.Tensor) -> torch.Tensor:
        """ELS posterior means (rows, C) of float64 query patches P_u y (rows, C k^2), each at
        its own s2 (rows,): every query row against chunks of K training patches (n, v), v in
        `sites` (flat positions), flattened n-major; `index` (HW, k^2) is the patch index of
        every pixel."""
        S = len(sites)
        r, K = self._els_plan(len(patches), S)
        queries = _augment(patches, s2)
        slices = [slice(i, i + r) for i in range(0, len(patches), r)]
        states = [None] * len(slices)
        for start in range(0, self.n_train * S, K):  # each chunk of key patches built once
            key = torch.arange(start, min(start + K, self.n_train * S), device=index.device)
            n, v = key // S, sites[key % S]
            keys = _keys(self.pixels[n[:, None], index[v]].flatten(1).double()).T
            centres = _with_ones(self.pixels[n, v].double())
            states = [_update(state, queries[sl], keys, centres)
                      for state, sl in zip(states, slices)]
        acc = torch.cat([state[1] for state in states])
        return acc[:, :-1] / acc[:, -1:]

    def _ls(self, flat: torch.Tensor, s2: torch.Tensor, index: torch.Tensor,
            locations: torch.Tensor) -> torch.Tensor:
        """LS posterior means (b, L, C) at `locations` (L,): for each chunk of g locations u,
        the b query patches at u against the training patches at u, in chunks of n training
        images."""
        g, n = self._ls_plan(flat.shape[0])
        out = []
        for u in range(0, len(locations), g):
            locs = locations[u:u + g]
            queries = _augment(_patches(flat, index[locs]).transpose(0, 1), s2)  # (g, b, d+1)
            state = None
            for j in range(0, self.n_train, n):
                x = self.pixels[j:j + n]
                keys = _keys(_patches(x, index[locs]).double().transpose(0, 1)).transpose(1, 2)
                centres = _with_ones(x[:, locs].double().transpose(0, 1))  # (g, n, C + 1)
                state = _update(state, queries, keys, centres)
            acc = state[1]
            out.append((acc[..., :-1] / acc[..., -1:]).transpose(0, 1))
        return torch.cat(out, dim=1)


def _check_patch_size(patch_size) -> None:
    if isinstance(patch_size, bool) or not isinstance(patch_size, int) or patch_size < 1 \
            or patch_size % 2 == 0:
        raise ConfigError(f"patch_size={patch_size!r} must be an odd integer >= 1 (the patch "
                          f"is centred on its pixel), e.g. 3, 5 or 7")


def _with_zero_pixel(flat: torch.Tensor) -> torch.Tensor:
    """(n, HW, C) -> (n, HW + 1, C): the zero pixel that zero borders index."""
    return torch.cat([flat, flat.new_zeros(flat.shape[0], 1, flat.shape[2])], dim=1)


def _with_ones(centres: torch.Tensor) -> torch.Tensor:
    """Centre pixels (..., C) -> (..., C + 1) with a column of ones: one matmul then gives the
    weighted sum of the centres and the sum of the weights."""
    return torch.cat([centres, torch.ones_like(centres[..., :1])], dim=-1)


def _patches(flat: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """(n, HW + 1, C) images and an (L, k^2) patch index -> patches (n, L, k^2 C)."""
    return flat[:, index].flatten(2)


def _augment(q: torch.Tensor, s2: torch.Tensor) -> torch.Tensor:
    """Query patches (..., rows, d) -> [q / s2, -1 / (2 s2)], s2 one per row: its product
    with [k, |k|^2] is q.k / s2 - |k|^2 / (2 s2) = (|q|^2 - |q - k|^2) / (2 s2)."""
    s2 = s2.expand(q.shape[:-1])[..., None]
    return torch.cat([q / s2, -0.5 / s2], dim=-1)


def _keys(k: torch.Tensor) -> torch.Tensor:
    """Training patches (..., d) -> [k, |k|^2, 1] (the 1 meets the query's shift -m)."""
    return torch.cat([k, k.square().sum(-1, keepdim=True), torch.ones_like(k[..., :1])], -1)


def _update(state, queries: torch.Tensor, keys: torch.Tensor, centres: torch.Tensor):
    """One online log-sum-exp step over a chunk of keys, for (..., rows) query rows.

    state = (m, acc, shifted): a per-row reference logit m (a logit already seen, so the sum
    never underflows), acc = [sum_k e^(l_k - m) x_k, sum_k e^(l_k - m)] (..., rows, C + 1),
    and the queries with a last column -m. `queries` (..., rows, d + 1) and `keys`
    (..., d + 2, K), augmented as in `_augment`/`_keys`, give l - m in one matmul, so the
    common step is matmul, exp, matmul. Only when e^(l - m) overflows (a logit more than ~709
    above m) is the block redone with its own maximum as the new reference. Logits more than
    600 below m are raised to -600 before the exponential: e^-600 ~ 1e-261 per term (at most
    1e-253 relative over 10^8 terms, below float64 precision), and no subnormal numbers reach
    exp or the matmul, where they ran 4-100x slower (at small sigma most logits are there).
    """
    if state is not None:
        m, acc, shifted = state
        new = acc + (shifted @ keys).clamp_min_(_FLOOR).exp_() @ centres
        if torch.isfinite(new).all():
            return m, new, shifted
    logits = queries @ keys[..., :-1, :]
    m_block = logits.amax(-1)
    m_new = m_block if state is None else torch.maximum(m, m_block)
    e = (logits - m_new[..., None]).clamp_min_(_FLOOR).exp_() @ centres
    acc = e if state is None else acc * (m - m_new).exp()[..., None] + e
    return m_new, acc, torch.cat([queries, -m_new[..., None]], dim=-1)
