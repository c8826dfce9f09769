"""results.json, figures and report page of the memorization experiment, from the per-N records.

Figures: the Fig. 1-style grid (closest image in S1 / S1-model sample / S2-model sample /
closest image in S2, one column per N), one grid of every seed per N, similarity histograms per
N, train and test PSNR against N, distance to memorization against N.
"""

from pathlib import Path

import numpy as np

from ..config import SPLITS, MemorizationSection
from ..io import save_json
from ..metrics import sigma_label
from ..report import Report, histogram, line_plot, save_image_grid
from ..rundir import FIGURES

ROW_LABELS = ("closest in S1", "S1 model", "S2 model", "closest in S2")


def summary_row(record: dict, section: MemorizationSection) -> dict:
    """The table's numbers for one N: medians over samples, mean over the two models."""
    row = {"N": record["n"]}
    for s in SPLITS:
        rec = record[s]
        row[f"converged_{s}"] = rec["converged"]
        row[f"median_nearest_{s}"] = median_of(rec.get("nearest_own", {}).get("similarity"))
        row[f"median_nearest_other_{s}"] = median_of(rec.get("nearest_other", {})
                                                   .get("similarity"))
        row[f"median_patch_{s}"] = median_of(rec.get("patch_similarity_median"))
        row[f"ratio_test_{s}"] = rec.get("ratio_test_fraction")
        for t, frac in rec.get("fraction_above", {}).items():
            row[f"above_{t}_{s}"] = frac
    row["median_same_seed"] = median_of(record["same_seed_similarity"])
    for sigma in section.sigmas:
        key = sigma_label(sigma)
        for part in ("train", "test", "gap"):
            row[f"{part}_psnr_{key}"] = _mean([record[s]["psnr"][part][key] for s in SPLITS])
        row[f"distance_{key}"] = _mean([record[s]["distance_to_memorization"][key]
                                        for s in SPLITS])
        row[f"distance_train_{key}"] = _mean([record[s].get("distance_to_memorization_train",
                                                            {}).get(key) for s in SPLITS])
    return row


def median_of(values) -> float | None:
    """Median of the defined values (None for a failed sample); None when there are none."""
    finite = [v for v in values or [] if v is not None]
    return float(np.median(finite)) if finite else None


def _mean(values) -> float | None:
    """Mean of the two models' values; None (JSON null) when one is undefined, e.g. the
    infinite PSNR of a perfect memorizer on its own images."""
    return None if any(v is None for v in values) else float(np.mean(values))


def write_outputs(out: Path, records: list[dict], section: MemorizationSection,
                  log=print) -> dict:
    """results.json (every number), figures/ and report.json + report.html in `out`."""
    records = sorted(records, key=lambda r: r["n"] if isinstance(r["n"], int) else float("inf"))
    table = [summary_row(r, section) for r in records]
    results = {"settings": records[0]["settings"], "table": table,
               "per_n": {str(r["n"]): r for r in records}}
    save_json(results, out / "results.json")
    figures = draw_figures(out, records, table, section)
    _write_report(out, table, figures, section)
    for row in table:
        log(_table_line(row, section))
    return results


def _table_line(row: dict, section: MemorizationSection) -> str:
    def fmt(v, spec=".3f"):
        return "n/a" if v is None else format(v, spec)
    keys = [sigma_label(s) for s in section.sigmas if sigma_label(s) in ("25", "100")] or \
        [sigma_label(section.sigmas[0])]
    gaps = ", ".join(f"gap@{k}/255 {fmt(row[f'gap_psnr_{k}'], '.2f')} dB" for k in keys)
    dists = ", ".join(f"dist@{k}/255 {fmt(row[f'distance_{k}'], '.2e')}" for k in keys)
    return (f"N={row['N']}: nearest S1/S2 {fmt(row['median_nearest_S1'])}/"
            f"{fmt(row['median_nearest_S2'])}, same-seed {fmt(row['median_same_seed'])}, "
            f"{gaps}, {dists}")


def _grid_images(out: Path, records: list[dict]):
    """Per N: (4, num_samples, C, H, W) stack of the grid rows, and the first seed both kept."""
    stacks, firsts = [], []
    for record in records:
        with np.load(out / f"N{record['n']}.npz") as z:
            rows = [z["nearest_S1"], z["samples_S1"], z["samples_S2"], z["nearest_S2"]]
        stack = np.nan_to_num(np.stack(rows), nan=0.0)
        same = record["same_seed_similarity"] or []
        firsts.append(next((i for i, v in enumerate(same) if v is not None), 0))
        stacks.append(stack)
    return stacks, firsts


