"""Every bad input we try on the command line, run for real, written up as docs/bad_inputs.md.

Each case is a `gahr` command line with one thing wrong. It runs in this process through
`gahr.cli.main` against small fixtures made in a temporary directory (a tiny saved UNet, a
trained tiny run and sweep, data files with NaN or out-of-range values, a state dict with
undotted keys, a pickle that is not a state dict, ...). The table records the exit status and
the last line the command printed on stderr (paths under the temporary directory shown as
`$TMP`). `tests/test_bad_inputs.py` (slow) checks that no case ends in a traceback, that each
exits with the status listed, that every error is one line, and that docs/bad_inputs.md is
what this script writes now.

Usage: python tools/bad_inputs.py [--check]   (writes docs/bad_inputs.md; --check compares)
"""

import argparse
import contextlib
import io
import json
import pickle
import re
import shutil
import sys
import tempfile
import traceback
from argparse import Namespace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "bad_inputs.md"
CALPHA = str(ROOT / "configs" / "cpu" / "calpha32_unet.toml")
TINY_TRAIN = ["--set", "model.arch=bfcnn", "--set", "model.num_kernels=4",
              "--set", "model.num_layers=2", "--set", "train.epochs=1",
              "--set", "train.samples_per_epoch=32", "--set", "train.batch_size=8",
              "--set", "train.eval_sigmas=[0.2]", "--set", "train.eval_images=4",
              "--set", "data.num_images=64", "--set", "data.size=12", "--set", "data.n_test=4",
              "--set", "train.device=cpu", "--set", "train.threads=1", "--quiet"]
SWEEP_TOML = """[data]
source = "discs"
num_images = 64
size = 12
n_test = 4
[model]
arch = "bfcnn"
num_kernels = 4
num_layers = 2
[train]
epochs = 1
samples_per_epoch = 32
batch_size = 8
eval_sigmas = [0.2]
eval_images = 4
device = "cpu"
threads = 1
[sweep]
n_train = [1, 8]
splits = ["S1", "S2"]
[memorization]
num_samples = 2
n_eval = 4
h_0 = 0.5
sigma_L = 0.05
patch_size = 0
"""


def make_fixtures(tmp: Path) -> None:
    """The files the cases point at, under `tmp`."""
    from gahr.cli import main
    from gahr.data import discs
    from gahr.nets import UNet, save

    torch.manual_seed(0)
    save(UNet(num_kernels=4, num_blocks=1).eval(), tmp / "model",
         meta={"mean_intensity": 0.4, "data": {"size": 12}})
    images = discs(8, 12)[0].numpy()
    np.save(tmp / "img.npy", images)
    bad = images.copy()
    bad[3, 0, 2, 2] = np.nan
    np.save(tmp / "nan.npy", bad)
    np.save(tmp / "range.npy", images * 3)
    (tmp / "afile").write_text("not a directory\n")
    (tmp / "notes").mkdir()
    (tmp / "notes" / "todo.txt").write_text("someone's notes\n")
    (tmp / "empty_folder").mkdir()
    torch.save({"weight": torch.zeros(3), "bias": torch.zeros(3)}, tmp / "nodots.pt")
    (tmp / "garbage.pt").write_bytes(b"this is not a checkpoint")
    with open(tmp / "object.pt", "wb") as f:  # an object, not tensors: weights_only refuses
        pickle.dump(Namespace(weights=[1, 2, 3]), f)
    (tmp / "sweep.toml").write_text(SWEEP_TOML)
    (tmp / "nosweep.toml").write_text('[data]\nsource = "discs"\n')
    rgb = np.random.default_rng(0).random((8, 12, 12, 3), dtype=np.float32)
    np.save(tmp / "hwc.npy", rgb)  # channels last
    np.save(tmp / "int16.npy", (images * 1000).astype(np.int16))
    np.save(tmp / "five_d.npy", images[:, None])
    np.save(tmp / "copies.npy", np.repeat(images[:1], 64, axis=0))  # one image, 64 times
    hold_lock(tmp / "busy", f"gahr train --out {tmp / 'busy'}")
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        assert main(["train", "--out", str(tmp / "run"), *TINY_TRAIN]) == 0
        assert main(["sweep", str(tmp / "sweep.toml"), "--out", str(tmp / "sweep"), "--job",
                     "0", "--quiet"]) == 0
    shutil.copytree(tmp / "sweep", tmp / "edited_sweep")  # a job's config.json edited too
    job = json.loads((tmp / "edited_sweep" / "N1_S1" / "config.json").read_text())
    job["model"]["num_kernels"] = 6
    (tmp / "edited_sweep" / "N1_S1" / "config.json").write_text(json.dumps(job))
    pngs = tmp / "pngs"  # a newcomer's folder: fewer images than a preset's n_test
    pngs.mkdir()
    for i, image in enumerate(discs(20, 12, seed=1)[0].numpy()):
        Image.fromarray((image[0] * 255).astype(np.uint8)).save(pngs / f"{i:02d}.png")
    shutil.copytree(tmp / "run", tmp / "edited_run")  # config.json edited after training
    config = json.loads((tmp / "edited_run" / "config.json").read_text())
    config["model"]["num_kernels"] = 6
    (tmp / "edited_run" / "config.json").write_text(json.dumps(config))


