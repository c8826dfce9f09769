"""One command per result of the paper: a registry of recipes at CPU and paper scale.

Each `Result` names a figure or table of the paper, and for each scale a `Recipe`: the `gahr`
commands that produce it (run in order; every command resumes, so a rerun continues), the
preset they read, the data they need (with how to prepare it), and the expected run time.
Times are the strings measured by the project ("unmeasured" until then): never estimates.
"""

import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..report import ReportError

SCALES = ("cpu", "paper")
UNMEASURED = "unmeasured"
FASHION_DIR = "/usr/share/datasets/fashion-mnist"


@dataclass(frozen=True)
class Need:
    """A file or folder a recipe reads, and the one-line way to make it."""

    path: str
    how: str


@dataclass(frozen=True)
class Recipe:
    """The commands of one result at one scale (argv lists, without the leading `gahr`)."""

    steps: tuple[tuple[str, ...], ...]
    preset: str
    needs: tuple[Need, ...] = ()
    cpu_time: str = UNMEASURED  # on the project's 2-core CPU
    gpu_time: str = UNMEASURED  # on one GPU, where one was lent

    def commands(self) -> list[str]:
        return [shlex.join(("gahr", *step)) for step in self.steps]


@dataclass(frozen=True)
class Result:
    """A figure or table of the paper and how to reproduce it at each scale."""

    name: str
    paper: str  # what the paper shows, in words
    recipes: dict = field(default_factory=dict)  # scale -> Recipe

    def recipe(self, scale: str) -> Recipe:
        if scale not in self.recipes:
            have = ", ".join(self.recipes) or "none"
            raise ReportError(f"{self.name} has no --scale {scale} recipe (it has: {have}); "
                              "pick one of those")
        return self.recipes[scale]


_FASHION = Need(FASHION_DIR, "apt-get install dataset-fashion-mnist (Debian), or pass the IDX "
                "folder in the preset's data section")
_CELEBA = Need("data/celeba80.npy", "download CelebA's aligned faces, then run: gahr data prepare "
               "FOLDER --preset celeba --out data/celeba80.npy")

# The memorization experiment trains its S1/S2 sweep, then writes the grid, histograms,
# PSNR-vs-N curve, results.json and report.html at once.
_SWEEP = {
    "cpu": Recipe(steps=(("memorization", "configs/experiments/fashion32.toml"),),
                  preset="configs/experiments/fashion32.toml", needs=(_FASHION,),
                  cpu_time="53 min (measured: 10 x 4-6 min training, two at a time, + 2.4 min "
                           "analysis, 1 thread each)"),
    "paper": Recipe(steps=(("memorization", "configs/experiments/celeba80.toml"),),
                    preset="configs/experiments/celeba80.toml", needs=(_CELEBA,)),
}


def _calpha_steps(preset: str, out: str) -> tuple[tuple[str, ...], ...]:
    """Train one net per alpha, then the slope table of all five against the optimum, the
    wavelets and the paper, each fitted where its error is set by the noise (`gahr slopes`)."""
    steps = [("train", preset, "--set", f"data.options.alpha={alpha}", "--out",
              f"{out}/alpha{alpha}") for alpha in (1, 2, 3, 4, 5)]
    steps.append(("slopes", f"{out}/alpha{{alpha}}", "--out", f"{out}/slopes"))
    return tuple(steps)


#: Noise levels of the eigenvector grids at CPU scale: from a light noise (24.6 dB input PSNR)
#: to a heavy one (12.5 dB), where the kept dimension tr J shrinks by about half.
HARMONIC_SIGMAS = ("15/255", "30/255", "60/255")


def _harmonic_steps(models: dict, out: str) -> tuple[tuple[str, ...], ...]:
    """The eigenvector grids of each model {name: model} at fresh test images of its class."""
    return tuple(("eigen", model, "--sigmas", *HARMONIC_SIGMAS, "--out", f"{out}/{name}",
                  "--quiet") for name, model in models.items())


