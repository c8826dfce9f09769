"""The data sidecar of a figure: the numbers it drew, in `<stem>.npz` beside the PNG.

`save_data` writes the drawing function's arguments (arrays as arrays, text and flags as JSON,
dicts of arrays and dicts of dicts of arrays under their labels); `load_data` gives back the
function's name and keyword arguments, so `gahr.report.redraw` draws the figure again without
recomputing anything.
"""

import json
from pathlib import Path

import numpy as np

from ..io import atomic_path
from .errors import ReportError


def _is_json(value) -> bool:
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, str) for v in value)
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def save_data(path: Path, kind: str, args: dict) -> None:
    """Write the drawing's inputs to `<stem>.npz`."""
    arrays = {}
    spec = {"kind": kind, "args": {}, "dicts": {}, "nested": {}, "arrays": []}
    for name, value in args.items():
        if _is_json(value):
            spec["args"][name] = list(value) if isinstance(value, tuple) else value
        elif isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
            spec["nested"][name] = [[str(k), [str(j) for j in v]] for k, v in value.items()]
            for i, inner in enumerate(value.values()):
                for j, v in enumerate(inner.values()):
                    arrays[f"{name}/{i}/{j}"] = np.asarray(v, dtype=np.float64)
        elif isinstance(value, dict):
            spec["dicts"][name] = [str(k) for k in value]
            for i, v in enumerate(value.values()):
                arrays[f"{name}/{i}"] = np.asarray(v)
        else:
            spec["arrays"].append(name)
            arrays[name] = np.asarray(value)
    arrays["__spec__"] = np.array(json.dumps(spec))
    with atomic_path(path.with_suffix(".npz")) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)


def load_data(png_path: Path) -> tuple[str, dict]:
    """(drawing function's name, its keyword arguments) from the sidecar of `png_path`."""
    data_path = png_path.with_suffix(".npz")
    try:
        with np.load(data_path, allow_pickle=False) as data:
            spec = json.loads(str(data["__spec__"]))
            arrays = {k: data[k] for k in data.files if k != "__spec__"}
        kwargs = dict(spec["args"])
        kwargs.update({name: arrays[name] for name in spec["arrays"]})
        for name, labels in spec["dicts"].items():
            kwargs[name] = {label: arrays[f"{name}/{i}"] for i, label in enumerate(labels)}
        for name, outer in spec.get("nested", {}).items():
            kwargs[name] = {key: {label: arrays[f"{name}/{i}/{j}"]
                                  for j, label in enumerate(labels)}
                            for i, (key, labels) in enumerate(outer)}
        return spec["kind"], kwargs
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ReportError(f"cannot redraw {png_path.name}: data file {data_path} is missing or "
                          f"damaged ({type(e).__name__}); rerun the command that made it") from None
