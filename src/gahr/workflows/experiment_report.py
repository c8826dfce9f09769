"""results.json, figures and report page of the memorization experiment, from the per-N records.

The page opens with the Fig. 1-style grid (closest image in S1 / S1-model sample / S2-model
sample / closest image in S2, one column per N) beside the named quantities per N with their
bootstrap intervals (`gahr.workflows.summary`) and a caption computed from them
(`gahr.workflows.captions`); the table of every number is folded away. Then one grid of every
seed and a similarity histogram per N, and the similarities, the train and test PSNR and the
distance to memorization against N, one panel per quantity.
"""

from pathlib import Path

import numpy as np

from ..config import SPLITS, MemorizationSection
from ..io import save_json
from ..metrics import sigma_label
from ..report import Report, histogram, panel_plot, save_image_grid
from ..rundir import FIGURES
from . import captions
from .quality import add_quality_columns
from .summary import quantity_table, summary_rows

ROW_LABELS = ("closest in S1", "S1 model", "S2 model", "closest in S2")


def grid_entry(path) -> dict:
    """The report entry of the Fig. 1-style grid at `path`."""
    return {"path": str(path), "title": "Fig. 1-style grid",
            "caption": "One column per N: the S1 and S2 models' samples from that N's median seed "
            "(the seed whose S1/S2 similarity is the median) between the closest training "
            "images. Crossed-out tiles: a failed sample (\"no pair\": no "
            "seed on which both models converged)."}


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
    overlap = record.get("overlap") or {}  # absent: computed before the check existed
    row["S2 images repeating S1"] = overlap.get("S2_in_S1")
    row["held-out images repeating training"] = (sum(overlap["test_in_train"].values())
                                                 if overlap else None)
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
                  quality=None) -> dict:
    """results.json (every number, and the per-N summary rows), figures/ and report.json +
    report.html in `out`. `quality(n, samples)` (`workflows.quality.sweep_quality`) adds the
    FID/KID columns."""
    records = sorted(records, key=lambda r: r["n"] if isinstance(r["n"], int) else float("inf"))
    table = [summary_row(r, section) for r in records]
    if quality is not None:
        add_quality_columns(table, out, records, quality)
    results = {"settings": records[0]["settings"], "table": table,
               "summary": summary_rows(records, section.sigmas),
               "per_n": {str(r["n"]): r for r in records}}
    results["warnings"] = captions.overlap_warnings(results["summary"])
    save_json(results, out / "results.json")
    figures = draw_figures(out, records, table, results["summary"], section)
    _write_report(out, table, results["summary"], figures)
    return results


def table_lines(results: dict) -> list[str]:
    """One terminal line per N: the medians with their intervals and the PSNR gap."""
    lines = []
    for row in results.get("summary", []):
        gap = row["gap_db"]
        lines.append(f"N={row['N']}: nearest-training similarity {captions.fmt(row['nearest'])}"
                     f", same-seed similarity {captions.fmt(row['same_seed'])}, train - test "
                     f"PSNR gap at {row['gap_sigma255']:g}/255 "
                     + ("n/a" if gap is None else f"{gap:.2f} dB"))
    return lines


def crossed_out(shape) -> np.ndarray:
    """A (C, H, W) tile that cannot pass for an image: mid-gray crossed by a white X."""
    tile = np.full(shape, 0.5)
    h, w = shape[-2:]
    for r in range(h):
        for c in {round(r * (w - 1) / max(h - 1, 1)), round((h - 1 - r) * (w - 1) /
                                                               max(h - 1, 1))}:
            tile[..., r, c] = 1.0
    return tile


# A bias-free denoiser is homogeneous, x_hat(a y) = a x_hat(y), so its prior cannot fix the
# intensity scale: the sampler's samples come out at a contrast set by their trajectory (the
# Fashion-MNIST N = 10 nets: norms 0.07-0.85 of the nearest training image's, where the
# memorizing oracle under the same sampler gives 1.00; the paper's code notes that "y range
# could be smaller than 1"), which the mean-removed cosine ignores. Each tile is shown on its
# own range so that shapes compare.
SCALED = "(each image min-max scaled)"


def failed_seeds(record: dict) -> dict:
    """{split: set of sample indices that failed} of one N's record."""
    return {s: {int(i) for i in record[s].get("failed", {})} for s in SPLITS}


