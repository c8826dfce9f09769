"""Draw a figure again from its data sidecar (`<stem>.npz`), without recomputing anything."""

from pathlib import Path

from .eigen_figures import eigenvector_grid, eigenvector_strip
from .figures import image_panel, save_image_grid
from .phase import phase_diagram
from .plots import histogram, line_plot, panel_plot, spectrum_plot
from .sidecar import load_data

_DRAWERS = {f.__name__: f for f in (save_image_grid, image_panel, line_plot, panel_plot,
                                    histogram, spectrum_plot, eigenvector_grid,
                                    eigenvector_strip, phase_diagram)}


def redraw(png_path, out=None) -> Path:
    """Draw a figure again from the data sidecar `<stem>.npz` beside `png_path` (to `out`)."""
    png_path = Path(png_path)
    kind, kwargs = load_data(png_path)
    target = Path(out) if out is not None else png_path
    if kind == "save_image_grid":
        return save_image_grid(kwargs.pop("images"), target, save_data=False, **kwargs)
    return _DRAWERS[kind](target, save_data=False, **kwargs)
