"""dynamics.json, figures and report page of `gahr dynamics`, from the (N, snapshot) records.

`rows`: one per (N, split, step), with f_mem and its interval, the PSNRs, the distance to the
memorizer and the Gaussian share per sigma, and the median same-seed S1/S2 similarity. Per N,
from both models' samples pooled: tau_mem with its interval and tau_gen; across N the exponent
of tau_mem ~ N^b (`gahr.analysis.dynamics`). Figures: the phase diagram (f_mem over log steps
x log N, tau_mem and tau_gen on it), the curves per N, and the Gaussian share per sigma.
"""

import math
from pathlib import Path

import numpy as np

from ..analysis import dynamics as dyn
from ..config import SPLITS
from ..io import save_json
from ..metrics import sigma_label
from ..report import Report, panel_plot, phase_diagram
from ..rundir import FIGURES
from .dynamics_config import DynamicsConfig
from .quality import quality_columns


def pooled_flags(records: list[dict]) -> np.ndarray:
    """(snapshots, 2 x samples) ratio-test flags of both models, snapshots in the records'
    order; NaN for a failed sample (left out of f_mem, as in each model's own f_mem)."""
    return np.array([[np.nan if f is None else float(f) for s in SPLITS
                      for f in r[s]["memorized"]] for r in records], dtype=np.float64)


def _mean(values) -> float | None:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(kept)) if kept else None


def _row(record: dict, split: str) -> dict:
    rec = record[split]
    f = rec["f_mem"] or {}
    same = [v for v in record["same_seed_similarity"] or [] if v is not None]
    psnr = rec["psnr"]
    return {"n": record["n"], "split": split, "step": record["step"],
            "f_mem": f.get("value"), "f_mem_low": f.get("low"), "f_mem_high": f.get("high"),
            "converged": rec["converged"],
            "same_seed_similarity": float(np.median(same)) if same else None,
            "train_psnr": _mean(psnr["train"].values()), "test_psnr": _mean(psnr["test"].values()),
            "psnr_gap": _mean(psnr["gap"].values()), "psnr_gap_per_sigma": psnr["gap"],
            "test_psnr_per_sigma": psnr["test"],
            "distance_to_memorization": rec["distance_to_memorization"],
            "gaussian_share": rec["gaussian_share"], **_quality_columns(record.get("quality"))}


QUALITY_COLUMNS = ("fid", "fid_low", "fid_high", "kid", "kid_low", "kid_high", "fid_real",
                   "quality_n")


def _quality_columns(quality: dict | None) -> dict:
    """FID / KID of both models' samples pooled (the same in the N's two rows), their 95%
    intervals, the real-against-real FID at the same count and that count; None each where
    nothing was measured."""
    return dict.fromkeys(QUALITY_COLUMNS) | (quality_columns(quality) if quality else {})


def summarize(records: list[dict], config: DynamicsConfig) -> dict:
    """Everything of dynamics.json but the figures: rows, per-N curves and times, exponent."""
    d, seed = config.dynamics, config.memorization.seed
    ns = list(dict.fromkeys(r["n"] for r in records))
    steps = sorted({r["step"] for r in records})
    by = {(r["n"], r["step"]): r for r in records}
    rows = [_row(by[n, s], split) for n in ns for split in SPLITS for s in steps]
    reference = dyn.identity_psnr(config.memorization.sigmas)
    out = {"steps": steps, "ns": ns, "rows": rows, "tau_mem": {}, "tau_gen": {}, "tau_best": {},
           "f_mem": {}, "test_psnr": {}, "identity_psnr": reference,
           "definitions": DEFINITIONS.format(t=d.threshold, m=d.gen_margin_db, g=d.gen_gain_db,
                                             r=reference, d=DISTANCE_WORDS[d.copy_distance])}
    replicates = {}
    for n in ns:
        flags = pooled_flags([by[n, s] for s in steps])
        found = dyn.tau_mem(steps, flags, d.threshold, seed=seed)
        replicates[n] = found.pop("replicates")
        out["tau_mem"][str(n)] = found
        out["f_mem"][str(n)] = dyn.f_mem_interval(flags[-1], seed=seed) | {
            "curve": [None if np.isnan(v) else float(v) for v in dyn.f_mem_curve(flags)]}
        test = [_mean(row["test_psnr"] for row in rows if row["n"] == n and row["step"] == s)
                for s in steps]
        out["test_psnr"][str(n)] = test
        test = [np.nan if v is None else v for v in test]
        out["tau_gen"][str(n)] = dyn.tau_gen(steps, test, reference, d.gen_gain_db)
        out["tau_best"][str(n)] = dyn.tau_best(steps, test, d.gen_margin_db)
    reached = [n for n in ns if out["tau_mem"][str(n)]["reached"] and n != "all"]
    out["exponent"] = dyn.exponent(reached, [out["tau_mem"][str(n)]["value"] for n in reached],
                                   [replicates[n] for n in reached])
    numeric = [n for n in ns if n != "all"]
    out["onset_n"] = dyn.onset_n(numeric, [out["f_mem"][str(n)]["value"] for n in numeric],
                                 d.threshold)
    gens = [v for v in out["tau_gen"].values() if v is not None]
    out["tau_gen_ratio"] = max(gens) / min(gens) if gens else None
    return out


