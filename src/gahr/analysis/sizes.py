"""The train/test gap against N across image sizes (paper, appendix: the N at which the gap
closes grows with the image size), from the memorization experiment's tables.

`summarize_sizes` takes one analysis table per size (`gahr.workflows.sizes.run_sizes` runs the
experiment at each size) and gives per size the N, the gap averaged over the analysis noise
levels, and the first N from which the gap stays below `gap_db`.
"""

import numpy as np

from ..metrics import sigma_label


def mean_gap(row: dict, sigmas) -> float | None:
    """Train - test PSNR gap of one table row, averaged over `sigmas`; None when any is
    undefined (a perfect memorizer's infinite train PSNR)."""
    gaps = [row.get(f"gap_psnr_{sigma_label(s)}") for s in sigmas]
    return None if any(g is None for g in gaps) else float(np.mean(gaps))


def transition_n(ns: list, gaps: list, gap_db: float):
    """The smallest N from which on every gap is below `gap_db` dB (None if none is)."""
    found = None
    for n, gap in sorted(zip(ns, gaps), key=lambda p: p[0], reverse=True):
        if gap is None or gap >= gap_db:
            break
        found = n
    return found


def summarize_sizes(tables: dict, sigmas, gap_db: float = 1.0) -> dict:
    """{size label: analysis table} -> per size the N, mean gaps and transition N."""
    summary = {}
    for size, table in tables.items():
        rows = [r for r in table if isinstance(r["N"], int)]
        ns, gaps = [r["N"] for r in rows], [mean_gap(r, sigmas) for r in rows]
        summary[str(size)] = {"N": ns, "mean_gap_db": gaps,
                              "transition_n": transition_n(ns, gaps, gap_db)}
    return {"gap_db": gap_db, "sigmas": [float(s) for s in sigmas], "sizes": summary}