def writer_cases(t: str) -> list[tuple[str, list[str], int]]:
    """Another gahr writing the same output, and a full disk (issue 24)."""
    return [
        ("train: --out is being written by another running gahr",
         ["train", "--out", f"{t}/busy", *TINY_TRAIN], 2),
        ("sweep: --out is being written by another running gahr",
         ["sweep", f"{t}/sweep.toml", "--out", f"{t}/busy", "--quiet"], 2),
        ("demo: --out is being written by another running gahr",
         ["demo", "--quick", "--out", f"{t}/busy"], 2),
        *[(f"{what} (the disk is full)", argv, 2) for what, argv in (
            ("train", ["train", "--out", f"{t}/full", *TINY_TRAIN]),
            ("sample", ["sample", f"{t}/model", "--n", "2", "--out", f"{t}/full.npz",
                        "--quiet"]),
            ("data make", ["data", "make", "discs", "--n", "2", "--out", f"{t}/full.npy"]),
            ("demo", ["demo", "--quick", "--out", f"{t}/full_demo"]),
            ("memorization", ["memorization", f"{t}/sweep.toml", "--out", f"{t}/full_sweep",
                              "--quiet"]))],
    ]


def hold_lock(path: Path, command: str) -> int:
    """Hold `path`'s output lock as another writer would (a file description of its own, so
    this process's commands are refused too); the OS drops it when the script ends."""
    import fcntl
    import os

    from gahr.locking import LOCK_NAME

    path.mkdir()
    fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, json.dumps({"pid": os.getpid(), "command": command}).encode())
    return fd


