"""C^alpha generation speed: vectorized `gahr.data.synthetic.calpha` vs a per-image loop.

The reference, written here, does what the paper's generator does: for one image at a time,
filter 1-D and 2-D white noise by FFT, rescale the two backgrounds, then fill the mask column by
column (mask[:contour[col], col] = 0) and blur it. Both run in this process on the same
threads; the ratio of seconds per image is printed.

    python benchmarks/calpha_generation.py               # 20000 vectorized, 300 by the loop
    python benchmarks/calpha_generation.py --n 100000    # the paper's set size
"""

import argparse
import time

import torch
import torch.nn.functional as F

from gahr.data.fractional import fractional_filter
from gahr.data.synthetic import calpha


def loop_reference(n: int, size: int, alpha: float, blur, generator) -> torch.Tensor:
    """The per-image, per-column generator the vectorized one replaces."""
    amp1 = fractional_filter((size,), alpha, onesided=False).float()
    amp2 = fractional_filter((size, size), alpha, onesided=False).float()
    amp1, amp2 = amp1 / amp1.pow(2).mean().sqrt(), amp2 / amp2.pow(2).mean().sqrt()
    images = []
    for _ in range(n):
        noise = torch.randn(size, generator=generator)
        contour = torch.fft.ifft(torch.fft.fft(noise) * amp1).real * size / 8 + size / 2
        rows = torch.round(contour).int()
        backgrounds = []
        for low, high in ((torch.rand(1, generator=generator).item(), 1.0),
                          (0.0, torch.rand(1, generator=generator).item())):
            field = torch.fft.ifft2(torch.fft.fft2(torch.randn(size, size, generator=generator))
                                    * amp2).real
            field = (field - field.min()) / (field.max() - field.min())
            backgrounds.append(low + (high - low) * field)
        mask = torch.ones(size, size)
        for col in range(size):
            mask[: max(0, int(rows[col])), col] = 0
        if blur is not None:
            padded = F.pad(mask[None, None], (blur[1] - 1, 0, blur[0] - 1, 0), mode="replicate")
            mask = F.avg_pool2d(padded, blur, stride=1)[0, 0]
        images.append(backgrounds[0] * mask + backgrounds[1] * (1 - mask))
    return torch.stack(images).unsqueeze(1)


def seconds(fn) -> tuple[float, float]:
    """(wall, CPU) seconds of fn(); on a shared machine the CPU time is the steadier number."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="images for the vectorized run")
    parser.add_argument("--n-loop", type=int, default=300, help="images for the loop reference")
    parser.add_argument("--size", type=int, default=80)
    parser.add_argument("--alpha", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    blur = (2, 2)  # the paper's setting
    calpha(64, args.size, args.alpha, blur=blur)  # warm-up (allocator, FFT plans)
    fast = seconds(lambda: calpha(args.n, args.size, args.alpha, blur=blur, seed=0))
    slow = seconds(lambda: loop_reference(args.n_loop, args.size, args.alpha, blur,
                                          torch.Generator().manual_seed(0)))
    print(f"calpha {args.size}x{args.size} alpha={args.alpha} blur={blur} "
          f"threads={torch.get_num_threads()}")
    for name, count, (wall, cpu) in (("vectorized", args.n, fast),
                                     ("loop reference", args.n_loop, slow)):
        print(f"  {name}: {count} images in {wall:.2f} s wall, {cpu:.2f} s CPU "
              f"({1e6 * wall / count:.0f} us/image wall, {1e6 * cpu / count:.0f} us/image CPU)")
    for i, what in ((0, "wall"), (1, "CPU")):
        per_fast, per_slow = fast[i] / args.n, slow[i] / args.n_loop
        print(f"  speedup ({what}): {per_slow / per_fast:.1f}x; 100000 images: "
              f"{1e5 * per_fast:.1f} s vectorized, {1e5 * per_slow:.0f} s by the loop")

if __name__ == "__main__":
    main()
