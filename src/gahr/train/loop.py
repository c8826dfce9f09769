"""Training a universal blind denoiser: one net for every noise level, never told the level.

Each image y = x + sigma z gets its own sigma (`sample_sigmas`); the net r predicts the noise
sigma z, and the loss is the squared error per image, sum_i w(sigma_i) ||r(y_i) - sigma_i z_i||^2
/ B, with the weight w of the recipe (`gahr.train.recipe`; w = 1 is the paper's). Adam, with the
recipe's learning-rate schedule and, optionally, an exponential average of the weights
(`gahr.train.ema`) that is what gets evaluated and saved.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from ..config import Config, save_config, to_dict
from ..errors import ConfigError, Interrupted, ShapeError
from ..locking import holds_locks
from ..metrics import psnr_db
from ..nets import build, load_net, save
from ..rundir import RunDir
from . import distributed as D
from .checkpoint import CONFIG_JSON, check_resumable, is_finished, load_checkpoint, save_checkpoint
from .dataset import TrainingData, open_images, select
from .ema import WeightAverage, recalibrate
from .interrupt import StopRequest
from .metrics import MetricsLog, evaluate, read_metrics, sigma_label, summarize
from .noise import epoch_order, sample_sigmas
from .objective import eval_denoiser, loss_key, objective_of, probe
from .precision import check_amp
from .recipe import initialize, learning_rate
from .snapshots import Snapshots

CALIBRATION_BATCHES = 16  # training batches that set the weight average's BF-norm sds


@dataclass
class TrainResult:
    """What `train` did: the final net (eval mode) and the last metrics row."""

    run_dir: Path
    net: nn.Module
    metrics: dict = field(default_factory=dict)
    resumed_from: tuple[int, int] | None = None  # (epoch, step) of the checkpoint used
    already_finished: bool = False
    is_main: bool = True  # rank 0 (the one that writes and reports)
    sizes: tuple[int, int | None] | None = None  # (N, test images) the run used


@dataclass
class _Run:
    net: nn.Module  # the plain module: its state is what gets saved
    model: nn.Module  # what the step calls: net, or its DDP / compiled wrapper
    optimizer: torch.optim.Optimizer
    rng: torch.Generator  # sigmas and noise; identical on every rank
    images: torch.Tensor  # the training set, on the device
    noise: torch.Tensor  # (global batch, C, H, W) buffer, refilled in place each step
    objective: object  # (model, images, z, sigma) -> loss, by the net's family (objective.py)
    steps: int  # steps per epoch
    ema: WeightAverage | None = None
    calibrated_at: int | None = None  # global step at which the average's sds were last set
    epoch: int = 0
    step: int = 0  # steps done in `epoch`
    loss_sum: torch.Tensor | None = None
    loss_count: int = 0
    consistent: bool = True  # False while a step is half done: no checkpoint then
    started: float = 0.0  # wall clock at the start of the epoch (or of its resumption)
    saved_at: tuple[int, int] | None = None  # (epoch, step) of the last checkpoint written
    snapshots: Snapshots | None = None  # weights kept along training (rank 0 only)


@holds_locks
def train(config: Config, run_dir, images: torch.Tensor | None = None, *, callbacks=(),
          progress: bool = True) -> TrainResult:
    """Train (or resume, or return at once if finished) the run `config` describes in `run_dir`.

    `images`: the full image set as a tensor (N, C, H, W) in [0, 1]; None loads `config.data`
    through `gahr.data.open_dataset`. The split, test set and everything else follow `config`.
    `callbacks`: called as `cb(epoch, step, loss)` after every step; raising KeyboardInterrupt
    there (or SIGINT/SIGTERM) writes a checkpoint and stops. Under torchrun every rank calls
    this; each trains on its own shard of every global batch and only rank 0 writes.
    """
    run_dir = Path(run_dir)
    RunDir(run_dir).check_writable()
    d = D.setup(config.train.device, config.train.threads)
    try:
        if is_finished(run_dir, config.train.epochs):
            check_resumable(run_dir, config)
            meta = RunDir(run_dir).meta()
            return TrainResult(run_dir, load_net(run_dir, d.device), _last_row(run_dir),
                               already_finished=True, is_main=d.is_main,
                               sizes=(meta.get("n_train"), meta.get("n_test")))
        return _train(config, run_dir, images, d, callbacks, progress)
    finally:
        D.teardown(d)


def _train(config, run_dir, images, d, callbacks, progress) -> TrainResult:
    tc = config.train
    check_resumable(run_dir, config)
    if tc.batch_size % d.world:
        raise ConfigError(f"train.batch_size={tc.batch_size} does not split over {d.world} "
                          "ranks; use a multiple of the number of processes")
    data = select(images if images is not None else open_images(config.data), config.data)
    check_amp(config.train.amp, d.device)
    net = build_net(config, data.train).to(d.device)
    if d.is_main:
        save_config(config, run_dir / CONFIG_JSON)
    run = _make_run(net, data, tc, d, steps=max(1, tc.samples_per_epoch // tc.batch_size))
    run.snapshots = Snapshots.of(run_dir, tc, run.steps, data.train) if d.is_main else None
    ckpt = load_checkpoint(run_dir)
    if ckpt is not None:
        _restore(run, ckpt)
        if d.is_main:  # also without a progress bar: a resumed run says where it resumed
            tqdm.write(f"resuming {run_dir} from its checkpoint at {_where(run, tc)}")
    log = MetricsLog(run_dir, keep_until_epoch=run.epoch, enabled=d.is_main)
    row = _last_row(run_dir) if d.is_main else {}
    with StopRequest() as stop:
        try:
            while run.epoch < tc.epochs:
                _train_epoch(run, tc, d, stop, callbacks, progress)
                row = _end_epoch(run, config, data, d, log, run_dir)
                if progress and d.is_main and run.epoch < tc.epochs:
                    # the last epoch's line is the caller's result line: printed once
                    tqdm.write(summarize(row, loss_key(config)))
            if D.any_rank(stop.requested, d):  # asked during the last epoch's end
                raise KeyboardInterrupt
        except KeyboardInterrupt:
            if d.is_main and run.consistent:
                _checkpoint(run, run_dir)
            raise Interrupted(_stopped_message(run, tc, run_dir)) from None
        finally:
            log.close()
    if d.is_main:
        _finish(run, config, data, run_dir, log.rows)
    D.barrier(d)
    resumed = (ckpt["epoch"], ckpt["step"]) if ckpt is not None else None
    return TrainResult(run_dir, _evaluated_net(run, tc), row, resumed_from=resumed,
                       is_main=d.is_main, sizes=(len(data.train), len(data.test)))


def _where(run: _Run, tc, at: tuple[int, int] | None = None) -> str:
    """A position in training as people count it, e.g. "epoch 3/10, step 17/40"."""
    epoch, step = at if at is not None else (run.epoch, run.step)
    if step == 0:
        return f"the start of epoch {epoch + 1}/{tc.epochs}" if epoch < tc.epochs else \
            f"the end of epoch {epoch}/{tc.epochs}"
    return f"epoch {epoch + 1}/{tc.epochs}, step {step}/{run.steps}"


def _stopped_message(run: _Run, tc, run_dir) -> str:
    if run.saved_at is None:
        return f"no checkpoint was written yet in {run_dir}; rerun the same command to start over"
    return (f"checkpoint at {_where(run, tc, run.saved_at)} in {RunDir(run_dir).checkpoint}; "
            "rerun the same command to resume from there")


def build_net(config: Config, images: torch.Tensor) -> nn.Module:
    """The configured net, initialized from `train.seed`, checked to accept `images`."""
    model_cfg = dict(config.model.config)
    channels = images.shape[1]
    if model_cfg.setdefault("channels", channels) != channels:
        raise ConfigError(f"model.channels={model_cfg['channels']} but the images have "
                          f"{channels} channel(s); drop model.channels or convert the data")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.train.seed)
        net = initialize(build(config.model.arch, **model_cfg), config.train)
    try:
        with torch.no_grad():
            out = probe(net.eval(), images[:1])
    except (RuntimeError, ValueError, ShapeError) as e:
        raise ConfigError(f"model {config.model.arch} refuses {tuple(images.shape[1:])} images "
                          f"({str(e).splitlines()[0]}); change data.size or the model") from None
    if out.shape != images[:1].shape:
        raise ConfigError(f"model {config.model.arch} maps {tuple(images.shape[1:])} images to "
                          f"{tuple(out.shape[1:])}; change data.size or the model")
    return net.train()


def _make_run(net, data: TrainingData, tc, d, steps: int) -> _Run:
    # NHWC convolutions: ~1.7x faster steps for the UNet on CPU (oneDNN) and the layout
    # tensor cores want on CUDA; other devices keep NCHW unless asked.
    auto = d.device.type in ("cpu", "cuda")
    if tc.channels_last == "on" or (tc.channels_last == "auto" and auto):
        net = net.to(memory_format=torch.channels_last)
    model = net
    if d.world > 1:
        ids = [d.device] if d.device.type == "cuda" else None
        model = nn.parallel.DistributedDataParallel(net, device_ids=ids)
    if tc.compile:
        model = torch.compile(model)
    optimizer = make_adam(net, tc.lr)
    rng = torch.Generator(d.device).manual_seed(tc.seed)
    images = data.train.to(d.device)
    noise = torch.empty((tc.batch_size, *images.shape[1:]), device=d.device)
    zero = torch.zeros((), dtype=torch.float64, device=d.device)
    ema = WeightAverage(net, tc.ema_decay) if tc.ema_decay > 0 else None
    return _Run(net, model, optimizer, rng, images, noise, objective_of(net, tc), steps, ema=ema,
                loss_sum=zero)


def make_adam(net: nn.Module, lr: float) -> torch.optim.Optimizer:
    """Adam, fused (one kernel for all parameters instead of a Python loop over them) where
    torch has the fused kernel for the parameters' device: CUDA, and CPU from torch 2.4 on.
    Older torch refuses `fused=True` on CPU with a RuntimeError; it then gets the default
    (foreach) Adam, the same update computed in another order."""
    try:
        return torch.optim.Adam(net.parameters(), lr=lr, fused=True)
    except RuntimeError:
        return torch.optim.Adam(net.parameters(), lr=lr)


def _restore(run: _Run, ckpt: dict) -> None:
    run.net.load_state_dict(ckpt["model"])
    run.optimizer.load_state_dict(ckpt["optimizer"])
    run.rng.set_state(ckpt["noise_rng"])
    run.epoch, run.step, run.loss_count = ckpt["epoch"], ckpt["step"], ckpt["loss_count"]
    run.loss_sum.fill_(ckpt["loss_sum"])
    run.saved_at = (run.epoch, run.step)
    if run.ema is not None:
        run.ema.load_state_dict(ckpt["ema"])


def _train_epoch(run: _Run, tc, d, stop, callbacks, progress) -> None:
    steps = run.steps
    order = epoch_order(len(run.images), steps * tc.batch_size, tc.seed, run.epoch)
    order = order.to(run.images.device)
    b = tc.batch_size // d.world
    pixels = run.images[0].numel()
    bar = tqdm(total=steps, initial=run.step, disable=not (progress and d.is_main),
               desc=f"epoch {run.epoch + 1}/{tc.epochs}", leave=False, dynamic_ncols=True)
    run.net.train()
    run.started = time.monotonic()
    with bar:
        while run.step < steps:
            start = run.step * tc.batch_size + d.rank * b
            run.consistent = False
            for group in run.optimizer.param_groups:
                group["lr"] = learning_rate(tc, run.epoch, run.step, steps)
            loss = _step(run, order[start:start + b], slice(d.rank * b, (d.rank + 1) * b), tc)
            run.loss_sum += loss
            run.loss_count += 1
            run.step += 1
            run.consistent = True
            if run.snapshots and run.snapshots.due(run.epoch * steps + run.step):
                run.snapshots.write(_evaluated_net(run, tc), run.epoch * steps + run.step)
                run.net.train()
            bar.update()
            if run.step % 10 == 0 or run.step == steps:
                bar.set_postfix(_progress_fields(loss.item(), pixels, tc))  # .item(): a sync
            for cb in callbacks:
                cb(run.epoch, run.step, loss)
            if D.any_rank(stop.requested, d):
                raise KeyboardInterrupt


def _step(run: _Run, idx: torch.Tensor, own: slice, tc) -> torch.Tensor:
    """One Adam step on this rank's shard `own` of the global batch; returns the loss."""
    # The whole global batch's sigmas and noise come from the shared generator, so each
    # rank's shard is the one a single process would draw: DDP equals one process.
    sigma = sample_sigmas(tc.batch_size, tc.sigma_min, tc.sigma_max, tc.sigma_dist, run.rng,
                          run.images.device)
    run.noise.normal_(generator=run.rng)
    # indexing copies the images: the objective may overwrite them (and the noise buffer)
    with torch.autocast(run.images.device.type, dtype=torch.bfloat16, enabled=tc.amp == "bf16"):
        loss = run.objective(run.model, run.images[idx], run.noise[own], sigma[own])
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if tc.grad_clip > 0:
        nn.utils.clip_grad_norm_(run.net.parameters(), tc.grad_clip)
    run.optimizer.step()
    if run.ema is not None:
        run.ema.update(run.net)
    return loss.detach()


