"""The named quantities per N: pooled medians with intervals, the gap, the table and markdown."""

import numpy as np
import pytest

from gahr.workflows.summary import quantity_table, summary_lines, summary_markdown, summary_rows

SIGMAS = (15 / 255, 25 / 255, 50 / 255)


def record(n, own1, own2, same, gaps=(8.0, 9.0)):
    def split(own, gap):
        return {"converged": sum(v is not None for v in own),
                "nearest_own": {"similarity": own}, "nearest_other": {"similarity": own},
                "psnr": {"gap": {"15": 1.0, "25": gap, "50": 0.5}}}
    return {"n": n, "seeds": list(range(len(same))), "same_seed_similarity": same,
            "S1": split(own1, gaps[0]), "S2": split(own2, gaps[1])}


def test_rows_pool_both_models_and_skip_failed_samples():
    rec = record(10, [0.99, None, 0.97], [0.95, 0.96, 0.98], [0.1, None, 0.3])
    (row,) = summary_rows([rec], SIGMAS, effective_dimension={10: 3.5})
    assert row["nearest"]["value"] == pytest.approx(np.median([0.99, 0.97, 0.95, 0.96, 0.98]))
    assert row["nearest"]["n"] == 5 and row["same_seed"]["n"] == 2
    assert row["nearest"]["low"] <= row["nearest"]["value"] <= row["nearest"]["high"]
    assert row["gap_db"] == 8.5 and row["gap_sigma255"] == pytest.approx(25)
    assert (row["converged"], row["samples"]) == (5, 6) and row["effective_dimension"] == 3.5


def test_undefined_gap_and_no_samples():
    rec = record(4, [None], [None], [None], gaps=(None, 3.0))
    (row,) = summary_rows([rec], SIGMAS)
    assert row["gap_db"] is None and row["nearest"] is None and row["same_seed"] is None
    assert "effective_dimension" not in row


def test_table_lines_and_markdown_name_every_quantity_with_its_unit():
    rows = summary_rows([record(10, [0.99] * 6, [0.98] * 6, [0.2] * 6),
                         record(2000, [0.8] * 6, [0.7] * 6, [0.95] * 6)], SIGMAS,
                        effective_dimension={10: 1.0, 2000: 20.0})
    table = quantity_table(rows, eigen_sigma=0.1, dimension=256)
    assert table["columns"] == ["N=10", "N=2000"]
    names = [q["name"] for q in table["rows"]]
    assert 5 <= len(names) <= 8 and all(q["definition"] and q["unit"] for q in table["rows"])
    assert table["rows"][1]["values"]["N=2000"] == "0.95 [0.95, 0.95]"
    lines = summary_lines(rows, eigen_sigma=0.1, dimension=256)
    assert len(lines) == len(names) and "(dimensions of 256)" in lines[4]
    md = summary_markdown(rows, "HEADLINE", "SETUP", "TIMING", eigen_sigma=0.1, dimension=256)
    assert md.count("\n| ") == len(names) + 2 and "| N = 10 | N = 2000 | unit |" in md
    assert md.startswith("SETUP") and "HEADLINE" in md and "TIMING" in md