DEFINITIONS = (
    "f_mem: fraction of samples whose distance to the nearest training image is below 1/3 of the "
    "distance to the second nearest (Gu et al.'s ratio test; distance: {d}), both models' "
    "samples pooled, 95% bootstrap "
    "interval. tau_mem: first step at which f_mem exceeds {t:g}, interpolated in log steps, "
    "interval from resampling the seeds. tau_gen: first step at which the test PSNR (mean over "
    "the noise levels and the two models) exceeds the identity denoiser's ({r:.2f} dB) by "
    "{g:g} dB: the net has begun to generalize (Bonnaire, Urfin, Biroli & Mezard, NeurIPS "
    "2025: 'an early time at which models begin to generate high-quality samples'); none when "
    "it never does. tau_best: first step at which the test PSNR is within {m:g} dB of its best "
    "over the snapshots; none when that best is at most {m:g} dB above the first snapshot's (no "
    "generalization phase). Gaussian share at sigma: "
    "1 - sum ||D(y) - G(y)||^2 / sum ||D(y) - mu||^2 on noisy held-out images, G the Wiener "
    "denoiser of the Gaussian fitted to the model's training set, mu its mean.")


DISTANCE_WORDS = {
    "l2": "pixel L2",
    "cosine": "L2 between the mean-removed unit vectors, sqrt(2 - 2 cosine similarity), so a "
              "training image at another contrast or brightness is a copy"}


def write_outputs(root, records: list[dict], config: DynamicsConfig) -> dict:
    """dynamics.json, the figures and report.html under `root`; returns dynamics.json."""
    root = Path(root)
    out = summarize(records, config)
    figures = _figures(root / FIGURES, out, config)
    save_json(out, root / "dynamics.json")
    _report(root, out, figures, config)
    return out


