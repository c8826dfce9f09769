"""The report as a person sees it: headless Chromium opens report.html from disk, images load."""

import re
import shutil
import subprocess

import numpy as np
import pytest

from gahr.report import Report, histogram, image_panel, save_image_grid, spectrum_plot

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH; install Debian's `chromium` to run this check")]


def loaded_images(page, profile) -> tuple[int, int]:
    """(images decoded, images on the page) as counted by the page's own script in Chromium."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=10000",
           "--dump-dom", page.resolve().as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    counts = dict(re.findall(r'data-images-(loaded|total)="(\d+)"', body))
    assert counts, f"the page's image-count script did not run: {body}"
    return int(counts["loaded"]), int(counts["total"])


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
    # the check can fail: a deleted figure is counted as not loaded
    (figs / "hist.png").unlink()
    assert loaded_images(page, tmp_path / "profile") == (3, 4)
