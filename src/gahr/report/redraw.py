"""Draw a figure again from the data sidecar (`<stem>.npz`) its drawer wrote beside the PNG."""

import json
from pathlib import Path

import numpy as np

from .eigen_figures import eigenvector_grid
from .errors import ReportError
from .figures import histogram, line_plot, save_image_grid, spectrum_plot

_DRAWERS = {f.__name__: f for f in (save_image_grid, line_plot, histogram, spectrum_plot,
                                     eigenvector_grid)}


def redraw(png_path, out=None) -> Path:
    """Draw a figure again from the data sidecar `<stem>.npz` beside `png_path` (to `out`)."""
    png_path = Path(png_path)
    data_path = png_path.with_suffix(".npz")
    try:
        with np.load(data_path, allow_pickle=False) as data:
            spec = json.loads(str(data["__spec__"]))
            arrays = {k: data[k] for k in data.files if k != "__spec__"}
        drawer = _DRAWERS[spec["kind"]]
        kwargs = dict(spec["args"])
        kwargs.update({name: arrays[name] for name in spec["arrays"]})
        for name, labels in spec["dicts"].items():
            kwargs[name] = {label: arrays[f"{name}/{i}"] for i, label in enumerate(labels)}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ReportError(f"cannot redraw {png_path.name}: data file {data_path} is missing or "
                          f"damaged ({type(e).__name__}); rerun the command that made it") from None
    target = Path(out) if out is not None else png_path
    if spec["kind"] == "save_image_grid":
        return drawer(kwargs.pop("images"), target, save_data=False, **kwargs)
    return drawer(target, save_data=False, **kwargs)
