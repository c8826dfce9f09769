"""The memorization experiment's named quantities per N, with bootstrap intervals.

`summary_rows(records)` turns the per-N records of `gahr.workflows.experiment` into one plain
dict per N (the input of `gahr.workflows.captions`); `quantity_table` gives the report's table
of named quantities (definition, unit, one value per N); `summary_lines` and
`summary_markdown` the same numbers for the terminal and for `summary.md`.
"""

from ..analysis.bootstrap import bootstrap_interval
from ..config import SPLITS
from ..metrics import sigma_label
from ..report.tables import markdown
from .captions import fmt

#: The noise level of the train - test PSNR gap quantity (the nearest measured one is used).
GAP_SIGMA = 25 / 255
#: Seed of every bootstrap interval of the summary: the same numbers give the same intervals.
BOOTSTRAP_SEED = 0


def _interval(values) -> dict | None:
    found = bootstrap_interval(values, seed=BOOTSTRAP_SEED)
    return None if found is None else found.as_dict()


def _similarities(record: dict, key: str) -> list:
    """The similarities `key` of both models' samples, pooled (None for failed samples)."""
    return [v for s in SPLITS for v in record[s].get(key, {}).get("similarity", [])]


def _gap(record: dict, sigmas) -> tuple[float | None, float]:
    """Mean over the two models of the train - test PSNR gap at the sigma nearest GAP_SIGMA."""
    sigma = min(sigmas, key=lambda s: abs(s - GAP_SIGMA))
    key = sigma_label(sigma)
    gaps = [record[s].get("psnr", {}).get("gap", {}).get(key) for s in SPLITS]
    value = None if any(g is None for g in gaps) else sum(gaps) / len(gaps)
    return value, sigma * 255


def summary_row(record: dict, sigmas) -> dict:
    """One N's quantities: pooled medians with intervals, the gap, the converged samples."""
    gap, gap_sigma255 = _gap(record, sigmas)
    return {"N": record["n"],
            "nearest": _interval(_similarities(record, "nearest_own")),
            "nearest_other": _interval(_similarities(record, "nearest_other")),
            "same_seed": _interval(record.get("same_seed_similarity")),
            "gap_db": gap, "gap_sigma255": gap_sigma255,
            "converged": sum(record[s]["converged"] for s in SPLITS),
            "overlap": record.get("overlap"),
            "samples": len(SPLITS) * len(record.get("seeds", []))}


def summary_rows(records: list[dict], sigmas, effective_dimension: dict | None = None
                 ) -> list[dict]:
    """`summary_row` of every record (sorted by N as given); `effective_dimension` {N: tr J,
    a number or a median with its interval} adds that quantity (`effective_dimension` the
    number, `effective_dimension_interval` the interval)."""
    rows = [summary_row(r, sigmas) for r in records]
    for row in rows:
        if effective_dimension is not None:
            value = effective_dimension.get(row["N"])
            if isinstance(value, dict):
                row["effective_dimension_interval"], value = value, value["value"]
            row["effective_dimension"] = value
    return rows


def _number(value, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def quantity_specs(rows: list[dict], eigen_sigma: float | None = None,
                   dimension: int | None = None) -> list[tuple]:
    """(name, definition, unit, value of a row as text) of each quantity the rows hold."""
    s = f"{rows[0]['gap_sigma255']:g}/255" if rows else "25/255"
    specs = [
        ("nearest-training similarity",
         "median, over both models' samples, of the mean-removed cosine between a sample and "
         "the closest image of its model's training set (1: a copy)", "cosine",
         lambda r: fmt(r["nearest"])),
        ("same-seed similarity",
         "median, over seeds, of the cosine between the S1 and the S2 model's samples from "
         "one seed (1: the same image)", "cosine", lambda r: fmt(r["same_seed"])),
        ("other-set similarity",
         "the same, to the closest image of the other model's training set", "cosine",
         lambda r: fmt(r["nearest_other"])),
        (f"train - test PSNR gap ({s})",
         f"denoising PSNR on training minus on held-out images at noise sigma = {s}, mean of "
         "the two models", "dB",
         lambda r: _number(r["gap_db"], ".1f")),
    ]
    if any(r.get("effective_dimension") is not None for r in rows):
        specs.append((f"effective dimension ({eigen_sigma:g})",
                      f"tr J, the trace of the S1 model's Jacobian at a held-out image with "
                      f"noise sigma = {eigen_sigma:g} (median over noise draws where given)",
                      f"dimensions of {dimension}",
                      lambda r: fmt(r["effective_dimension_interval"], ".1f")
                      if r.get("effective_dimension_interval")
                      else _number(r.get("effective_dimension"), ".1f")))
    specs.append(("converged samples", "samples that reached the sampler's final noise level "
                  "within its step budget", "samples",
                  lambda r: f"{r['converged']} of {r['samples']}"))
    return specs


def quantity_table(rows: list[dict], **context) -> dict:
    """The report's named quantities: {"columns": ["N=..."], "rows": [{name, definition, unit,
    values}]} (see `gahr.report.manifest`); medians with 95% bootstrap intervals."""
    columns = [f"N={r['N']}" for r in rows]
    table = []
    for name, definition, unit, text in quantity_specs(rows, **context):
        table.append({"name": name, "definition": definition, "unit": unit,
                      "values": {c: text(r) for c, r in zip(columns, rows, strict=True)}})
    return {"columns": columns, "rows": table}


def summary_lines(rows: list[dict], **context) -> list[str]:
    """One terminal line per quantity: its name, unit and value at every N."""
    lines = []
    for name, _, unit, text in quantity_specs(rows, **context):
        values = ", ".join(f"N={r['N']}: {text(r)}" for r in rows)
        lines.append(f"  {name} ({unit}): {values}")
    return lines


def summary_markdown(rows: list[dict], headline: str, setup: str, timing: str,
                     **context) -> str:
    """`summary.md`: the setup, the quantities as a table, their definitions, the claims."""
    specs = quantity_specs(rows, **context)
    table = markdown(["quantity", *(f"N = {r['N']}" for r in rows), "unit"],
                     [[name, *(text(r) for r in rows), unit] for name, _, unit, text in specs])
    lines = [setup, "", timing, "", table.rstrip("\n")]
    lines += ["", "Medians with 95% bootstrap intervals in brackets. "
              + " ".join(f"*{name}*: {definition}." for name, definition, _, _ in specs),
              "", headline]
    return "\n".join(lines) + "\n"
