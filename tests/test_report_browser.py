"""The report as a person sees it: headless Chromium opens report.html from disk at 1280x800;
images load (also after the page alone was moved), nothing scrolls sideways, the lead section
(grid and named quantities) fits the first screen, and a screenshot is taken to look at."""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from gahr.report import (
    Report,
    histogram,
    image_panel,
    panel_plot,
    save_image_grid,
    spectrum_plot,
)
from gahr.workflows.captions import headline
from gahr.workflows.summary import quantity_table, summary_rows

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH; install Debian's `chromium` to run this check")]


WINDOW = (1280, 800)  # Chromium's window; its page viewport is smaller (1280x657 here)
FIRST_SCREEN = 720  # px: the lead must end within a 1280x720 viewport


def _chromium(profile, *flags) -> list[str]:
    return [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=10000",
            f"--window-size={WINDOW[0]},{WINDOW[1]}", *flags]


def page_facts(page, profile) -> dict:
    """The data- attributes the page's own script wrote on <body> in Chromium: images decoded
    and on the page, the page's scroll width, the viewport, the first section's bottom."""
    cmd = _chromium(profile, "--dump-dom", page.resolve().as_uri())
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    facts = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body))
    assert "images-loaded" in facts, f"the page's script did not run: {body}"
    return facts


def loaded_images(page, profile) -> tuple[int, int]:
    """(images decoded, images on the page) as counted by the page's own script in Chromium."""
    facts = page_facts(page, profile)
    return int(facts["images-loaded"]), int(facts["images-total"])


def screenshot(page, profile, png: Path) -> Path:
    cmd = _chromium(profile, f"--screenshot={png}", page.resolve().as_uri())
    subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    return png


def test_every_image_loads_in_chromium(tmp_path):
    root = tmp_path / "run dir"  # a space in the path: links must be quoted correctly
    figs = root / "figures"
    grid = save_image_grid(np.random.rand(8, 3, 32, 32), figs / "samples.png", nrow=4,
                           titles=list("abcd"), row_labels=["S1", "S2"], title="Samples")
    panel = image_panel(figs / "denoise.png", {"clean": np.random.rand(32, 32),
                                                "noisy": np.random.rand(32, 32)}, title="Denoise")
    hist = histogram(figs / "hist.png", {"S1 vs S2": np.random.rand(40)}, "cosine similarity",
                     "Similarity")
    spec = spectrum_plot(figs / "spectrum #1.png", np.linspace(1, 0, 100), "Eigenvalues")
    report = Report(root, "Browser check")
    report.add_section("Samples", "Rows should agree.", figures=[grid, panel])
    report.add_section("Analysis", "Look at the decay.", figures=[hist, spec])
    page = report.write()
    assert loaded_images(page, tmp_path / "profile") == (4, 4)
    # the check can fail: a damaged embedded figure is counted as not loaded
    page.write_text(page.read_text().replace("base64,", "base64,AAAA", 1))
    assert loaded_images(page, tmp_path / "profile") == (3, 4)


def _record(n, near, same):
    split = {"converged": 16, "nearest_own": {"similarity": near}, "psnr": {"gap": {"25": 1.0}},
             "nearest_other": {"similarity": [v - 0.3 for v in near]}}
    return {"n": n, "seeds": list(range(16)), "same_seed_similarity": same, "S1": split,
            "S2": split}


def demo_like_report(root: Path, ns=(10, 100, 2000)) -> Path:
    """A page shaped as the demo's: a lead section with the grid and the named quantities,
    the full table folded, then wide figures."""
    rng = np.random.default_rng(0)
    grid = save_image_grid(rng.random((4 * len(ns), 1, 16, 16)), root / "figures" / "grid.png",
                           nrow=len(ns), titles=[f"N={n}" for n in ns],
                           row_labels=["closest in S1", "S1 model", "S2 model", "closest in S2"],
                           title="Same seed, models on S1 and S2")
    records = [_record(n, list(rng.uniform(0.5, 1, 16)), list(rng.uniform(0, 1, 16)))
               for n in ns]
    rows = summary_rows(records, (25 / 255,), effective_dimension={ns[0]: 3.0, ns[-1]: 20.0})
    wide = [{"N": n, **{f"metric_{i}_S1": float(i) for i in range(40)}} for n in ns]
    panels = panel_plot(root / "figures" / "panels.png", list(ns),
                        {f"sigma = {s}/255": {"training images": [30, 28, 27],
                                              "held-out images": [20, 26, 27]}
                         for s in (5, 15, 25, 50, 100)}, "N", "PSNR (dB)", "PSNR against N",
                        logx=True)
    report = Report(root, "gahr demo: memorization, generalization and the adaptive basis",
                    intro="Pairs of denoisers trained on disjoint sets S1, S2 of N synthetic "
                    "discs (16x16) images, sampled from the same seeds: Kadkhodaie et al. "
                    "(ICLR 2024), Fig. 1 and 2 at small scale. Setup at the end.")
    report.add_section("Summary", headline(rows), figures=[grid],
                       quantities=quantity_table(rows, eigen_sigma=0.1, dimension=256),
                       layout="lead", tables=[{"title": "Every number per N", "rows": wide,
                                               "folded": True}])
    report.add_section("Against N", "One panel per quantity.", figures=[panels])
    return report.write()


def test_demo_page_first_screen_width_and_moved_copy(tmp_path):
    page = demo_like_report(tmp_path / "run")
    facts = page_facts(page, tmp_path / "profile")
    assert facts["viewport"].startswith(f"{WINDOW[0]}x")
    assert (facts["images-loaded"], facts["images-total"]) == ("2", "2")
    assert int(facts["scroll-width"]) <= WINDOW[0], "the page scrolls sideways"
    assert int(facts["first-section-bottom"]) <= FIRST_SCREEN, "the lead leaves the first screen"
    shot = screenshot(page, tmp_path / "profile", tmp_path / "first_screen.png")
    assert shot.stat().st_size > 10_000  # a drawn page, not a blank one
    moved = tmp_path / "mail" / "report.html"  # the page alone, its folder deleted
    moved.parent.mkdir()
    shutil.copy(page, moved)
    shutil.rmtree(tmp_path / "run")
    assert loaded_images(moved, tmp_path / "profile") == (2, 2)
