"""The paper's synthetic image classes, generated on the fly (nothing to download).

- `calpha`: C^alpha contours between C^beta backgrounds (paper Sec. 4), in
  `gahr.data.calpha_images`;
- `discs` / `render_discs`: the disc manifold (paper Sec. 3.3), in `gahr.data.disc_images`.
"""

from .calpha_images import CAlphaLayers, calpha, calpha_layers, compose
from .disc_images import (
                          DISC_PARAMS,
                          disc_area,
                          disc_free_params,
                          discs,
                          render_discs,
                          sample_disc_params,
)

__all__ = ["CAlphaLayers", "DISC_PARAMS", "calpha", "calpha_layers", "compose", "disc_area",
           "disc_free_params", "discs", "render_discs", "sample_disc_params"]
