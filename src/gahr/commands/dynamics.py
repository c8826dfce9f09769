"""`gahr dynamics CONFIG --out DIR`: memorization in time, on the snapshots of an S1/S2 sweep."""

from ._common import add_overrides_arg, show_progress


def register(sub) -> None:
    p = sub.add_parser(
        "dynamics", help="memorization in time: f_mem, tau_mem(N), tau_gen along training",
        description="Train the sweep's S1/S2 runs keeping snapshots (train.snapshot_steps), "
        "then at each snapshot sample both models from the same seeds and measure f_mem (Gu et "
        "al.'s ratio test), same-seed similarity, the train - test PSNR gap, the distance to "
        "the memorizer and the share of the output the fitted Gaussian denoiser explains. "
        "Writes DIR/dynamics.json (rows, tau_mem, tau_gen, exponent), DIR/figures/ and "
        "DIR/report.html. Finished runs and measurements are skipped on rerun.")
    p.add_argument("config", nargs="?", help="dynamics TOML ([data] [model] [train] [sweep] "
                   "[memorization] [dynamics]), e.g. configs/dynamics/fashion16.toml")
    p.add_argument("--quick", action="store_true",
                   help="the embedded toy preset (synthetic C^alpha images, no download; a few "
                        "minutes on 2 cores)")
    p.add_argument("--out", help="sweep root and output dir (default: sweep.out of the config)")
    add_overrides_arg(p)
    p.add_argument("--widths", help="model widths (UNet num_kernels), e.g. 8,16: the whole "
                   "study per width in DIR/width{W}/, and the N below which memorization sets "
                   "in per width in DIR/widths.json")
    p.add_argument("--analysis-only", action="store_true",
                   help="do not train: fail if a run or snapshot is missing")
    p.add_argument("--retrain", action="store_true",
                   help="train again the runs saved with other settings or without the "
                   "snapshots asked for")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and stop")
    p.add_argument("--quiet", action="store_true", help="no training progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..config import to_dict
    from ..workflows.dynamics import run_dynamics
    from ..workflows.dynamics_config import dynamics_config
    from ..workflows.dynamics_widths import parse_widths, run_widths, width_lines
    from ._common import print_json

    config = dynamics_config(args.config, args.quick, args.overrides)
    if args.dry_run:
        print_json(to_dict(config))
        return 0
    options = dict(out=args.out, train=not args.analysis_only, progress=show_progress(args),
                   retrain=args.retrain)
    if args.widths:
        widths = run_widths(config, parse_widths(args.widths), **options)
        print("\n".join(width_lines(widths)))
        return 0
    out = run_dynamics(config, **options)
    print("\n".join(result_lines(out)))
    return 0


def result_lines(out: dict) -> list[str]:
    """The terminal summary: tau_mem, tau_gen and tau_best per N, the exponent."""
    lines = []
    for n in out["ns"]:
        t, g = out["tau_mem"][str(n)], out["tau_gen"][str(n)]
        span = "" if t["value"] is None else f" [{_f(t['low'])}, {_f(t['high'])}]"
        best = out.get("tau_best", {}).get(str(n))
        lines.append(f"N={n}: tau_mem {_f(t['value'])}{span}, tau_gen {_f(g, 'none')}, "
                     f"tau_best {_f(best, 'none')}, final f_mem "
                     f"{out['f_mem'][str(n)]['value']:.2f}")
    e = out["exponent"]
    if e is not None:
        ci = "" if e["low"] is None else f" [{e['low']:.2f}, {e['high']:.2f}]"
        lines.append(f"tau_mem ~ N^b: b = {e['value']:.2f}{ci} over {e['n']} N")
    return lines


def _f(v, none: str = "not reached") -> str:
    return none if v is None else f"{v:.0f}"