def cases(t: str) -> list[tuple[str, list[str], int]]:
    """(what is wrong, argv, expected exit status); `t` is the fixtures' directory."""
    model, run, img = f"{t}/model", f"{t}/run", f"{t}/img.npy"
    sweep = [f"{t}/sweep.toml", "--out", f"{t}/sweep", "--quiet"]
    eigen = ["eigen", model, "--input", img, "--quiet"]
    opt = ["optimality", model, "--data", "discs", "--n-images", "1"]
    return [
        ("train: --out is an existing file", ["train", "--out", f"{t}/afile", *TINY_TRAIN], 2),
        ("train: --out is a non-empty directory that is not a run",
         ["train", "--out", f"{t}/notes", *TINY_TRAIN], 2),
        ("train: --out is a finished run with other settings",
         ["train", "--out", run, *TINY_TRAIN, "--set", "train.lr=0.01"], 2),
        ("train: no --out", ["train", *TINY_TRAIN], 2),
        ("train: config file missing", ["train", f"{t}/missing.toml", "--out", f"{t}/r1"], 2),
        ("train: negative learning rate", ["train", "--out", f"{t}/r2", "--set", "train.lr=-1"], 2),
        ("train: unknown architecture",
         ["train", "--out", f"{t}/r3", "--set", "model.arch=resnet"], 2),
        ("train: unknown key", ["train", "--out", f"{t}/r4", "--set", "train.lrate=0.1"], 2),
        ("train: sigma_min above sigma_max",
         ["train", "--out", f"{t}/r5", "--set", "train.sigma_min=0.5", "--set",
          "train.sigma_max=0.1"], 2),
        ("train: data file missing",
         ["train", "--out", f"{t}/r6", *TINY_TRAIN, "--set", f'data.source="{t}/none.npy"'], 2),
        ("train: NaN in the data file",
         ["train", "--out", f"{t}/r7", *TINY_TRAIN, "--set", f'data.source="{t}/nan.npy"',
          "--set", "data.num_images=8"], 2),
        ("train: data outside [0, 1]",
         ["train", "--out", f"{t}/r8", *TINY_TRAIN, "--set", f'data.source="{t}/range.npy"',
          "--set", "data.num_images=8"], 2),
        ("train: N above half the data for a split run",
         ["train", "--out", f"{t}/r9", *TINY_TRAIN, "--set", "data.split=S1", "--set",
          "data.n_train=40"], 2),
        ("sample: sigma_L above sigma_0", ["sample", model, "--sigma-L", "5", "--out",
                                           f"{t}/s.npz", "--quiet"], 2),
        ("sample: h_0 = 0", ["sample", model, "--h0", "0", "--out", f"{t}/s.npz"], 2),
        ("sample: beta above 1", ["sample", model, "--beta", "2", "--out", f"{t}/s.npz"], 2),
        ("sample: sigma_0 infinite", ["sample", model, "--sigma-0", "inf", "--out", f"{t}/s.npz"],
         2),
        ("sample: sigma_L NaN", ["sample", model, "--sigma-L", "nan", "--out", f"{t}/s.npz"], 2),
        ("sample: --stall 0", ["sample", model, "--stall", "0", "--out", f"{t}/s.npz"], 2),
        ("sample: unknown preset", ["sample", model, "--preset", "ddpm", "--out", f"{t}/s.npz"],
         2),
        ("sample: model path missing", ["sample", f"{t}/nowhere", "--out", f"{t}/s.npz"], 2),
        ("sample: unknown pretrained name", ["sample", "pretrained:nope", "--out", f"{t}/s.npz"],
         2),
        ("sample: --out is a directory", ["sample", model, "--out", f"{t}/notes"], 2),
        ("sample: --out does not end in .npz", ["sample", model, "--out", f"{t}/s.txt"], 2),
        ("sample: --out under a file", ["sample", model, "--out", f"{t}/afile/s.npz"], 2),
        ("sample: --n 0", ["sample", model, "--n", "0", "--out", f"{t}/s.npz"], 2),
        ("sample: --size 0", ["sample", model, "--size", "0", "--out", f"{t}/s.npz"], 2),
        ("eigen: sigma = 1e9", [*eigen, "--sigma", "1e9", "--out", f"{t}/e"], 2),
        ("eigen: sigma NaN", [*eigen, "--sigma", "nan", "--out", f"{t}/e"], 2),
        ("eigen: sigma negative", [*eigen, "--sigma", "-0.1", "--out", f"{t}/e"], 2),
        ("eigen: sigma written as 25/0", [*eigen, "--sigma", "25/0", "--out", f"{t}/e"], 2),
        ("eigen: --out is an existing file", [*eigen, "--sigma", "0.1", "--out", f"{t}/afile"],
         2),
        ("eigen: --out is a training run", [*eigen, "--sigma", "0.1", "--out", run], 2),
        ("eigen: input image missing", ["eigen", model, "--input", f"{t}/none.png", "--sigma",
                                        "0.1", "--out", f"{t}/e"], 2),
        ("eigen: NaN in the input file", ["eigen", model, "--input", f"{t}/nan.npy", "--index",
                                          "3", "--sigma", "0.1", "--out", f"{t}/e"], 2),
        ("eigen: --index out of range", [*eigen, "--index", "99", "--sigma", "0.1", "--out",
                                         f"{t}/e"], 2),
        ("eigen: --ranks 0", [*eigen, "--ranks", "0", "--sigma", "0.1", "--out", f"{t}/e"], 2),
        ("eigen: --k larger than the image", [*eigen, "--k", "1000", "--sigma", "0.1", "--out",
                                              f"{t}/e"], 2),
        ("solve: neither --input nor --measurement",
         ["solve", model, "--task", "inpaint", "--out", f"{t}/v"], 2),
        ("solve: --out is an existing file",
         ["solve", model, "--task", "pixels", "--input", f"{t}/x.png", "--out", f"{t}/afile"], 2),
        ("solve: fraction --p above 1",
         ["solve", model, "--task", "pixels", "--p", "2", "--measurement", f"{t}/img.npy",
          "--out", f"{t}/v"], 2),
        ("optimality: calpha without --alpha",
         ["optimality", model, "--data", "calpha", "--out", f"{t}/o"], 2),
        ("optimality: a NaN noise level", [*opt, "--sigmas", "0.1", "nan", "--out", f"{t}/o"],
         2),
        ("optimality: fit range holding no noise level",
         ["optimality", model, "--data", "calpha", "--alpha", "2", "--n-images", "1", "--sigmas",
          "0.1", "0.2", "--fit-range", "0.5", "0.6", "--out", f"{t}/o"], 2),
        ("optimality: --fit-range with --data discs",
         [*opt, "--fit-range", "0.1", "0.2", "--out", f"{t}/o"], 2),
        ("optimality: --out is an existing file", [*opt, "--out", f"{t}/afile"], 2),
        ("optimality: --options not JSON", [*opt, "--options", "{blur", "--out", f"{t}/o"], 2),
        ("convert: state dict keys without dots",
         ["convert", f"{t}/nodots.pt", "--arch", "unet", "--out", f"{t}/c"], 2),
        ("convert: not a PyTorch file", ["convert", f"{t}/garbage.pt", "--arch", "unet", "--out",
                                         f"{t}/c"], 2),
        ("convert: a pickled object, not tensors",
         ["convert", f"{t}/object.pt", "--arch", "unet", "--out", f"{t}/c"], 2),
        ("convert: --out is a training run",
         ["convert", f"{t}/nodots.pt", "--arch", "unet", "--out", run], 2),
        ("convert: --out is an existing file",
         ["convert", f"{t}/nodots.pt", "--arch", "unet", "--out", f"{t}/afile"], 2),
        ("convert: unknown --arch", ["convert", f"{t}/nodots.pt", "--arch", "vit", "--out",
                                     f"{t}/c"], 2),
        ("data make: --n 0", ["data", "make", "discs", "--n", "0", "--out", f"{t}/d.npy"], 2),
        ("data make: --out not .npy", ["data", "make", "discs", "--n", "2", "--out",
                                       f"{t}/d.png"], 2),
        ("data make: --out under a file", ["data", "make", "discs", "--n", "2", "--out",
                                           f"{t}/afile/d.npy"], 2),
        ("data show: unknown source", ["data", "show", "celeba", "--out", f"{t}/d.png"], 2),
        ("data show: NaN in the file", ["data", "show", f"{t}/nan.npy", "--out", f"{t}/d.png"], 2),
        ("data prepare: folder without images",
         ["data", "prepare", f"{t}/empty_folder", "--out", f"{t}/p.npy"], 2),
        ("sweep --list: N above half the data",
         ["sweep", *sweep, "--set", "sweep.n_train=[40]", "--list"], 2),
        ("sweep --list: N near half the data (a note, not an error)",
         ["sweep", *sweep, "--set", "sweep.n_train=[31]", "--list"], 0),
        ("sweep: --job out of range", ["sweep", *sweep, "--job", "9"], 2),
        ("sweep: finished run, other model settings",
         ["sweep", *sweep, "--set", "model.num_kernels=6", "--job", "0"], 2),
        ("memorization: finished run, other learning rate",
         ["memorization", *sweep, "--set", "train.lr=0.01"], 2),
        ("memorization: config without [sweep]", ["memorization", f"{t}/nosweep.toml"], 2),
        ("memorization --analysis-only: runs not trained",
         ["memorization", f"{t}/sweep.toml", "--out", f"{t}/sweep2", "--analysis-only"], 2),
        ("dynamics: neither a config nor --quick", ["dynamics", "--out", f"{t}/dyn"], 2),
        ("dynamics: config without train.snapshot_steps",
         ["dynamics", f"{t}/sweep.toml", "--out", f"{t}/dyn"], 2),
        ("dynamics --widths: not numbers",
         ["dynamics", "--quick", "--widths", "8,x", "--out", f"{t}/dyn"], 2),
        ("dynamics: unknown copy distance",
         ["dynamics", "--quick", "--set", "dynamics.copy_distance=manhattan", "--out",
          f"{t}/dyn"], 2),
        ("dynamics: a gain of 0 dB for tau_gen",
         ["dynamics", "--quick", "--set", "dynamics.gen_gain_db=0", "--out", f"{t}/dyn"], 2),
        ("demo: --out is an existing file", ["demo", "--quick", "--out", f"{t}/afile"], 2),
        ("demo: --out is a non-empty directory", ["demo", "--quick", "--out", f"{t}/notes"], 2),
        ("report: directory without report.json", ["report", f"{t}/notes"], 2),
        ("reproduce: unknown result", ["reproduce", "fig99", "--scale", "cpu"], 2),
        ("reproduce: no --scale", ["reproduce", "memorization-grid"], 2),
        ("sample: --budget 0", ["sample", model, "--budget", "0", "--out", f"{t}/s.npz"], 2),
        ("train: --out under a file", ["train", "--out", f"{t}/afile/run", *TINY_TRAIN], 2),
        ("eigen: --out under a file", [*eigen, "--sigma", "0.1", "--out", f"{t}/afile/e"], 2),
        ("compare: --out is an existing file",
         ["compare", run, "--patch-size", "3", "--images", "2", "--out", f"{t}/afile"], 2),
        ("compare: neither --patch-size nor --calibrate", ["compare", run, "--out", f"{t}/m"], 2),
        ("compare: a NaN noise level",
         ["compare", run, "--patch-size", "3", "--sigmas", "nan", "--out", f"{t}/m"], 2),
        ("compare: --patch-size 0", ["compare", run, "--patch-size", "0", "--out", f"{t}/m"], 2),
        ("compare: more test images than the run holds",
         ["compare", run, "--patch-size", "3", "--images", "16", "--out", f"{t}/m"], 2),
        ("compare: a model without its training config",
         ["compare", model, "--patch-size", "3", "--out", f"{t}/m"], 2),
        ("slopes: one model for five alphas", ["slopes", model, "--out", f"{t}/sl"], 2),
        ("slopes: --margin 0", ["slopes", model, "--alphas", "2", "--margin", "0", "--out",
                                f"{t}/sl"], 2),
        ("slopes: --out is an existing file",
         ["slopes", model, "--alphas", "2", "--out", f"{t}/afile"], 2),
        ("slopes: fit range holding no noise level",
         ["slopes", model, "--alphas", "2", "--fit-range", "0.5", "0.6", "--out", f"{t}/sl"], 2),
        ("scaling: preset missing", ["scaling", f"{t}/missing.toml", "--out", f"{t}/sc"], 2),
        ("scaling --list: --steps 0",
         ["scaling", CALPHA, "--steps", "0", "--out", f"{t}/sc", "--list"], 2),
        ("scaling --list: an image side the data refuses",
         ["scaling", CALPHA, "--sizes", "3", "--out", f"{t}/sc", "--list"], 2),
        ("scaling: --out is a non-empty directory", ["scaling", CALPHA, "--out", f"{t}/notes"],
         2),
        ("symmetry: sigma = 1e9", ["symmetry", model, "--input", img, "--sigmas", "1e9", "--out",
                                   f"{t}/sy"], 2),
        ("symmetry: --n-images 0", ["symmetry", model, "--input", img, "--n-images", "0",
                                    "--out", f"{t}/sy"], 2),
        ("symmetry: --out is an existing file",
         ["symmetry", model, "--input", img, "--out", f"{t}/afile"], 2),
        ("symmetry: no --input for a model without its training data",
         ["symmetry", model, "--out", f"{t}/sy"], 2),
        ("gahr: unknown command", ["dance"], 2),
        *data_cases(t, sweep),
        *writer_cases(t),
    ]