def draw_figures(out: Path, records: list[dict], table: list[dict],
                 section: MemorizationSection) -> list[dict]:
    """Draw every figure into out/figures; returns the report entries."""
    fig_dir, entries = out / FIGURES, []
    stacks, firsts = _grid_images(out, records)
    columns = np.stack([stack[:, first] for stack, first in zip(stacks, firsts, strict=True)],
                       axis=1)  # (4 rows, len(N) columns, C, H, W)
    path = save_image_grid(columns.reshape(-1, *columns.shape[2:]), fig_dir / "grid.png",
                           nrow=len(records), titles=[f"N={r['n']}" for r in records],
                           row_labels=list(ROW_LABELS), title="Same seed, models on S1 and S2")
    entries.append({"path": str(path), "title": "Fig. 1-style grid",
                    "caption": "Columns: N; rows: closest training image in S1, sample of the S1 "
                    "model, sample of the S2 model from the same seed, closest image in S2."})
    for record, stack in zip(records, stacks, strict=True):
        n = record["n"]
        path = save_image_grid(stack.reshape(-1, *stack.shape[2:]), fig_dir / f"grid_N{n}.png",
                               nrow=stack.shape[1], row_labels=list(ROW_LABELS),
                               title=f"N={n}: every seed")
        groups = {f"sample vs nearest in {s}": [v for v in record[s].get(
            "nearest_own", {}).get("similarity", []) if v is not None] for s in SPLITS}
        groups["S1 vs S2 sample, same seed"] = [v for v in record["same_seed_similarity"] or []
                                                if v is not None]
        entries.append({"path": str(path), "title": f"N={n}: all seeds"})
        groups = {k: v for k, v in groups.items() if v}  # every sample of a model may fail
        if groups:
            hist = histogram(fig_dir / f"similarity_N{n}.png", groups, "cosine similarity",
                             f"N={n}", bins=20, value_range=(-1.0, 1.0))
            entries.append({"path": str(hist), "title": f"N={n}: similarities"})
    entries += _curves(fig_dir, table, section)
    return entries


def _curves(fig_dir: Path, table: list[dict], section: MemorizationSection) -> list[dict]:
    rows = [r for r in table if isinstance(r["N"], int)]
    if not rows:
        return []
    ns = [r["N"] for r in rows]
    keys = [sigma_label(s) for s in section.sigmas]
    psnr = {f"{part} sigma={k}/255": [r[f"{part}_psnr_{k}"] for r in rows]
            for k in keys for part in ("train", "test")}
    # log axis: a distance of exactly 0 (perfect memorization) cannot be drawn, so it is left out
    dist = {f"held-out, sigma={k}/255": [r[f"distance_{k}"] or None for r in rows]
            for k in keys}
    dist.update({f"training images, sigma={k}/255": [r[f"distance_train_{k}"] or None
                                                     for r in rows] for k in keys})
    sims = {f"nearest training image ({s})": [r[f"median_nearest_{s}"] for r in rows]
            for s in SPLITS}
    sims["same seed S1/S2"] = [r["median_same_seed"] for r in rows]
    specs = [("psnr_vs_n.png", psnr, "PSNR (dB)", "Train and test PSNR (mean of S1, S2 models)",
              False),
             ("distance_vs_n.png", dist, "mean squared difference to the empirical oracle",
              "Distance to memorization", True),
             ("similarity_vs_n.png", sims, "median cosine similarity",
              "Memorization to generalization", False)]
    entries = []
    for name, curves, ylabel, title, logy in specs:
        xs, ys = _defined(ns, curves)
        if ys:
            path = line_plot(fig_dir / name, xs, ys, "N (training images)", ylabel, title,
                             logx=True, logy=logy)
            entries.append({"path": str(path), "title": title})
    return entries


def _defined(ns: list, curves: dict) -> tuple[dict, dict]:
    """Per curve, the points whose value is defined (not None); curves left empty are dropped."""
    xs, ys = {}, {}
    for label, values in curves.items():
        keep = [(n, v) for n, v in zip(ns, values, strict=True) if v is not None]
        if keep:
            xs[label], ys[label] = [n for n, _ in keep], [v for _, v in keep]
    return xs, ys


def _write_report(out: Path, table: list[dict], figures: list[dict],
                  section: MemorizationSection) -> None:
    report = Report(out, "Memorization versus generalization",
                    intro="Denoisers trained on disjoint sets S1, S2 of N images, sampled from "
                    "the same seeds (Kadkhodaie et al., ICLR 2024, Fig. 1 and 2).")
    report.add_section("Summary", "Medians over same-seed samples; PSNR and distance averaged "
                       "over the S1 and S2 models.", tables=[{"title": "per N", "rows": table}])
    report.add_section("Figures", "Memorization at small N: samples equal their closest "
                       "training image; generalization at large N: S1 and S2 samples agree.",
                       figures=figures)
    report.write()
