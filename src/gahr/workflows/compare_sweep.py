"""`gahr compare RUN RUN ...`: the comparison for several nets (e.g. one per N of a sweep) and
one table across them, beside the memorization experiment's same-seed S1/S2 similarity.

Each run is compared in `out/<N{n}_{split}>/` (`compare.compare_run`, resumable); then
`summary.json`, the figures across N and a report that includes every run's report.
"""

import json
from pathlib import Path

from ..errors import ConfigError, DataError
from ..io import check_out_dir, save_json
from ..report import Report, line_plot
from ..rundir import FIGURES
from .compare import CompareSettings, compare_run, data_config
from .compare_report import LABELS

KEY_SIGMAS = ("25", "100")  # the README table's noise levels (/255), when measured


def run_label(spec) -> str:
    """N{n}_{split} of a run, from its saved [data]."""
    data = data_config(spec)
    return f"N{data.n_train}_{data.split}"


def memorization_similarity(path) -> dict:
    """{N: median same-seed S1/S2 similarity} of a memorization experiment's results.json."""
    try:
        table = json.loads(Path(path).read_text())["table"]
    except (OSError, json.JSONDecodeError, KeyError) as e:
        raise DataError(f"cannot read the memorization results {path} ({e}); pass the "
                        "results.json that `gahr memorization` wrote") from None
    return {row["N"]: row.get("median_same_seed") for row in table}


def summary_row(results: dict, same_seed: dict) -> dict:
    """One run's line: MSE(net, model) and calibrated k at the key sigmas, median r."""
    row = {"N": results["n"], "split": results["split"]}
    summ = results["summary"]
    for name in results["per_sigma"]:
        text = LABELS.get(name, name)
        for label in KEY_SIGMAS:
            if label in summ[name]:
                row[f"MSE(net, {text}) @{label}"] = summ[name][label]["to_net"][0]
                if summ[name][label]["k"] is not None:
                    row[f"{text} k @{label}"] = summ[name][label]["k"]
    for name, rec in results["samples"].items():
        row[f"r(net, {LABELS.get(name, name)})"] = rec["median_pearson_r"]
        if rec.get("median_pearson_r_interval"):
            low, high = rec["median_pearson_r_interval"]
            row[f"r(net, {LABELS.get(name, name)}), 95% interval"] = f"[{low:.3f}, {high:.3f}]"
        row[f"r(net, {LABELS.get(name, name)}), different seeds"] = \
            rec["different_seed_median_r"]
    if same_seed:
        row["S1/S2 same-seed similarity (memorization)"] = same_seed.get(results["n"])
    return row


def compare_runs(specs, settings: CompareSettings, out, memorization=None, device="cpu",
                 threads: int = 1, log=print) -> dict:
    """compare_run for every spec, then summary.json, figures and the report across them."""
    # */partial.json: a rerun after a stop inside the first run resumes it
    out = check_out_dir(out, ("summary.json", "report.html", "*/results.json", "*/partial.json"),
                        "comparison")
    labels = [run_label(spec) for spec in specs]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"two runs share a label ({labels}); compare one run per N and split")
    same_seed = memorization_similarity(memorization) if memorization else {}
    runs = {}
    for spec, label in zip(specs, labels, strict=True):
        runs[label] = compare_run(spec, settings, out / label, device=device, threads=threads,
                                  log=log)
    rows = sorted((summary_row(r, same_seed) for r in runs.values()), key=lambda r: r["N"])
    save_json({"settings": next(iter(runs.values()))["settings"], "table": rows,
               "memorization": str(memorization) if memorization else None,
               "runs": {label: str(out / label / "results.json") for label in runs}},
              out / "summary.json")
    figures = draw_across(out / FIGURES, list(runs.values()), same_seed)
    report = Report(out, "Analytic models of generalization",
                    intro="Per N: how closely the global memorizer, the ELS/LS machines and the "
                    "fitted Gaussian of the net's own training set explain the net.")
    report.add_section("Across N", "MSE(net, model) at the key sigmas (/255) and the median "
                       "Pearson r of same-seed deterministic samples; the memorization column "
                       "is the S1/S2 similarity of that experiment (its stochastic sampler).",
                       figures=figures, tables=[{"title": "per run", "rows": rows}])
    for label in runs:
        report.include(out / label, label=label)
    report.write()
    for row in rows:
        log(", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                      for k, v in row.items()))
    return {"table": rows, "runs": runs}


def draw_across(fig_dir: Path, runs: list[dict], same_seed: dict) -> list[dict]:
    """Median r against N (with the S1/S2 curve) and MSE(net, model) against N."""
    runs = sorted(runs, key=lambda r: r["n"])
    entries = []
    xs, ys = {}, {}
    for r in runs:
        for name, rec in r["samples"].items():
            if rec["median_pearson_r"] is not None:
                key = f"net vs {LABELS.get(name, name)}"
                xs.setdefault(key, []).append(r["n"])
                ys.setdefault(key, []).append(rec["median_pearson_r"])
    dashed, dx = {}, {}
    points = [(n, v) for n, v in sorted(same_seed.items()) if v is not None]
    if points:
        key = "S1 net vs S2 net (memorization experiment)"
        dx[key], dashed[key] = [n for n, _ in points], [v for _, v in points]
    if ys:
        path = line_plot(fig_dir / "r_vs_n.png", {**xs, **dx}, ys, "N (training images)",
                         "median Pearson r of same-seed samples", "Whose samples the net's match",
                         logx=True, dashed=dashed or None)
        entries.append({"path": str(path), "title": "Same-seed samples against N"})
    for label in KEY_SIGMAS:
        curves, cx = {}, {}
        for r in runs:
            for name in r["per_sigma"]:
                if label in r["summary"][name]:
                    key = f"net vs {LABELS.get(name, name)}"
                    cx.setdefault(key, []).append(r["n"])
                    curves.setdefault(key, []).append(r["summary"][name][label]["to_net"][0])
        own = [(r["n"], r["summary"]["net"][label][0]) for r in runs
               if label in r["summary"]["net"]]
        if curves:
            ref = "net's own MSE to the clean image"
            path = line_plot(fig_dir / f"mse_vs_n_{label}.png", {**cx, ref: [n for n, _ in own]},
                             curves, "N (training images)", "mean squared difference to the net",
                             f"Outputs at sigma = {label}/255", logx=True, logy=True,
                             dashed={ref: [v for _, v in own]})
            entries.append({"path": str(path), "title": f"MSE(net, model) at {label}/255"})
    return entries