def data_cases(t: str, sweep: list[str]) -> list[tuple[str, list[str], int]]:
    """Data that lies, and experiments that cannot give a verdict (issue 24)."""
    def train_on(name, *more):
        return ["train", "--out", f"{t}/r_{name}", *TINY_TRAIN, "--set",
                f'data.source="{t}/{name}.npy"', "--set", "data.num_images=8", *more]
    return [
        ("train: a channels-last array (N, H, W, 3)", train_on("hwc"), 2),
        ("train: an int16 image file", train_on("int16"), 2),
        ("train: a 5-dimensional image file", train_on("five_d"), 2),
        ("train: a test set as large as the data (N would be 1)",
         ["train", "--out", f"{t}/r10", *TINY_TRAIN, "--set", "data.n_test=64"], 2),
        ("train: N takes every image, leaving no test image",
         ["train", "--out", f"{t}/r11", *TINY_TRAIN, "--set", "data.n_train=64"], 2),
        ("train: data.n_test negative",
         ["train", "--out", f"{t}/r12", *TINY_TRAIN, "--set", "data.n_test=-1"], 2),
        ("train: data.num_images = 0",
         ["train", "--out", f"{t}/r13", *TINY_TRAIN, "--set", "data.num_images=0"], 2),
        ("train: config.json edited after training, disagreeing with model.json",
         ["train", "--out", f"{t}/edited_run", *TINY_TRAIN, "--set", "model.num_kernels=6"], 2),
        ("train --dry-run: no config (paper-scale defaults, said)", ["train", "--dry-run"], 0),
        ("train --dry-run: a test set as large as the data (said, not run)",
         ["train", *TINY_TRAIN, "--set", "data.n_test=64", "--dry-run"], 0),
        ("sweep --dry-run: N above half the data (said, not run)",
         ["sweep", *sweep, "--set", "sweep.n_train=[40]", "--dry-run"], 0),
        ("eigen: --input a channels-last array",
         ["eigen", f"{t}/model", "--input", f"{t}/hwc.npy", "--sigma", "0.1", "--out",
          f"{t}/e2"], 2),
        ("data show: a channels-last array", ["data", "show", f"{t}/hwc.npy", "--out",
                                              f"{t}/d2.png"], 2),
        ("memorization: S1 and S2 are copies of one image (a warning, no verdict)",
         ["memorization", f"{t}/sweep.toml", "--out", f"{t}/copies_sweep", "--quiet", "--set",
          f'data.source="{t}/copies.npy"', "--set", "data.num_images=64"], 0),
        ("train: 20 PNGs in a folder, data.n_test = 256 (N would be 1)",
         ["train", "--out", f"{t}/r14", *TINY_TRAIN, "--set", f'data.source="{t}/pngs"',
          "--set", "data.num_images=20", "--set", "data.n_test=256"], 2),
        ("train: N above the number of images (split all)",
         ["train", "--out", f"{t}/r15", *TINY_TRAIN, "--set", "data.n_train=100"], 2),
        ("sweep: a finished job's config.json edited, disagreeing with model.json",
         ["sweep", f"{t}/sweep.toml", "--out", f"{t}/edited_sweep", "--quiet", "--set",
          "model.num_kernels=6", "--job", "0"], 2),
        ("symmetry: --input an int16 image file",
         ["symmetry", f"{t}/model", "--input", f"{t}/int16.npy", "--out", f"{t}/sy3"], 2),
        ("eigen: --input an int16 image file",
         ["eigen", f"{t}/model", "--input", f"{t}/int16.npy", "--sigma", "0.1", "--out",
          f"{t}/e3"], 2),
        ("eigen: --input a 5-dimensional image file",
         ["eigen", f"{t}/model", "--input", f"{t}/five_d.npy", "--sigma", "0.1", "--out",
          f"{t}/e4"], 2),
        ("symmetry: --input a channels-last array",
         ["symmetry", f"{t}/model", "--input", f"{t}/hwc.npy", "--out", f"{t}/sy2"], 2),
        ("solve: --measurement a channels-last array",
         ["solve", f"{t}/model", "--task", "pixels", "--measurement", f"{t}/hwc.npy", "--out",
          f"{t}/v2"], 2),
        ("data show: an int16 image file", ["data", "show", f"{t}/int16.npy", "--out",
                                            f"{t}/d3.png"], 2),
        ("data show: a 5-dimensional image file", ["data", "show", f"{t}/five_d.npy", "--out",
                                                   f"{t}/d4.png"], 2),
        ("memorization: 2 same-seed pairs (no interval, no verdict, said)",
         ["memorization", f"{t}/sweep.toml", "--out", f"{t}/sweep", "--quiet"], 0),
    ]