def _eigen_steps(preset: str, run: str,
                 test_images: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Train, write held-out test images (`test_images` is the command making them, or the
    data file itself), decompose J at the first one."""
    make = (test_images,) if len(test_images) > 1 else ()
    source = test_images[-1] if len(test_images) == 1 else f"{run}/test_images.npy"
    return (("train", preset, "--out", run), *make,
            ("eigen", run, "--input", source, "--sigma", "30/255", "--out", f"{run}/eigen"))


def _disc_steps(preset: str, run: str) -> tuple[tuple[str, ...], ...]:
    return (("train", preset, "--out", run),
            ("optimality", run, "--data", "discs", "--out", f"{run}/optimality"))


_EIGEN = {
    # CPU scale: discs (no download); fresh test discs from a seed the training set never used.
    "cpu": Recipe(_eigen_steps("configs/cpu/discs32_unet.toml", "runs/eigen-cpu", (
        "data", "make", "discs", "--n", "4", "--size", "32", "--seed", "99", "--out",
        "runs/eigen-cpu/test_images.npy")), "configs/cpu/discs32_unet.toml",
        cpu_time="3.0 min (measured: 1 thread, beside another 1-thread job)"),
    "paper": Recipe(_eigen_steps("configs/paper/celeba80_unet.toml", "runs/eigen-paper",
                                 ("data/celeba80.npy",)),
                    "configs/paper/celeba80_unet.toml", (_CELEBA,)),
}
_CALPHA = {
    "cpu": Recipe(_calpha_steps("configs/cpu/calpha32_unet.toml", "runs/calpha-cpu"),
                  "configs/cpu/calpha32_unet.toml",
                  cpu_time="32 min (measured: 5 x 5-7 min training + 2 min slopes, 1 thread, "
                           "beside another 1-thread job)"),
    "paper": Recipe(_calpha_steps("configs/paper/calpha80_unet.toml", "runs/calpha-paper"),
                    "configs/paper/calpha80_unet.toml"),
}
_HARMONIC = {
    # the shipped nets (retrained with the repository's recipe, same names)
    "cpu": Recipe(_harmonic_steps({"calpha2": "pretrained:calpha32-alpha2",
                                   "fashion32": "pretrained:fashion32"}, "runs/harmonic-cpu"),
                  "configs/cpu/calpha32_unet.toml", needs=(_FASHION,),
                  cpu_time="1.7 min (measured: 1 thread, beside two 1-thread jobs)"),
    "paper": Recipe((("train", "configs/paper/calpha80_unet.toml", "--out",
                      "runs/harmonic-paper/calpha80"),
                     ("train", "configs/paper/celeba80_unet.toml", "--out",
                      "runs/harmonic-paper/celeba80"),
                     *_harmonic_steps({"calpha80/eigen": "runs/harmonic-paper/calpha80",
                                       "celeba80/eigen": "runs/harmonic-paper/celeba80"},
                                      "runs/harmonic-paper")),
                    "configs/paper/celeba80_unet.toml", (_CELEBA,)),
}
_SYMMETRY = {
    "cpu": Recipe((("symmetry", "pretrained:discs32", "pretrained:discs32-long", "--out",
                    "runs/symmetry-cpu/discs"),
                   ("symmetry", "pretrained:fashion32", "--out", "runs/symmetry-cpu/fashion32")),
                  "configs/cpu/discs32_unet.toml", needs=(_FASHION,),
                  cpu_time="3.8 min (measured: 1 thread, beside two 1-thread jobs)"),
}
_DISCS = {
    "cpu": Recipe(_disc_steps("configs/cpu/discs32_unet.toml", "runs/discs-cpu"),
                  "configs/cpu/discs32_unet.toml",
                  cpu_time="3.7 min (measured: 1 thread, beside another 1-thread job)"),
    "paper": Recipe(_disc_steps("configs/paper/discs80_unet.toml", "runs/discs-paper"),
                    "configs/paper/discs80_unet.toml"),
}

# Memorization in time (not in the paper: Bonnaire, Urfin, Biroli & Mezard, NeurIPS 2025): the
# S1/S2 sweep keeps log-spaced snapshots; f_mem, tau_mem(N), tau_gen, FID and the Gaussian share.
_DYNAMICS = {
    "cpu": Recipe(steps=(("dynamics", "configs/dynamics/fashion16.toml", "--out",
                          "runs/fashion16-dynamics"),),
                  preset="configs/dynamics/fashion16.toml", needs=(_FASHION,),
                  cpu_time="about 50 min (12 runs of 2-5 min on one thread beside other jobs, "
                           "then 10 min of measurement)"),
}

RESULTS = (
    Result("memorization-grid", "Fig. 1: same-seed samples of denoisers trained on disjoint S1, "
           "S2 of N images, beside each sample's nearest training image, for growing N", _SWEEP),
    Result("similarity-histograms", "cosine similarity of each sample to its nearest training "
           "image, and of the S1 and S2 samples from the same seed, per N", _SWEEP),
    Result("train-test-vs-n", "train and test denoising PSNR against N: the gap closes as the "
           "models generalize", _SWEEP),
    Result("eigenvectors", "Jacobian eigenvectors of the denoiser at one noisy image (the "
           "geometry-adaptive harmonic basis) and its shrinkage spectrum", _EIGEN),
    Result("effective-dimension", "effective dimension trace J(y) against sigma, and MSE ~ "
           "sigma^2 trace J", _EIGEN),
    Result("calpha-slopes", "C^alpha images: slope of output against input PSNR for alpha = 1..5, "
           "against the optimum alpha/(alpha+1) and wavelet thresholding", _CALPHA),
    Result("disc-manifold", "discs (a 5-dimensional manifold): effective dimension, tangent-space "
           "angles and eigenvectors of the net against the optimal projection", _DISCS),
    Result("harmonic-basis", "eigenvectors of J(y) of a C^alpha net and a photographic-image net "
           "at test images and several noise levels: harmonics oscillating along contours and in "
           "flat regions", _HARMONIC),
    Result("jacobian-symmetry", "how symmetric J(y) is (the shrinkage reading needs it): "
           "||J - J^T|| against ||J||, ||I - J||, the retained subspace and J y, per noise level",
           _SYMMETRY),
    Result("memorization-in-time", "beyond the paper: when training makes the denoiser memorize "
           "(tau_mem against N, Bonnaire et al. 2025), when it begins to generalize (tau_gen), and "
           "how much of it the training set's Gaussian denoiser explains", _DYNAMICS),
)


def find(name: str) -> Result:
    """The registered result called `name`."""
    for result in RESULTS:
        if result.name == name:
            return result
    raise ReportError(f"unknown result {name!r}; `gahr reproduce --list` names them all")


def missing_needs(recipe: Recipe, root=".") -> list[Need]:
    """The recipe's preset and data that are not on disk (paths relative to `root`)."""
    # data first: its message says how to prepare it, the likelier fix for a newcomer
    needs = (*recipe.needs,
             Need(recipe.preset, "run from the repository root, where configs/ lives"))
    return [need for need in needs if not (Path(root) / need.path).exists()]


def data_text(recipe: Recipe) -> str:
    """The data a recipe needs, in words: each file or folder to prepare and how, or that its
    images are generated (the preset's synthetic `data.source`)."""
    if recipe.needs:
        return "; ".join(f"{need.path} ({need.how})" for need in recipe.needs)
    source = None
    try:
        import tomllib

        with open(recipe.preset, "rb") as f:
            source = tomllib.load(f).get("data", {}).get("source")
    except (OSError, ValueError):
        pass
    what = f"synthetic {source}" if source else "synthetic images"
    return f"nothing to download: {what}, generated by the commands"


def list_rows(scales=SCALES) -> list[dict]:
    """One row per (result, scale): name, paper, preset, the data it needs, commands and
    times."""
    rows = []
    for result in RESULTS:
        for scale in scales:
            if scale in result.recipes:
                r = result.recipes[scale]
                rows.append(dict(name=result.name, scale=scale, paper=result.paper,
                                 preset=r.preset, data=data_text(r), commands=r.commands(),
                                 cpu_time=r.cpu_time, gpu_time=r.gpu_time))
    return rows


def markdown_table(scales=SCALES) -> str:
    """The reproduction table of the README, from the registry (times as recorded)."""
    lines = ["| result | what the paper shows | scale | commands | CPU time | GPU time |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row in list_rows(scales):
        commands = "<br>".join(f"`{c}`" for c in row["commands"])
        lines.append(f"| {row['name']} | {row['paper']} | {row['scale']} | {commands} | "
                     f"{row['cpu_time']} | {row['gpu_time']} |")
    return "\n".join(lines)


def _run_gahr(argv: list[str]) -> int:
    """Run `gahr ARGV` as a child process (its progress bars and errors stay its own)."""
    sys.stdout.flush()  # when piped, our "$ command" line must come before the child's output
    return subprocess.run([sys.executable, "-m", "gahr", *argv], check=False).returncode


def reproduce(name: str, scale: str, root=".", runner: Callable[[list[str]], int] = _run_gahr,
              echo: Callable[[str], None] = print) -> int:
    """Run every command of result `name` at `scale` in order; stop at the first failure.

    Missing data fails before anything runs, with the one line that says how to make it.
    """
    if scale not in SCALES:
        raise ReportError(f"--scale {scale!r} is unknown; use one of {', '.join(SCALES)}")
    recipe = find(name).recipe(scale)
    missing = missing_needs(recipe, root)
    if missing:
        need = missing[0]
        raise ReportError(f"{name} at --scale {scale} needs {need.path}, which is missing; "
                          f"{need.how}")
    for step, command in zip(recipe.steps, recipe.commands(), strict=True):
        echo(f"$ {command}")
        code = runner(list(step))
        if code != 0:
            echo(f"{name}: `{command}` exited with status {code}; fix it and rerun (finished "
                 "steps resume)")
            return code
    return 0


def step_problem(parser, step) -> str | None:
    """Why `gahr STEP` would not parse with `parser` (the CLI's), or None when it parses."""
    import contextlib
    import io

    sub = next((a for a in parser._actions if a.dest == "command"), None)  # the subcommands
    if sub is None or step[0] not in sub.choices:
        return f"no `gahr {step[0]}` command in this installation"
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            parser.parse_args(list(step))
    except SystemExit:
        lines = err.getvalue().strip().splitlines()
        return f"`{shlex.join(('gahr', *step))}` does not parse: {lines[-1] if lines else '?'}"
    return None


def check_rows(parser, root=".") -> list[dict]:
    """For each (result, scale): whether it can run here, and if not, every reason why."""
    rows = []
    for result in RESULTS:
        for scale, recipe in result.recipes.items():
            problems = [p for p in (step_problem(parser, s) for s in recipe.steps) if p]
            problems += [f"missing {n.path}" for n in missing_needs(recipe, root)]
            rows.append(dict(name=result.name, scale=scale, ready=not problems,
                             problems=list(dict.fromkeys(problems))))
    return rows
