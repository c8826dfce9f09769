"""An exponential moving average of a net's weights, and BF-norm statistics recomputed for it."""

import copy
from collections.abc import Iterable

import torch
from torch import nn

from ..nets.layers import BFBatchNorm2d


class WeightAverage:
    """theta_avg <- d_t theta_avg + (1 - d_t) theta after every step, d_t = min(decay,
    (1 + t) / (10 + t)) at update t = 0, 1, ... (the warm-up keeps a short run from averaging in
    its random start). Parameters only: the averaged net's BF-norm running sds belong to other
    weights, so `recalibrate` recomputes them before the average is evaluated or saved."""

    def __init__(self, net: nn.Module, decay: float):
        self.decay = float(decay)
        self.net = copy.deepcopy(net).eval()
        self.net.requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        t = self.updates
        d = min(self.decay, (1 + t) / (10 + t))
        averaged = list(self.net.parameters())
        torch._foreach_lerp_(averaged, [p.detach() for p in net.parameters()], 1 - d)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"model": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
                "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["model"])
        self.updates = int(state["updates"])


@torch.no_grad()
def recalibrate(net: nn.Module, batches: Iterable[torch.Tensor]) -> nn.Module:
    """Set every BF-norm running sd of `net` to the mean, over `batches`, of the batch sd that
    the layer sees in training mode (momentum 1/(k+1) at batch k makes the running value the
    exact running mean). Returns `net` in eval mode, its other state untouched."""
    norms = [m for m in net.modules() if isinstance(m, BFBatchNorm2d)]
    if not norms:  # nothing to recompute (and a conditional net takes more than y)
        return net.eval()
    momenta = [m.momentum for m in norms]
    net.train()
    try:
        for k, y in enumerate(batches):
            for m in norms:
                m.momentum = 1.0 / (k + 1)
            net(y)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
    return net.eval()
