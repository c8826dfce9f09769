"""results.json, figures and report page of `gahr compare`, from its measured numbers.

Per run: the per-sigma table (MSE of the net to each model, and each one's MSE to the clean
image, mean and standard error over the test images), the figures MSE(net, model) against sigma
with the net's own error beside, the calibrated patch size against sigma and the calibration
curves MSE(net, ELS_k) against k, the same-seed deterministic samples (net above each model).
"""

from pathlib import Path

import numpy as np

from ..analysis.agreement import mean_and_se
from ..io import save_json
from ..report import Report, line_plot, save_image_grid
from ..rundir import FIGURES

LABELS = {"memorizer": "global memorizer", "gaussian": "fitted Gaussian", "els": "ELS",
          "ls": "LS", "other_split": "other-split net"}


SHORT = {"memorizer": "memorizer", "gaussian": "Gaussian", "els": "ELS", "ls": "LS",
         "other_split": "other net"}


def label_of(name: str, results: dict) -> str:
    """A model's name in figures: the local machines with their patch size."""
    text = LABELS.get(name, name)
    if name in results.get("calibration", {}):
        return f"{text} (calibrated k)"
    if name in ("els", "ls"):
        return f"{text} (k={results['settings']['patch_size']})"
    return text


def summary(results: dict) -> dict:
    """{"net": {sigma: [mean, se] of MSE(net, x)}, name: {sigma: {"to_net": [mean, se],
    "to_clean": [mean, se], "k": calibrated k or None}}}."""
    out: dict = {"net": {}}
    for name, per_sigma in results["per_sigma"].items():
        best = results.get("calibration", {}).get(name, {}).get("best", {})
        out[name] = {}
        for label, rec in per_sigma.items():
            out["net"][label] = list(mean_and_se(rec["reference_to_clean"]))
            out[name][label] = {"to_net": list(mean_and_se(rec["to_reference"])),
                                "to_clean": list(mean_and_se(rec["to_clean"])),
                                "k": best.get(label)}
    return out


def table_rows(results: dict, summ: dict) -> list[dict]:
    """One row per sigma: the net's MSE to the clean image, then per model MSE(net, model)
    (mean and standard error), the model's MSE to clean and its calibrated k."""
    rows = []
    for label in summ["net"]:
        row = {"sigma (/255)": float(label), "net: MSE to clean": summ["net"][label][0]}
        for name in results["per_sigma"]:
            rec, text = summ[name][label], LABELS.get(name, name)
            row[f"MSE(net, {text})"] = rec["to_net"][0]
            row[f"s.e. ({text})"] = rec["to_net"][1]
            row[f"{text}: MSE to clean"] = rec["to_clean"][0]
            if rec["k"] is not None:
                row[f"{text}: calibrated k"] = rec["k"]
        rows.append(row)
    return rows


def _closest(results: dict, summ: dict, label: str) -> str:
    """The model nearest to the net at one sigma, as a sentence."""
    pairs = sorted((summ[name][label]["to_net"][0], label_of(name, results))
                   for name in results["per_sigma"])
    text = ", ".join(f"{model} {mse:.2e}" for mse, model in pairs)
    return f"at {label}/255 closest: {pairs[0][1]} (MSE to the net: {text})"


