"""`gahr dynamics --widths 8,16`: the same study per model width, and where memorization sets in.

Width W sets the UNet's `model.num_kernels`; each width's study lives in `<out>/width{W}/` (its
runs, dynamics.json, report). `<out>/widths.json` holds, per width, the onset N (the N below
which f_mem at the last snapshot exceeds `dynamics.threshold`, `analysis.dynamics.onset_n`),
the final f_mem per N, tau_mem per N and the exponent; `<out>/report.html` shows the final f_mem
against N per width and includes every width's page.
"""

from pathlib import Path

import numpy as np

from ..config import with_overrides
from ..errors import ConfigError
from ..io import save_json
from ..report import Report, line_plot
from ..rundir import FIGURES
from .dynamics import run_dynamics
from .dynamics_config import DynamicsConfig


def parse_widths(text: str) -> list[int]:
    """"8,16,32" -> [8, 16, 32]."""
    try:
        widths = [int(w) for w in str(text).split(",") if w.strip()]
    except ValueError:
        raise ConfigError(f"--widths {text!r}: write numbers of kernels, e.g. 8,16") from None
    if not widths or any(w < 1 for w in widths) or len(set(widths)) != len(widths):
        raise ConfigError(f"--widths {text!r}: list distinct positive widths, e.g. 8,16")
    return widths


def run_widths(config: DynamicsConfig, widths: list[int], out=None, **options) -> dict:
    """`run_dynamics` per width in `<out>/width{W}`, then widths.json and the report."""
    if "num_kernels" not in config.model.config and config.model.arch != "unet":
        raise ConfigError(f"--widths sets model.num_kernels, which arch {config.model.arch!r} "
                          "lacks; use a UNet or BF-CNN")
    root = Path(out if out is not None else config.sweep.out)
    results = {}
    for w in widths:
        cfg = with_overrides(config, [f"model.num_kernels={w}"])
        found = run_dynamics(cfg, out=root / f"width{w}", **options)
        results[str(w)] = {"onset_n": found["onset_n"], "ns": found["ns"],
                           "final_f_mem": {n: found["f_mem"][n]["value"] for n in found["f_mem"]},
                           "tau_mem": {n: t["value"] for n, t in found["tau_mem"].items()},
                           "exponent": found["exponent"]}
    summary = {"threshold": config.dynamics.threshold, "widths": results}
    save_json(summary, root / "widths.json")
    _report(root, summary)
    return summary


def _report(root: Path, summary: dict) -> Path:
    widths = summary["widths"]
    ns = sorted({n for r in widths.values() for n in r["ns"] if n != "all"})
    curves = {f"W = {w}": [np.nan if r["final_f_mem"].get(str(n)) is None
                           else r["final_f_mem"][str(n)] for n in ns] for w, r in widths.items()}
    fig = line_plot(root / FIGURES / "widths.png", ns, curves, "N (training images)",
                    "f_mem at the last snapshot", "Memorized fraction at the end of training",
                    logx=True, dashed={"threshold": [summary["threshold"]] * len(ns)})
    report = Report(root, "Memorization in time across model widths")
    for w, r in widths.items():
        report.numbers[f"onset N, W = {w}"] = r["onset_n"]
    report.add_section("Onset of memorization per width", "; ".join(
        _onset_text(w, r, summary["threshold"]) for w, r in widths.items()) + ".",
        figures=[fig], layout="lead")
    for w in widths:
        report.include(root / f"width{w}", lead=True)
    return report.write()


def _onset_text(width, found: dict, threshold: float) -> str:
    if found["onset_n"] is not None:
        return (f"W = {width}: f_mem at the last snapshot exceeds {threshold:g} below "
                f"N = {found['onset_n']:.1f}")
    return (f"W = {width}: no onset inside the sweep (f_mem at the last snapshot exceeds "
            f"{threshold:g} at every N or at none)")


def width_lines(summary: dict) -> list[str]:
    """The terminal summary of a widths study."""
    lines = []
    for w, r in summary["widths"].items():
        onset = "outside the sweep" if r["onset_n"] is None else f"{r['onset_n']:.1f}"
        finals = ", ".join(f"N={n}: {v:.2f}" for n, v in r["final_f_mem"].items()
                           if v is not None)
        lines.append(f"W={w}: onset N {onset}; final f_mem {finals}")
    return lines
