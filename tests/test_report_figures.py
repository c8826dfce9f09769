"""Figures: valid PNGs of the expected size, faithful pixels, redraw from saved data, bad input."""

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from gahr.errors import GahrError
from gahr.report import (
    ReportError,
    eigenvector_grid,
    histogram,
    image_panel,
    line_plot,
    panel_plot,
    plots,
    redraw,
    save_image_grid,
    spectrum_plot,
)
from gahr.report.figures import _grid_labelled

PANELS = {"sigma = 5/255": {"training images": [38, 35, None], "held-out images": [21, 30, 33]},
          "sigma = 25/255": {"training images": [31, 28, 27], "held-out images": [20, 26, 27]}}
ERRORS = {"sigma = 5/255": {"held-out images": [[20, 29, 32], [22, 31, 34]]}}


def test_plain_grid_size_and_pixels(tmp_path):
    imgs = torch.rand(7, 1, 8, 6)
    path = save_image_grid(imgs, tmp_path / "g.png", nrow=3, scale=2, pad=1)
    img = Image.open(path)
    assert img.format == "PNG" and img.mode == "L"
    # 3 columns x 3 rows of (12 x 16) cells with 1 px gaps around every cell
    assert img.size == (3 * 12 + 4, 3 * 16 + 4)
    px = np.asarray(img)
    # image 4 sits at row 1, column 1; nearest upscaling repeats each pixel 2x2
    cell = px[1 + 17:1 + 17 + 16, 1 + 13:1 + 13 + 12]
    expect = np.round(imgs[4, 0].numpy().astype(np.float64) * 255).astype(np.uint8)
    assert np.array_equal(cell[::2, ::2], expect) and np.array_equal(cell[1::2, 1::2], expect)
    assert (px[:, 0] == 255).all()  # the border is white, not image


def test_rgb_grid_default_scale_makes_small_images_visible(tmp_path):
    path = save_image_grid(np.random.rand(4, 3, 32, 32), tmp_path / "c.png")
    img = Image.open(path)
    assert img.mode == "RGB" and img.size == (2 * 96 + 3 * 2, 2 * 96 + 3 * 2)


def test_symmetric_normalization_maps_zero_to_gray(tmp_path):
    v = np.zeros((1, 1, 4, 4))
    v[0, 0, 0, 0], v[0, 0, 1, 1] = 2.0, -2.0
    px = np.asarray(Image.open(save_image_grid(v, tmp_path / "e.png", normalize="symmetric",
                                               scale=1, pad=0)))
    assert px[0, 0] == 255 and px[1, 1] == 0 and px[2, 2] in (127, 128)


@pytest.mark.parametrize("call", [
    lambda p: save_image_grid(torch.rand(6, 3, 16, 16), p, nrow=3, titles=["a", "b", "c"],
                              row_labels=["S1", "S2"], title="samples"),
    lambda p: image_panel(p, {"clean": np.random.rand(16, 16), "noisy": np.random.rand(1, 16, 16)},
                          title="denoising"),
    lambda p: line_plot(p, [1, 10, 100], {"train": [30, 28, 25], "test": [20, 24, 25]},
                        "N (training images)", "PSNR (dB)", "PSNR against N", logx=True,
                        dashed={"noisy input": [20, 20, 20]}),
    lambda p: line_plot(p, {"a": [1, 2], "b": [1, 2, 3]}, {"a": [1, 2], "b": [3, 2, 1]},
                        "x (unit)", "y (unit)", "per-curve x"),
    lambda p: histogram(p, {"S1 vs S2": np.random.rand(50), "vs train": np.random.rand(30)},
                        "cosine similarity", "similarity of samples", bins=10),
    lambda p: spectrum_plot(p, np.linspace(1, 0, 64), "eigenvalues",
                            coefficients={"clean": np.random.randn(64)}),
    lambda p: eigenvector_grid(p, np.random.randn(5, 1, 8, 8), np.linspace(1, 0, 64),
                               [1, 2, 3, 10, 64], {"clean": np.random.rand(1, 8, 8),
                                                   "noisy": np.random.rand(8, 8)}, "basis"),
    lambda p: panel_plot(p, [1, 10, 100], PANELS, "N (training images)", "PSNR (dB)",
                         "PSNR against N", logx=True, errors=ERRORS,
                         reference={"sigma = 5/255": {"noisy input": [20, 20, 20]}}),
], ids=["labelled-grid", "panel", "line", "line-dict-x", "histogram", "spectrum", "eigen-grid",
        "panels"])