class _FullFile:
    """A file on a full disk: each write fails with ENOSPC, as the OS fails it."""

    def __init__(self, f):
        self._f = f

    def write(self, data):
        if len(data):
            raise OSError(28, "No space left on device")
        return 0

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


@contextlib.contextmanager
def full_disk(when=lambda name: True):
    """While this lasts, every file opened for writing through Python (gahr, numpy, matplotlib,
    PIL) whose name `when` accepts is on a full disk."""
    import builtins
    import os

    real = builtins.open

    def full_open(file, mode="r", *args, **kwargs):
        f = real(file, mode, *args, **kwargs)
        chosen = isinstance(file, str | os.PathLike) and when(os.path.basename(file))
        return _FullFile(f) if chosen and set(mode) & set("wax+") else f

    builtins.open = io.open = full_open
    try:
        yield
    finally:
        builtins.open = io.open = real


def fault_of(what: str):
    """The fault a case runs under (a context manager), from its description."""
    return full_disk() if what.endswith("(the disk is full)") else contextlib.nullcontext()


def run_case(argv: list[str], fault=None) -> tuple[int, str]:
    """(exit status, stderr) of `gahr ARGV` run in this process (under `fault`, a context
    manager, when given); a traceback is status 1 with its last line."""
    from gahr.cli import main

    err, out = io.StringIO(), io.StringIO()
    with (contextlib.redirect_stderr(err), contextlib.redirect_stdout(out),
          fault or contextlib.nullcontext()):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse
            code = e.code if isinstance(e.code, int) else 2
        except Exception:  # noqa: BLE001 - a traceback is what this script looks for
            return 1, "Traceback: " + traceback.format_exc().strip().splitlines()[-1]
    text = err.getvalue().strip() or out.getvalue().strip()
    return int(code or 0), text


