"""Linear measurement operators for inverse problems, each with orthonormal rows.

An operator holds a matrix M (D x K) with M^T M = I_K: `measure(x)` = M^T x takes (B, C, H, W)
images to (B, K) measurements, `lift(m)` = M m takes them back, and `project(x)` = M M^T x is the
orthogonal projection onto the measured subspace (Kadkhodaie & Simoncelli, 2021, Section 4).
None of them materializes M except the random projections; all are free of in-place ops.
"""

import math

import torch
import torch.nn.functional as F

from ..errors import ConfigError, ShapeError


class Operator:
    """Base class: shape checks and `project`; subclasses define `_measure`, `_lift`, `dim`."""

    name = "operator"
    dim: int

    def __init__(self, shape):
        shape = tuple(int(s) for s in shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ShapeError(f"{self.name}: shape={shape} must be (C, H, W) of one image")
        self.shape = shape

    def measure(self, x: torch.Tensor) -> torch.Tensor:
        """M^T x: (B, C, H, W) -> (B, K)."""
        if x.dim() != 4 or tuple(x.shape[1:]) != self.shape:
            raise ShapeError(f"{self.name} measures (B, {', '.join(map(str, self.shape))}) "
                             f"images, got {tuple(x.shape)}; resize the image or rebuild the "
                             "operator for its shape")
        return self._measure(x)

    def lift(self, m: torch.Tensor) -> torch.Tensor:
        """M m: (B, K) -> (B, C, H, W), zero in the unmeasured subspace."""
        if m.dim() != 2 or m.shape[1] != self.dim:
            raise ShapeError(f"{self.name} lifts (B, {self.dim}) measurements, got "
                             f"{tuple(m.shape)}")
        return self._lift(m)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """M M^T x, the orthogonal projection onto the measured subspace."""
        return self.lift(self.measure(x))

    def __repr__(self):
        return f"{type(self).__name__}(shape={self.shape}, dim={self.dim})"


class PixelMask(Operator):
    """Keep the pixels where `mask` (bool, (H, W) or (C, H, W)) is true: M^T x = x[mask]."""

    name = "mask"

    def __init__(self, shape, mask: torch.Tensor):
        super().__init__(shape)
        mask = torch.as_tensor(mask).bool()
        if mask.shape == self.shape[1:]:
            mask = mask.expand(self.shape)
        if mask.shape != self.shape:
            raise ShapeError(f"mask of shape {tuple(mask.shape)} for images {self.shape}; give "
                             "an (H, W) or (C, H, W) boolean mask")
        if not mask.any():
            raise ConfigError("the mask keeps no pixel; nothing would be measured")
        self.mask = mask.contiguous()
        self.index = mask.flatten().nonzero().squeeze(1)
        self.dim = int(self.index.numel())

    def _measure(self, x):
        return x.flatten(1).index_select(1, self.index.to(x.device))

    def _lift(self, m):
        D = math.prod(self.shape)
        out = m.new_zeros(m.shape[0], D).index_copy(1, self.index.to(m.device), m)
        return out.view(-1, *self.shape)


def box_inpainting(shape, box=None) -> PixelMask:
    """Measure everything but a box (top, left, height, width); default: the central box of half
    the height and width."""
    C, H, W = shape
    top, left, h, w = box if box is not None else (H // 4, W // 4, H // 2, W // 2)
    if not (0 <= top and 0 <= left and h > 0 and w > 0 and top + h <= H and left + w <= W):
        raise ConfigError(f"box (top={top}, left={left}, height={h}, width={w}) does not fit "
                          f"in a {H}x{W} image")
    mask = torch.ones(H, W, dtype=torch.bool)
    mask[top:top + h, left:left + w] = False
    op = PixelMask(shape, mask)
    op.name = "inpaint"
    return op


def random_pixels(shape, p: float, generator: torch.Generator | None = None) -> PixelMask:
    """Measure a random fraction p of the pixels (the same pixels in every channel)."""
    if not 0 < p <= 1:
        raise ConfigError(f"p={p} must lie in (0, 1]: the fraction of pixels kept")
    C, H, W = shape
    keep = max(1, round(p * H * W))
    order = torch.randperm(H * W, generator=generator)
    mask = torch.zeros(H * W, dtype=torch.bool)
    mask[order[:keep]] = True
    op = PixelMask(shape, mask.view(H, W))
    op.name = "pixels"
    return op


class BlockAverage(Operator):
    """Super-resolution: block averages over s x s blocks, scaled to be orthonormal.

    M^T x = s * avgpool_s(x) (each row (1/s) 1_block has unit norm); M m repeats m/s in the block.
    """

    name = "superres"

    def __init__(self, shape, factor: int):
        super().__init__(shape)
        C, H, W = self.shape
        if factor < 1 or H % factor or W % factor:
            raise ShapeError(f"superres: factor {factor} must divide the image size {H}x{W}; "
                             "crop the image to a multiple of the factor")
        self.factor = int(factor)
        self.dim = C * (H // factor) * (W // factor)

    def _measure(self, x):
        return (F.avg_pool2d(x, self.factor) * self.factor).flatten(1)

    def _lift(self, m):
        C, H, W = self.shape
        s = self.factor
        low = m.view(-1, C, H // s, W // s) / s
        return low.repeat_interleave(s, dim=2).repeat_interleave(s, dim=3)


class SpectralLowPass(Operator):
    """Keep the fraction p of lowest-|f| Fourier coefficients, in real orthonormal coordinates.

    With c = F x (orthonormal 2-D DFT), a self-conjugate frequency (k = -k) gives the real
    coordinate c_k and a conjugate pair {k, -k} gives sqrt(2) Re c_k and sqrt(2) Im c_k, so the
    K coordinates are an orthonormal basis of a real subspace (Parseval). Whole pairs are
    kept in order of |f| (ties by index) until p * H * W frequencies are covered.
    """

    name = "lowpass"

    def __init__(self, shape, p: float):
        super().__init__(shape)
        if not 0 < p <= 1:
            raise ConfigError(f"p={p} must lie in (0, 1]: the fraction of Fourier coefficients")
        C, H, W = self.shape
        self.selfconj, self.pairs, self.partner = _low_frequencies(H, W, p)
        self.dim = C * (len(self.selfconj) + 2 * len(self.pairs))

    def _measure(self, x):
        c = torch.fft.fft2(x, norm="ortho").flatten(2)
        own = c.index_select(2, self.selfconj.to(x.device)).real
        pair = c.index_select(2, self.pairs.to(x.device)) * math.sqrt(2)
        return torch.cat([own, pair.real, pair.imag], dim=2).flatten(1)

    def _lift(self, m):
        C, H, W = self.shape
        n_self, n_pair = len(self.selfconj), len(self.pairs)
        m = m.view(-1, C, n_self + 2 * n_pair)
        cdtype = torch.complex128 if m.dtype == torch.float64 else torch.complex64
        own = m[..., :n_self].to(cdtype)
        re, im = m[..., n_self:n_self + n_pair], m[..., n_self + n_pair:]
        pair = torch.complex(re, im) / math.sqrt(2)
        idx = torch.cat([self.selfconj, self.pairs, self.partner]).to(m.device)
        values = torch.cat([own, pair, pair.conj()], dim=2)
        c = values.new_zeros(m.shape[0], C, H * W).index_copy(2, idx, values)
        return torch.fft.ifft2(c.view(-1, C, H, W), norm="ortho").real


def _low_frequencies(H: int, W: int, p: float):
    """Indices (flat, fft2 order) of the kept self-conjugate frequencies, of one representative
    per kept conjugate pair, and of the partners (-k) of those representatives."""
    ky, kx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    partner = (((-ky) % H) * W + (-kx) % W).flatten()
    flat = torch.arange(H * W)
    radius = (torch.fft.fftfreq(H)[:, None] ** 2 + torch.fft.fftfreq(W)[None, :] ** 2).flatten()
    reps = flat[flat <= partner]  # one per conjugate class
    order = sorted(reps.tolist(), key=lambda k: (float(radius[k]), k))
    target, count, selfconj, pairs = max(1, round(p * H * W)), 0, [], []
    for k in order:
        if count >= target:
            break
        (selfconj if partner[k] == k else pairs).append(k)
        count += 1 if partner[k] == k else 2
    pairs_t = torch.tensor(pairs, dtype=torch.long)
    return torch.tensor(selfconj, dtype=torch.long), pairs_t, partner[pairs_t]


class RandomProjection(Operator):
    """Compressive sensing: K = round(p D) random orthonormal directions (QR of a Gaussian
    matrix); M is stored densely, D x K floats."""

    name = "compressive"

    def __init__(self, shape, p: float, generator: torch.Generator | None = None):
        super().__init__(shape)
        if not 0 < p <= 1:
            raise ConfigError(f"p={p} must lie in (0, 1]: the fraction of dimensions measured")
        D = math.prod(self.shape)
        self.dim = max(1, round(p * D))
        if D * self.dim > 2 * 10**8:
            raise ConfigError(f"compressive: a dense {D}x{self.dim} basis is too large; use "
                              "smaller images or a smaller p")
        gauss = torch.randn(D, self.dim, generator=generator, dtype=torch.float64)
        self.basis = torch.linalg.qr(gauss).Q.float()

    def _measure(self, x):
        return x.flatten(1) @ self.basis.to(x.device, x.dtype)

    def _lift(self, m):
        return (m @ self.basis.to(m.device, m.dtype).T).view(-1, *self.shape)


def make_operator(task: str, shape, factor: int = 4, p: float = 0.25, box=None, mask=None,
                  generator: torch.Generator | None = None) -> Operator:
    """Build an operator by task name: inpaint (box), pixels (random fraction p), superres
    (factor), lowpass (fraction p), compressive (fraction p), mask (user-given boolean mask)."""
    builders = {
        "inpaint": lambda: box_inpainting(shape, box),
        "pixels": lambda: random_pixels(shape, p, generator),
        "superres": lambda: BlockAverage(shape, factor),
        "lowpass": lambda: SpectralLowPass(shape, p),
        "compressive": lambda: RandomProjection(shape, p, generator),
        "mask": lambda: PixelMask(shape, _need(mask, "mask")),
    }
    if task not in builders:
        raise ConfigError(f"unknown task {task!r}; choose one of {', '.join(builders)}")
    return builders[task]()


def _need(value, name):
    if value is None:
        raise ConfigError(f"this task needs a {name}; pass {name}=...")
    return value