def test_figures_write_png_and_redraw_identically(tmp_path, call):
    path = call(tmp_path / "f.png")
    first = Image.open(path)
    first.load()
    assert first.format == "PNG" and first.size[0] > 150 and first.size[1] > 80
    assert path.with_suffix(".npz").exists()
    again = redraw(path, tmp_path / "again.png")
    assert np.array_equal(np.asarray(Image.open(again)), np.asarray(first))
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_eigenvector_grid_scales_each_vector_symmetrically_about_zero():
    """Each e_k gets its own scale [-max|e_k|, +max|e_k|] (zero at the colormap's white centre),
    drawn pixel by pixel."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    from gahr.report.eigen_figures import CMAP, _show_signed

    ax = Figure().subplots()
    for peak in (0.3, 5.0):
        v = np.zeros((1, 4, 4))
        v[0, 0, 0], v[0, 1, 1] = peak / 2, -peak
        _show_signed(ax, v)
        im = ax.images[-1]
        assert (im.norm.vmin, im.norm.vmax) == (-peak, peak)
        assert im.get_cmap().name == CMAP and im.get_interpolation() == "nearest"
    assert np.allclose(colormaps[CMAP](0.5)[:3], 1, atol=0.06)  # zero is (near) white


def test_redraw_needs_data(tmp_path):
    path = save_image_grid(np.random.rand(2, 1, 4, 4), tmp_path / "n.png", save_data=False)
    with pytest.raises(ReportError, match="rerun the command"):
        redraw(path)


@pytest.mark.parametrize("call, match", [
    (lambda p: save_image_grid(np.random.rand(2, 2, 4, 4), p), "C = 1"),
    (lambda p: save_image_grid(np.full((1, 1, 4, 4), np.nan), p), "NaN"),
    (lambda p: save_image_grid(np.random.rand(4, 1, 4, 4), p, nrow=2, titles=["a"]), "per column"),
    (lambda p: save_image_grid(np.random.rand(4, 1, 4, 4), p, vmin=1, vmax=0), "vmax"),
    (lambda p: save_image_grid(np.random.rand(4, 1, 4, 4), p, normalize="log"), "normalize"),
    (lambda p: line_plot(p, [1, 2], {"a": [1]}, "x", "y", "t"), "one y per x"),
    (lambda p: line_plot(p, [1, 2], {"a": [1, 2]}, "x", "", "t"), "ylabel"),
    (lambda p: histogram(p, {"a": []}, "x", "t"), "empty"),
    (lambda p: spectrum_plot(p, [1, 0.5], ""), "title"),
    (lambda p: image_panel(p, {"a": np.zeros((4, 4)), "b": np.zeros((5, 5))}, "t"), "shape"),
    (lambda p: eigenvector_grid(p, np.zeros((2, 1, 4, 4)), [1, 0.5], [1, 3], {"a": 0}, "t"),
     "1..2"),
    (lambda p: eigenvector_grid(p, np.zeros((2, 1, 4, 4)), [1, 0.5], [1], {"a": 0}, "t"),
     "one"),
])
def test_bad_input_is_a_one_line_gahr_error(tmp_path, call, match):
    with pytest.raises(GahrError, match=match) as info:
        call(tmp_path / "bad.png")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "bad.png").exists()


def test_markdown_table_cells_and_errors():
    from gahr.report.tables import markdown

    assert markdown(["a", "b"], [["1", "2"]]) == "| a | b |\n| --- | --- |\n| 1 | 2 |\n"
    with pytest.raises(ReportError, match="2 cells"):
        markdown(["a", "b"], [["1"]])
    with pytest.raises(ReportError, match="split"):
        markdown(["||J||"], [["1"]])


def _boxes(fig):
    """Window extents of every visible axes and of the figure's legends, once drawn."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    axes = [ax.get_window_extent(renderer) for ax in fig.axes if ax.get_visible()]
    return axes, [leg.get_window_extent(renderer) for leg in fig.legends]


@pytest.mark.parametrize("draw", [
    lambda p: plots.line_plot(p, [1, 10, 100], {f"curve {i}": [i, i + 1, i + 2] for i in range(10)},
                              "N", "PSNR (dB)", "ten curves", save_data=False),
    lambda p: plots.histogram(p, {"a long label for one group": np.random.rand(20),
                                  "another long label here": np.random.rand(20)},
                              "cosine", "hist", save_data=False),
    lambda p: plots.spectrum_plot(p, np.linspace(1, 0, 32), "spectrum",
                                  coefficients={"|<x, e_k>|": np.random.rand(32)},
                                  save_data=False),
    lambda p: plots.panel_plot(p, [1, 10, 100], PANELS, "N", "PSNR (dB)", "panels",
                               save_data=False),
], ids=["line", "histogram", "spectrum", "panels"])
def test_legends_sit_off_the_data(tmp_path, draw, monkeypatch):
    """The legend's box overlaps no axes box: it never covers a curve."""
    drawn = []
    monkeypatch.setattr(plots, "_save_figure", lambda fig, path: drawn.append(fig))
    draw(tmp_path / "f.png")
    axes, legends = _boxes(drawn[0])
    assert legends, "the figure has a legend"
    for leg in legends:
        assert not any(leg.overlaps(ax) for ax in axes)


def test_panel_plot_draws_labels_alike_in_every_panel(tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(plots, "_save_figure", lambda fig, path: drawn.append(fig))
    plots.panel_plot(tmp_path / "f.png", [1, 10, 100], PANELS, "N", "PSNR (dB)", "t",
                     save_data=False)
    fig = drawn[0]
    styles = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            key = (line.get_color(), line.get_marker(), line.get_linestyle())
            styles.setdefault(line.get_label(), set()).add(key)
    assert all(len(v) == 1 for v in styles.values())  # one look per label
    assert styles["training images"] != styles["held-out images"]
    assert len(fig.legends) == 1 and len(fig.legends[0].get_texts()) == 2


def test_grid_titles_never_run_together():
    """Long column titles wrap at spaces to their cell's width."""
    u8 = np.zeros((3, 16, 16, 1), np.uint8)
    fig = _grid_labelled(u8, 3, 6, ["clean x", "noisy y (sigma = 25.5/255)",
                                    "denoised x_hat at sigma = 25.5/255"], None, "triple")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    boxes = [ax.title.get_window_extent(canvas.get_renderer()) for ax in fig.axes]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert "\n" in fig.axes[1].get_title()


def test_panel_plot_bad_input(tmp_path):
    with pytest.raises(ReportError, match="one per x"):
        panel_plot(tmp_path / "b.png", [1, 2], {"p": {"a": [1]}}, "x", "y", "t")
    with pytest.raises(ReportError, match="ylabel"):
        panel_plot(tmp_path / "b.png", [1, 2], {"p": {"a": [1, 2]}}, "x", {"q": "y"}, "t")