def _figures(fig_dir: Path, out: dict, config: DynamicsConfig) -> dict:
    ns = [n for n in out["ns"] if n != "all"]
    steps = out["steps"]
    label = {n: f"N = {n}" for n in ns}

    def nan(v):
        return np.nan if v is None else v

    taus = [out["tau_mem"][str(n)] for n in ns]
    phase = phase_diagram(
        fig_dir / "phase.png", steps, ns, [[nan(v) for v in out["f_mem"][str(n)]["curve"]]
                                            for n in ns],
        "Memorized fraction over training time and N",
        tau_mem=[nan(t["value"]) for t in taus],
        tau_mem_interval=[[nan(t["low"]) for t in taus], [nan(t["high"]) for t in taus]],
        tau_gen=[nan(out["tau_gen"][str(n)]) for n in ns], colorbar="f_mem (S1 + S2 samples)")
    rows = out["rows"]

    def curve(n, key, fn=_mean):
        return [nan(fn([r[key] for r in rows if r["n"] == n and r["step"] == s
                        and r[key] is not None])) for s in steps]

    panels = {"f_mem (ratio test)": {label[n]: out["f_mem"][str(n)]["curve"] for n in ns},
              "FID of the samples (S1 + S2)": {label[n]: curve(n, "fid") for n in ns},
              "test PSNR (dB, mean over sigma)": {label[n]: curve(n, "test_psnr") for n in ns},
              "train - test PSNR gap (dB)": {label[n]: curve(n, "psnr_gap") for n in ns},
              "same-seed S1/S2 similarity": {label[n]: curve(n, "same_seed_similarity")
                                             for n in ns}}
    sigmas = [sigma_label(s) for s in config.memorization.sigmas]
    top = sigmas[len(sigmas) // 2]
    panels[f"distance to memorizer at sigma = {top}/255"] = {
        label[n]: [nan(_mean([r["distance_to_memorization"][top] for r in rows
                              if r["n"] == n and r["step"] == s])) for s in steps] for n in ns}
    curves = panel_plot(fig_dir / "curves.png", steps, panels, "training step", {
        p: p.split(" (")[0] for p in panels}, "Memorization in time, per N", logx=True)
    share = {f"sigma = {k}/255": {label[n]: [nan(_mean([(r["gaussian_share"] or {}).get(k)
                                                    for r in rows if r["n"] == n
                                                    and r["step"] == s])) for s in steps]
                              for n in ns} for k in sigmas}
    gauss = panel_plot(fig_dir / "gaussian_share.png", steps, share, "training step",
                       "Gaussian share", "Share of the net's output the fitted Gaussian explains",
                       logx=True)
    return {"phase": phase, "curves": curves, "gaussian_share": gauss}


def _fmt(v, spec=".0f", none="not reached") -> str:
    return none if v is None else f"{v:{spec}}"


def phase_caption(out: dict) -> str:
    """What the phase diagram shows, from the numbers."""
    ns = [n for n in out["ns"] if n != "all"]
    taus = {n: out["tau_mem"][str(n)] for n in ns}
    last = out["steps"][-1]

    def one(n, t):
        if t["value"] is None:
            return (f"N = {n}: f_mem stays at or below {t['threshold']:g} up to step {last} "
                    f"(last: {out['f_mem'][str(n)]['value']:.2f})")
        high = f"{t['high']:.0f}" if t["high"] is not None else f"beyond step {last}"
        low = f"{t['low']:.0f}" if t["low"] is not None else f"beyond step {last}"
        return f"N = {n}: tau_mem {t['value']:.0f} [{low}, {high}]"

    parts = [one(n, t) for n, t in taus.items()]
    text = ("Colour: f_mem at each snapshot (white: no sample finished); squares: tau_gen (the "
            "test PSNR's first clear gain over the identity denoiser); dots: tau_mem (f_mem "
            "first above "
            f"{taus[ns[0]]['threshold']:g}) with its 95% interval. " + "; ".join(parts) + ".")
    e = out["exponent"]
    if e is not None:
        ci = (f" [{e['low']:.2f}, {e['high']:.2f}]" if e["low"] is not None
              else " (interval undefined: some resamples never cross)")
        text += f" Fitted tau_mem ~ N^b over {e['n']} N: b = {e['value']:.2f}{ci}."
    gens = {n: out["tau_gen"][str(n)] for n in ns}
    text += " tau_gen: " + ", ".join(f"{_fmt(v, none='none')} (N = {n})" for n, v in gens.items())
    if None in gens.values():
        text += (" (none: the test PSNR never rises the set gain above the identity denoiser's, "
                 "the net memorizes before it generalizes)")
    if out["tau_gen_ratio"] is not None:
        text += f"; largest / smallest = {out['tau_gen_ratio']:.2f}."
    text += " tau_best (within the margin of the best test PSNR): " + ", ".join(
        f"{_fmt(out['tau_best'][str(n)], none='none')} (N = {n})" for n in ns) + "."
    return text


def share_caption(out: dict, sigmas: list[str]) -> str:
    """The Gaussian share at the first and last snapshot, smallest and largest N, per sigma."""
    ns = [n for n in out["ns"] if n != "all"]
    first, last = out["steps"][0], out["steps"][-1]

    def share(n, step, k):
        return _mean([(r["gaussian_share"] or {}).get(k) for r in out["rows"]
                      if r["n"] == n and r["step"] == step])

    parts = []
    for k in sigmas:
        cells = [f"N = {n}: {_fmt(share(n, first, k), '.2f')} -> {_fmt(share(n, last, k), '.2f')}"
                 for n in (ns[0], ns[-1])]
        parts.append(f"sigma {k}/255: " + ", ".join(cells))
    return (f"Share at step {first} -> step {last} (mean of S1 and S2; 1: the net is the "
            "training set's Wiener denoiser). " + "; ".join(parts) + ". At low noise the "
            "Wiener denoiser is close to the identity, so a net that has learned little already "
            "scores high there: read the share at high noise.")


def _report(root: Path, out: dict, figures: dict, config: DynamicsConfig) -> Path:
    report = Report(root, "Memorization in time", intro=out["definitions"])
    ns = [n for n in out["ns"] if n != "all"]
    for n in ns:
        report.numbers[f"tau_mem N={n}"] = out["tau_mem"][str(n)]["value"]
        report.numbers[f"tau_gen N={n}"] = out["tau_gen"][str(n)]
    if out["exponent"] is not None:
        report.numbers["exponent b (tau_mem ~ N^b)"] = out["exponent"]["value"]
    table = [{"N": n, "tau_mem": out["tau_mem"][str(n)]["value"],
              "tau_mem low": out["tau_mem"][str(n)]["low"],
              "tau_mem high": out["tau_mem"][str(n)]["high"], "tau_gen": out["tau_gen"][str(n)],
              "tau_best": out["tau_best"][str(n)],
              "final f_mem": out["f_mem"][str(n)]["value"],
              "final f_mem low": out["f_mem"][str(n)]["low"],
              "final f_mem high": out["f_mem"][str(n)]["high"]} for n in ns]
    report.add_section("Phase diagram", phase_caption(out), figures=[figures["phase"]],
                       tables=[{"title": "Times per N", "rows": table}], layout="lead")
    report.add_section("Curves per N", "f_mem, FID of both models' samples against held-out "
                       "real images (biased upward when fewer samples finish: compare it with "
                       "the real-against-real FID at the same count, fid_real in the table), "
                       "test PSNR, train - test gap, same-seed similarity and distance to the "
                       "memorizer at each snapshot (x: log steps).", figures=[figures["curves"]],
                       tables=[{"title": "Every row", "rows": _flat_rows(out["rows"]),
                                "folded": True}])
    sigmas = [sigma_label(s) for s in config.memorization.sigmas]
    report.add_section("Gaussian share", share_caption(out, sigmas),
                       figures=[figures["gaussian_share"]])
    return report.write()


def _flat_rows(rows: list[dict]) -> list[dict]:
    keep = ("n", "split", "step", "f_mem", "f_mem_low", "f_mem_high", "converged",
            "same_seed_similarity", "train_psnr", "test_psnr", "psnr_gap", "fid", "fid_real",
            "kid", "quality_n")
    return [{k: r[k] for k in keep} for r in rows]