def _progress_fields(loss: float, pixels: int, tc) -> dict:
    """The progress bar's loss (weighted squared error per image, intensity^2 units) and, for
    the unweighted loss, the PSNR of the denoised batch it implies."""
    fields = {"loss": f"{loss:.4g}"}
    if tc.loss_weight == "none":
        fields["psnr"] = f"{psnr_db(loss / pixels):.2f}" if loss > 0 else "inf"
    return fields


def _evaluated_net(run: _Run, tc) -> nn.Module:
    """The net that is evaluated and saved: the weight average (its BF-norm sds recomputed on
    training batches drawn from a generator of their own, so resuming changes nothing) or the
    net itself, in eval mode."""
    if run.ema is None:
        return run.net.eval()
    step = run.epoch * run.steps + run.step
    if run.calibrated_at == step:
        return run.ema.net
    run.calibrated_at = step
    g = torch.Generator(run.images.device).manual_seed(tc.seed * 1_000_003 + step)
    b = min(tc.batch_size, 256)

    def batches():
        for _ in range(CALIBRATION_BATCHES):
            idx = torch.randint(len(run.images), (b,), generator=g, device=g.device)
            sigma = sample_sigmas(b, tc.sigma_min, tc.sigma_max, tc.sigma_dist, g, g.device)
            z = torch.randn((b, *run.images.shape[1:]), generator=g, device=g.device)
            yield run.images[idx] + sigma * z

    return recalibrate(run.ema.net, batches())


