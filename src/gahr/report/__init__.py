"""Figures (matplotlib, PNG + data sidecar) and the static HTML report rebuilt from a manifest."""

from .errors import ReportError
from .figures import histogram, image_panel, line_plot, redraw, save_image_grid, spectrum_plot
from .html import render_html
from .manifest import Report, build_report, load_manifest, validate_manifest

__all__ = ["Report", "ReportError", "build_report", "histogram", "image_panel", "line_plot",
           "load_manifest", "redraw", "render_html", "save_image_grid", "spectrum_plot",
           "validate_manifest"]
