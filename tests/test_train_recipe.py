"""The recipe pieces against closed forms: init, loss weights, schedules, weight average."""

import math

import pytest
import torch
from torch import nn

from gahr.config import RECIPES, load_config, with_overrides
from gahr.nets import BFBatchNorm2d, build
from gahr.train.ema import WeightAverage, recalibrate
from gahr.train.recipe import Balanced, initialize, learning_rate, loss_function


def train_config(*overrides):
    return load_config(None, ["train.epochs=4", "train.lr=0.01", *overrides]).train


def test_recipes_fill_only_the_fields_left_unset():
    paper = train_config("train.recipe=paper")
    assert {k: getattr(paper, k) for k in RECIPES["paper"]} == RECIPES["paper"]
    mixed = train_config("train.recipe=paper", "train.ema_decay=0.99")
    assert mixed.ema_decay == 0.99 and mixed.loss_weight == "none"
    assert train_config().ema_decay == RECIPES["modern"]["ema_decay"]


def test_overriding_the_recipe_of_a_resolved_config_follows_the_new_recipe():
    cfg = load_config(None, ["train.recipe=paper"])
    modern = with_overrides(cfg, ["train.recipe=modern", "train.grad_clip=1.0"])
    assert modern.train.lr_schedule == RECIPES["modern"]["lr_schedule"]
    assert modern.train.grad_clip == 1.0
    # Any other override keeps the resolved values.
    assert with_overrides(cfg, ["train.lr=0.5"]).train.ema_decay == 0.0


def test_halving_schedule_is_the_papers():
    tc = train_config("train.lr_schedule=halving", "train.lr_halve_every=2")
    assert [learning_rate(tc, e, 3, 10) for e in range(4)] == [0.01, 0.01, 0.005, 0.005]


def test_cosine_schedule_closed_form_with_warmup():
    tc = train_config("train.lr_schedule=cosine", "train.warmup_steps=4")  # 40 steps in all
    lr = [learning_rate(tc, t // 10, t % 10, 10) for t in range(40)]
    assert lr[:4] == pytest.approx([0.002, 0.004, 0.006, 0.008])
    assert lr[4] == pytest.approx(0.01)
    assert lr[4 + 18] == pytest.approx(0.005)  # half way through the 36 cosine steps
    t = 30
    assert lr[t] == pytest.approx(0.005 * (1 + math.cos(math.pi * (t - 4) / 36)))
    assert all(a > b for a, b in zip(lr[4:], lr[5:]))


def test_balanced_weight_is_plain_at_low_noise_and_per_variance_at_high():
    loss = Balanced(0.05)
    sigma = torch.tensor([0.0, 0.05, 10.0])
    w = loss.weight(sigma)
    assert w[0] == 1 and w[1] == pytest.approx(0.5)
    assert w[2] * 10.0**2 == pytest.approx(0.05**2, rel=1e-4)
    assert isinstance(loss_function(train_config("train.loss_weight=balanced")), Balanced)


@pytest.mark.parametrize("arch, config", [("unet", dict(num_kernels=4, num_blocks=2)),
                                          ("bfcnn", dict(num_kernels=4, num_layers=4))])
def test_zero_output_init_makes_the_identity_denoiser_exactly(arch, config):
    torch.manual_seed(0)
    net = initialize(build(arch, **config), train_config("train.output_init=zero")).eval()
    y = torch.rand(2, 1, 16, 16)
    assert torch.equal(net(y), torch.zeros_like(y))
    ones = initialize(build(arch, **config),
                      train_config("train.output_init=kaiming", "train.norm_gain_init=ones"))
    assert all((m.gain == 1).all() for m in ones.modules() if isinstance(m, BFBatchNorm2d))
    assert ones.eval()(y).abs().max() > 0


def test_weight_average_closed_form():
    """Live weights held at p after starting from p0: avg = p + prod_t d_t (p0 - p), with the
    warm-up decays d_t = min(decay, (1 + t) / (10 + t))."""
    net = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        net.weight.fill_(1.0)
    ema = WeightAverage(net, decay=0.9)
    with torch.no_grad():
        net.weight.fill_(3.0)
    for _ in range(30):
        ema.update(net)
    keep = math.prod(min(0.9, (1 + t) / (10 + t)) for t in range(30))
    torch.testing.assert_close(ema.net.weight, torch.full((2, 3), 3.0 - 2.0 * keep))
    state = ema.state_dict()
    other = WeightAverage(net, decay=0.9)
    other.load_state_dict(state)
    assert other.updates == 30 and torch.equal(other.net.weight, ema.net.weight)


def test_recalibrate_sets_the_exact_mean_of_the_batch_sds():
    norm = BFBatchNorm2d(2)
    batches = [torch.randn(4, 2, 3, 3) * s for s in (1.0, 2.0, 5.0)]
    recalibrate(nn.Sequential(norm), batches)
    sds = torch.stack([torch.sqrt(b.var(dim=(0, 2, 3), unbiased=False) + 1e-5) for b in batches])
    torch.testing.assert_close(norm.running_sd, sds.mean(0))
    assert not norm.training and norm.momentum == 0.1