def run_all(tmp: Path) -> list[dict]:
    """Run every case against fixtures in `tmp`; one dict per case."""
    make_fixtures(tmp)
    rows = []
    for what, argv, expected in cases(str(tmp)):
        code, text = run_case(argv, fault_of(what))
        lines = [line for line in text.splitlines() if line.strip()]
        rows.append({"what": what, "argv": argv, "expected": expected, "code": code,
                     "lines": lines, "message": _shown(lines[-1] if lines else "", tmp)})
    return rows


def _shown(text: str, tmp: Path) -> str:
    text = re.sub(r"\b(pid|kill) \d+", r"\1 $PID", text)  # the lock holder's, differs per run
    return text.replace(str(tmp), "$TMP").replace(f"{ROOT}/", "").replace("|", "\\|")


def _without_tiny(argv: list[str]) -> str:
    """The command line with the tiny-run settings shown as one word, TINY."""
    k = len(TINY_TRAIN)
    for i in range(len(argv) - k + 1):
        if argv[i:i + k] == TINY_TRAIN:
            argv = [*argv[:i], "TINY", *argv[i + k:]]
            break
    return " ".join(argv)


def markdown(rows: list[dict], tmp: Path) -> str:
    head = ["# Bad inputs and what `gahr` says", "",
            "Written by `python tools/bad_inputs.py` (checked by the slow test "
            "`tests/test_bad_inputs.py`): each command has one thing wrong; `$TMP` is the "
            "folder of the fixtures the script makes; `TINY` stands for the `--set` options "
            "of a seconds-long run (a 2-layer BF-CNN on 64 discs of 12x12, one epoch). Exit "
            "status 2: bad input, the message says what to change; 0: not an error (a note). "
            "The message is the last line on stderr (argparse's errors come after its usage "
            "line).", "",
            f"{len(rows)} commands.", "",
            "| # | what is wrong | command | exit | message |", "| --- | --- | --- | --- | --- |"]
    body = []
    for i, r in enumerate(rows, 1):
        command = _shown("gahr " + _without_tiny(r["argv"]), tmp)
        body.append(f"| {i} | {r['what']} | `{command}` | {r['code']} | {r['message']} |")
    return "\n".join(head + body) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare with docs/bad_inputs.md")
    args = p.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="gahr-bad-") as tmp:
        rows = run_all(Path(tmp))
        text = markdown(rows, Path(tmp))
    wrong = [r for r in rows if r["code"] != r["expected"]]
    for r in wrong:
        print(f"unexpected exit {r['code']} (want {r['expected']}): {r['what']}: "
              f"{r['message']}", file=sys.stderr)
    if args.check:
        same = DOC.exists() and DOC.read_text() == text
        print("docs/bad_inputs.md is up to date" if same else "docs/bad_inputs.md is stale")
        return 0 if same and not wrong else 1
    DOC.write_text(text)
    print(f"wrote {DOC} ({len(rows)} commands, {len(wrong)} unexpected)")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