def median_seed(same_seed: list) -> int | None:
    """The seed whose same-seed S1/S2 similarity is the (lower) median of the seeds both models
    finished (None marks a failed pair): a representative column, not a lucky or unlucky one."""
    done = sorted((v, i) for i, v in enumerate(same_seed) if v is not None)
    return done[(len(done) - 1) // 2][1] if done else None


def _grid_images(out: Path, records: list[dict]):
    """Per N: (4, num_samples, C, H, W) stack of the grid rows, failed samples (and their
    nearest-image tiles) crossed out, and the median seed of those both models converged on
    (None when there is none)."""
    stacks, seeds = [], []
    for record in records:
        with np.load(out / f"N{record['n']}.npz") as z:
            rows = [z["nearest_S1"], z["samples_S1"], z["samples_S2"], z["nearest_S2"]]
        stack = np.nan_to_num(np.stack(rows), nan=0.0)
        cross = crossed_out(stack.shape[2:])
        for split, rows_of in (("S1", (0, 1)), ("S2", (2, 3))):
            for i in failed_seeds(record)[split]:
                stack[list(rows_of), i] = cross
        same = record["same_seed_similarity"] or []
        seeds.append(median_seed(same))
        stacks.append(stack)
    return stacks, seeds


def grid_figure(out: Path, records: list[dict]) -> tuple[dict, list]:
    """The Fig. 1-style grid (one column per N, its median seed) as a
    report entry, and the per-N stacks of every seed."""
    stacks, seeds = _grid_images(out, records)
    columns = np.stack([stack[:, seed or 0] for stack, seed in zip(stacks, seeds,
                                                                     strict=True)],
                       axis=1)  # (4 rows, len(N) columns, C, H, W)
    path = save_image_grid(columns.reshape(-1, *columns.shape[2:]), out / FIGURES / "grid.png",
                           nrow=len(records), row_labels=list(ROW_LABELS),
                           titles=[f"N={r['n']}" + (" (no pair)" if f is None else "")
                                   for r, f in zip(records, seeds, strict=True)],
                           title="Same seed, models on S1 and S2 " + SCALED,
                           normalize="each")
    return grid_entry(path), stacks


def draw_figures(out: Path, records: list[dict], table: list[dict], summary: list[dict],
                 section: MemorizationSection) -> list[dict]:
    """Draw every figure into out/figures; returns the report entries, the grid first."""
    fig_dir = out / FIGURES
    grid, stacks = grid_figure(out, records)
    entries = [grid]
    for record, stack in zip(records, stacks, strict=True):
        n = record["n"]
        failed = failed_seeds(record)
        lost = ", ".join(f"#{i}" for i in sorted(failed["S1"] | failed["S2"]))
        title = (f"N={n}: every seed " + SCALED
                 + (f"; crossed out: failed ({lost})" if lost else ""))
        path = save_image_grid(stack.reshape(-1, *stack.shape[2:]), fig_dir / f"grid_N{n}.png",
                               nrow=stack.shape[1], row_labels=list(ROW_LABELS), title=title,
                               normalize="each")
        entries.append({"path": str(path), "title": f"N={n}: all seeds"})
        groups = {f"sample vs nearest in {s}": [v for v in record[s].get(
            "nearest_own", {}).get("similarity", []) if v is not None] for s in SPLITS}
        groups["S1 vs S2 sample, same seed"] = [v for v in record["same_seed_similarity"] or []
                                                if v is not None]
        groups = {k: v for k, v in groups.items() if v}  # every sample of a model may fail
        if groups:
            hist = histogram(fig_dir / f"similarity_N{n}.png", groups, "cosine similarity",
                             f"N={n}", bins=20, value_range=(-1.0, 1.0))
            entries.append({"path": str(hist), "title": f"N={n}: similarities"})
    return entries + curves(fig_dir, table, summary, section)


def _interval_arrays(rows: list[dict], key: str):
    """Medians and (lows, highs) of the interval `key` of each row (None where undefined)."""
    found = [r[key] for r in rows]
    return ([None if f is None else f["value"] for f in found],
            [[None if f is None else f[k] for f in found] for k in ("low", "high")])


def similarity_figure(fig_dir: Path, rows: list[dict]) -> dict:
    """Medians with their intervals against N: nearest-training and same-seed similarity."""
    ns = [r["N"] for r in rows]
    own, own_bars = _interval_arrays(rows, "nearest")
    other, other_bars = _interval_arrays(rows, "nearest_other")
    same, same_bars = _interval_arrays(rows, "same_seed")
    near_title, same_title = "sample vs closest training image", "S1 vs S2 sample, same seed"
    path = panel_plot(
        fig_dir / "similarity_vs_n.png", ns,
        {near_title: {"own training set": own, "other model's training set": other},
         same_title: {"same seed": same}},
        "N (training images)", "median cosine similarity",
        "Memorization to generalization (medians, 95% bootstrap intervals)", logx=True,
        errors={near_title: {"own training set": own_bars,
                             "other model's training set": other_bars},
                same_title: {"same seed": same_bars}},
        reference={near_title: {f"copies: {captions.COPY:g}": [captions.COPY] * len(ns)},
                   same_title: {f"the same image: {captions.SAME:g}": [captions.SAME] * len(ns),
                                f"different images: {captions.DIFFERENT:g}":
                                    [captions.DIFFERENT] * len(ns)}})
    return {"path": str(path), "title": "Similarities against N",
            "caption": captions.headline(rows)}


def curves(fig_dir: Path, table: list[dict], summary: list[dict],
           section: MemorizationSection) -> list[dict]:
    """The quantities against N, one panel per quantity (integer N only)."""
    keep = [i for i, r in enumerate(table) if isinstance(r["N"], int)]
    if len(keep) < 1:
        return []
    rows, summary = [table[i] for i in keep], [summary[i] for i in keep]
    ns, keys = [r["N"] for r in rows], [sigma_label(s) for s in section.sigmas]
    panel = {f"sigma = {k}/255": k for k in keys}
    psnr = panel_plot(fig_dir / "psnr_vs_n.png", ns,
                      {t: {"training images": [r[f"train_psnr_{k}"] for r in rows],
                           "held-out images": [r[f"test_psnr_{k}"] for r in rows]}
                       for t, k in panel.items()},
                      "N (training images)", "PSNR (dB)",
                      "Denoising PSNR on training and held-out images (mean of S1, S2 models)",
                      logx=True)
    # log axis: a distance of exactly 0 (perfect memorization) cannot be drawn: left out
    dist = panel_plot(fig_dir / "distance_vs_n.png", ns,
                      {t: {"training images": [r[f"distance_train_{k}"] or None for r in rows],
                           "held-out images": [r[f"distance_{k}"] or None for r in rows]}
                       for t, k in panel.items()},
                      "N (training images)", "mean squared difference",
                      "Distance to memorization: the model against the empirical oracle",
                      logx=True, logy=True)
    ends = summary if len(summary) < 2 else [summary[0], summary[-1]]
    return [similarity_figure(fig_dir, summary),
            {"path": str(psnr), "title": "PSNR against N",
             "caption": " ".join(captions.gap_sentence(r) for r in ends)},
            {"path": str(dist), "title": "Distance to memorization",
             "caption": "Mean squared difference between the model's denoised image and the "
             "memorizing (empirical-oracle) denoiser's, on noisy held-out and training images;"
             " 0 is a perfect memorizer."}]


def lead_section(report: Report, grid: dict, summary: list[dict], table: list[dict],
                 more: tuple[dict, str] | None = None, **context) -> None:
    """The page's first screen: the grid beside the named quantities, the caption computed
    from them, every number folded away. `more` = (figure, sentence) adds a figure under the
    caption and its claim to the caption (the demo's eigenvectors)."""
    text = captions.headline(summary)
    figures = [grid] if more is None else [grid, more[0]]
    if more is not None:
        text = f"{text} {more[1]}"
    report.add_section("Summary", text, figures=figures,
                       quantities=quantity_table(summary, **context), layout="lead",
                       tables=[{"title": "Every number per N (medians over samples; PSNR and "
                                "distance averaged over the S1 and S2 models)", "rows": table,
                                "folded": True}])


def _write_report(out: Path, table: list[dict], summary: list[dict],
                  figures: list[dict]) -> None:
    report = Report(out, "Memorization versus generalization",
                    intro="Denoisers trained on disjoint sets S1, S2 of N images, sampled from "
                    "the same seeds (Kadkhodaie et al., ICLR 2024, Fig. 1 and 2).")
    lead_section(report, figures[0], summary, table)
    report.add_section("Every seed, per N", "Each column is one seed: the S1 and S2 rows show "
                       "whether the two models agree, the outer rows whether they copy.",
                       figures=[f for f in figures[1:] if "N=" in f["title"]])
    report.add_section("Against N", "One panel per quantity; in each panel training and "
                       "held-out images (or the two similarities) differ in color, marker and "
                       "line.",
                       figures=[f for f in figures[1:] if "N=" not in f["title"]])
    report.write()
