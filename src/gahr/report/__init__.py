"""Figures (matplotlib, PNG + data sidecar) and the static HTML report rebuilt from a manifest.

A producer draws into its run dir and describes the page; `gahr report DIR` renders it again:

    from gahr.report import Report, histogram, save_image_grid
    grid = save_image_grid(samples, run / "figures" / "samples.png", nrow=8, title="Samples")
    hist = histogram(run / "figures" / "sim.png", {"S1 vs S2": sims}, "cosine similarity",
                     "Same-seed similarity")
    report = Report(run, "Memorization sweep")
    report.numbers["median S1/S2 similarity"] = float(sims.median())
    report.add_section("Samples", "Columns of the two models should match at large N.",
                       figures=[grid, hist], tables=[rows])
    report.write()  # run/report.json + run/report.html
"""

from .eigen_figures import eigenvector_grid, eigenvector_strip
from .errors import ReportError
from .figures import image_panel, save_image_grid
from .html import render_html
from .manifest import Report, build_report, load_manifest, validate_manifest
from .phase import phase_diagram
from .plots import histogram, line_plot, panel_plot, spectrum_plot
from .redraw import redraw

__all__ = ["Report", "ReportError", "build_report", "eigenvector_grid", "eigenvector_strip",
           "histogram", "image_panel", "line_plot", "load_manifest", "panel_plot", "phase_diagram",
           "redraw", "render_html", "save_image_grid", "spectrum_plot", "validate_manifest"]