def draw_outputs(fig_dir: Path, results: dict, summ: dict) -> list[dict]:
    """MSE(net, model) against sigma, and for each calibration k and MSE against k."""
    labels = list(summ["net"])
    x = [float(s) for s in labels]
    ys = {label_of(n, results): [summ[n][s]["to_net"][0] for s in labels]
          for n in results["per_sigma"]}
    path = line_plot(fig_dir / "mse_vs_sigma.png", x, ys, "sigma (/255)",
                     "mean squared difference to the net", "Which model explains the net",
                     logx=True, logy=True,
                     dashed={"net's own MSE to the clean image": [summ["net"][s][0]
                                                                  for s in labels]})
    caption = ("Solid: MSE between the net's output and each model's (models at the true "
               "sigma, net blind); dashed: the net's error. " + _closest(results, summ,
                                                                          labels[len(labels) // 2]))
    entries = [{"path": str(path), "title": "MSE(net, model) against sigma", "caption": caption}]
    for name, cal in results.get("calibration", {}).items():
        text = LABELS.get(name, name)
        if "steps" in cal:
            entries += draw_trajectory_calibration(fig_dir, name, cal)
            continue
        path = line_plot(fig_dir / f"calibrated_k_{name}.png", x, {"calibrated k": [
            cal["best"][s] for s in labels]}, "sigma (/255)", "patch size k (pixels)",
            f"{text}: the patch size that best matches the net", logx=True)
        ks = ", ".join(f"{s}: {cal['best'][s]}" for s in labels)
        entries.append({"path": str(path), "title": f"{text}: calibrated k",
                        "caption": f"argmin over k in {cal['patch_sizes']} of MSE(net, "
                        f"{text}_k); per sigma (/255) {ks}."})
        curves = {f"{s}/255": [float(np.mean(cal["mse"][s][str(k)])) for k in cal["patch_sizes"]]
                  for s in labels}
        path = line_plot(fig_dir / f"calibration_{name}.png", cal["patch_sizes"], curves,
                         "patch size k (pixels)", f"MSE(net, {text}_k)",
                         f"{text}: calibration curves, one per sigma", logy=True)
        entries.append({"path": str(path), "title": f"{text}: MSE against k"})
    return entries


def draw_trajectory_calibration(fig_dir: Path, name: str, cal: dict) -> list[dict]:
    """The k chosen per sampler step against the step's noise level, and the mean score
    cosine of each k per step."""
    text = LABELS.get(name, name)
    sigma = [step["sigma"] * 255 for step in cal["steps"]]
    path = line_plot(fig_dir / f"calibrated_k_{name}.png", sigma, {"median k over samples": [
        step["best"] for step in cal["steps"]]}, "noise level of the step (/255)",
        "patch size k (pixels)", f"{text}: k per step on the net's trajectory", logx=True)
    ks = ", ".join(f"{s:.3g}: {step['best']}" for s, step in zip(sigma, cal["steps"],
                                                                  strict=True))
    entries = [{"path": str(path), "title": f"{text}: calibrated k per step",
                "caption": f"per step, the k in {cal['patch_sizes']} whose machine's score "
                f"has the largest cosine with the net's at the net's iterate (median over "
                f"{len(cal['seeds'])} calibration trajectories); sigma (/255): k {ks}."}]
    curves = {f"k={k}": [step["cosine"][str(k)] for step in cal["steps"]]
              for k in cal["patch_sizes"]}
    path = line_plot(fig_dir / f"calibration_{name}.png", sigma, curves,
                     "noise level of the step (/255)", "mean cosine(net score, machine score)",
                     f"{text}: score cosine per step and k", logx=True)
    entries.append({"path": str(path), "title": f"{text}: score cosine against k"})
    return entries


def draw_samples(fig_dir: Path, results: dict, found: dict) -> list[dict]:
    """The same-seed samples: the net's row above each model's (failed samples black)."""
    if not found:
        return []
    names = ["net", *(n for n in found if n != "net")]
    rows = [np.nan_to_num(found[n]["samples"].numpy(), nan=0.0) for n in names]
    labels = ["net", *(SHORT.get(n, n) for n in names[1:])]  # row labels fit beside a cell
    path = save_image_grid(np.concatenate(rows), fig_dir / "samples.png", nrow=len(rows[0]),
                           row_labels=labels,
                           title=f"Sampler {results['settings']['sampler']!r}, same seeds")
    r = ", ".join(f"{label_of(n, results)} {results['samples'][n]['median_pearson_r']:.3f}"
                  for n in names[1:] if results["samples"][n]["median_pearson_r"] is not None)
    return [{"path": str(path), "title": "Same-seed samples",
             "caption": "Columns: seeds; rows: the net, then each model from the same start "
             f"(sampler {results['settings']['sampler']!r}, made deterministic: no noise "
             f"injected after the start). Median Pearson r with the net: {r}."}]


def _interval(bounds) -> str:
    return f"[{bounds[0]:.3f}, {bounds[1]:.3f}]" if bounds else "n/a"


def write_run_outputs(out: Path, results: dict, found: dict | None = None, log=print) -> dict:
    """results.json (with the summary), figures/ and report.json + report.html in `out`."""
    summ = summary(results)
    results = {**results, "summary": summ}
    save_json(results, out / "results.json")
    fig_dir = out / FIGURES
    figures = draw_outputs(fig_dir, results, summ) + draw_samples(fig_dir, results, found or {})
    title = f"{results['spec']}: N={results['n']} ({results['split']})"
    report = Report(out, f"Analytic models against {title}",
                    intro=f"{results['settings']['n_images']} held-out test images; MSEs over "
                    f"{results['settings']['pixels'] or 'all'} pixels per image."
                    + "".join(f" No {LABELS.get(n, n)}: {why}."
                              for n, why in results.get("skipped", {}).items()))
    report.add_section("Outputs on noisy test images", _closest(
        results, summ, list(summ["net"])[len(summ["net"]) // 2]) + ".",
        figures=figures, tables=[{"title": "per sigma", "rows": table_rows(results, summ)}])
    if results["samples"]:
        rows = [{"model": label_of(n, results), "pairs": s["pairs"],
                 "median Pearson r (= mean-removed cosine)": s["median_pearson_r"],
                 "95% interval": _interval(s.get("median_pearson_r_interval")),
                 "different-seed median r": s["different_seed_median_r"]}
                for n, s in results["samples"].items()]
        report.add_section("Same-seed deterministic samples", "Pearson r across pixels between "
                           "the net's sample and the model's from the same seed; the different-"
                           "seed r is what unrelated samples share.", tables=[rows])
    report.write()
    for row in table_rows(results, summ):
        log("  " + ", ".join(f"{k} {v:.3g}" for k, v in row.items()))
    return results
