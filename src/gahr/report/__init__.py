"""Figures (matplotlib, PNG) and the static HTML report rebuilt from a saved manifest."""

from .errors import ReportError
from .figures import histogram, image_panel, line_plot, redraw, save_image_grid, spectrum_plot

__all__ = ["ReportError", "histogram", "image_panel", "line_plot", "redraw", "save_image_grid",
           "spectrum_plot"]
