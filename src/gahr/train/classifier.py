"""Training the Fashion-MNIST classifier whose penultimate layer measures sample quality
(`gahr.analysis.features`; the command is tools/train_feature_classifier.py).

Adam with a cosine learning rate, cross-entropy, batch 128; each batch is flipped left-right
with probability 1/2 per image and shifted by up to 2 pixels (the 2-pixel zero border of the
32x32 images makes the shift lose nothing), so the features do not hinge on exact positions.
"""

import time

import torch
import torch.nn.functional as F

from ..analysis.features import FashionClassifier


def _augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    flip = torch.rand(len(x), generator=g) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    dy, dx = (int(v) for v in torch.randint(-2, 3, (2,), generator=g))
    return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))


@torch.no_grad()
def accuracy(net: FashionClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of `images` whose arg-max class is the label (net in eval mode)."""
    net.eval()
    hits = sum(int((net(x).argmax(1) == y).sum())
               for x, y in zip(images.split(1000), labels.split(1000)))
    return hits / len(labels)


def train_classifier(images: torch.Tensor, labels: torch.Tensor, *, epochs: float = 2.0,
                     widths: tuple[int, ...] = (16, 32, 64),
                     batch_size: int = 128, lr: float = 2e-3, seed: int = 0,
                     log=print) -> tuple[FashionClassifier, dict]:
    """A `FashionClassifier` trained on (images, labels); returns it (eval mode) and a summary
    (steps, images seen, wall seconds, final training loss)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    net = FashionClassifier(widths)
    steps = int(epochs * len(images) / batch_size)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    net.train()
    start, order, loss = time.perf_counter(), torch.empty(0, dtype=torch.long), None
    for step in range(steps):
        if len(order) < batch_size:
            order = torch.cat([order, torch.randperm(len(images), generator=g)])
        idx, order = order[:batch_size], order[batch_size:]
        loss = F.cross_entropy(net(_augment(images[idx], g)), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if log and (step + 1) % 100 == 0:
            log(f"step {step + 1}/{steps} loss {loss.item():.3f} "
                f"{(step + 1) * batch_size / (time.perf_counter() - start):.0f} img/s")
    summary = {"steps": steps, "batch_size": batch_size, "epochs": epochs, "lr": lr,
               "seed": seed, "wall_s": round(time.perf_counter() - start, 1),
               "final_loss": loss.item() if loss is not None else None}
    return net.eval(), summary
