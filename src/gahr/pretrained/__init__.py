"""The small models shipped with the package, one folder each, loaded as `pretrained:NAME`
(README.md here lists them and how each was trained).

`gahr.pretrained(name)` is the function below. This folder is a package so that the function
has one home: `gahr` imports it from here, after Python has bound this package to the name
`gahr.pretrained`, so the name stays the function, also after `import gahr.pretrained`.
"""

from ..nets import Denoiser, load_denoiser, pretrained_names

__all__ = ["pretrained", "pretrained_names"]


def pretrained(name: str, device="cpu") -> Denoiser:
    """A small shipped model as a denoiser, by name (see `gahr.nets.pretrained_names()`)."""
    return load_denoiser(f"pretrained:{name}", device=device)