def _end_epoch(run: _Run, config, data: TrainingData, d, log, run_dir) -> dict:
    tc = config.train
    run.epoch, run.step = run.epoch + 1, 0
    loss = run.loss_sum.item() / max(run.loss_count, 1)
    run.loss_sum.zero_()
    run.loss_count = 0
    if not d.is_main:
        return {}
    row = {"epoch": run.epoch, "step": run.epoch * max(1, tc.samples_per_epoch // tc.batch_size),
           "lr": run.optimizer.param_groups[0]["lr"], "loss": loss}
    if run.epoch % tc.eval_every == 0 or run.epoch == tc.epochs:
        row.update(_eval_row(_evaluated_net(run, tc), data, tc))
    row["seconds"] = round(time.monotonic() - run.started, 3)  # training and evaluation
    log.append(row)
    _checkpoint(run, run_dir)
    run.net.train()
    return row


def _eval_row(net: nn.Module, data: TrainingData, tc) -> dict:
    denoiser = eval_denoiser(net)
    batch = min(tc.batch_size, 256)
    row = {}
    parts = [("train", data.train[:tc.eval_images]), ("test", data.test)]
    for name, images in parts:
        if len(images):
            device = next(net.parameters()).device
            psnrs = evaluate(denoiser, images.to(device), tc.eval_sigmas, tc.seed, batch)
            row.update({f"{name}_psnr_{sigma_label(s)}": v for s, v in psnrs.items()})
    return row


def _checkpoint(run: _Run, run_dir) -> None:
    save_checkpoint(run_dir, net=run.net, optimizer=run.optimizer, noise_rng=run.rng,
                    epoch=run.epoch, step=run.step, loss_sum=run.loss_sum.item(),
                    loss_count=run.loss_count, ema=run.ema)
    run.saved_at = (run.epoch, run.step)


def _finish(run: _Run, config: Config, data: TrainingData, run_dir, rows) -> None:
    from .figures import write_figures

    meta = {"mean_intensity": data.train.mean().item(), "n_train": len(data.train),
            "n_test": len(data.test),
            "split": config.data.split, "data": to_dict(config.data), "epochs": run.epoch,
            "sigma_min": config.train.sigma_min, "sigma_max": config.train.sigma_max,
            "image_size": list(data.train.shape[-2:])}  # what samplers draw by default
    net = _evaluated_net(run, config.train)
    save(net, run_dir, meta=meta)
    write_figures(net, data, config.train, rows, RunDir(run_dir).figures)
    RunDir(run_dir).write_completion()  # last: the run is finished once this exists


def _last_row(run_dir) -> dict:
    rows = read_metrics(run_dir)
    return rows[-1] if rows else {}
