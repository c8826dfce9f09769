"""The README's demo block: numbers the demo wrote itself, pasted, never typed.

`gahr demo --publish` (what `make demo-publish` runs) takes `<out>/summary.md` of a run from
scratch, adds the gallery's image links, pastes the result between the two markers of
`README.md`, saves the same text as `docs/demo_summary.md` and copies the figures to
`docs/gallery/`. `tests/test_readme.py` fails when the README's block and
`docs/demo_summary.md` differ, or when a figure the block shows is missing.
"""

import shutil
from pathlib import Path

from ..errors import DataError
from ..io import atomic_path, load_json
from ..rundir import FIGURES
from .demo import demo_config
from .experiment import analysis_dir

BEGIN = "<!-- demo summary: begin (pasted by `make demo-publish`; edit nothing inside) -->"
END = "<!-- demo summary: end -->"
README, SUMMARY_COPY, GALLERY = "README.md", "docs/demo_summary.md", "docs/gallery"


def gallery(out: Path, rows: list[dict]) -> list[tuple[str, Path, str]]:
    """(gallery file name, the figure in `out`, alt text) of every figure the block shows."""
    figures = analysis_dir(demo_config(out)) / FIGURES
    small, large = rows[0]["N"], rows[-1]["N"]
    eigen = Path(out) / "eigen"
    return [
        ("demo_grid.png", figures / "grid.png", "Fig. 1-style grid: closest image in S1, "
         "S1-model sample, S2-model sample, closest image in S2, one column per N"),
        ("demo_similarity_vs_n.png", figures / "similarity_vs_n.png",
         "Nearest-training and same-seed similarity against N, with 95% intervals"),
        ("demo_grid_small_n.png", figures / f"grid_N{small}.png",
         f"Every same-seed sample pair at N = {small}"),
        ("demo_grid_large_n.png", figures / f"grid_N{large}.png",
         f"Every same-seed sample pair at N = {large}"),
        ("demo_psnr_vs_n.png", figures / "psnr_vs_n.png",
         "Denoising PSNR on training and held-out images against N, one panel per sigma"),
        ("demo_top_eigenvectors.png", eigen / "top_eigenvectors.png",
         "Top eigenvectors of the generalizing denoiser's Jacobian (the report's first screen)"),
        ("demo_spectrum.png", eigen / "spectrum.png",
         "Eigenvalues of J(y) with the clean image's coefficients"),
        ("demo_eigenvectors.png", eigen / "eigenvectors.png", "Eigenvectors of J(y)"),
        ("demo_effective_dimension.png", eigen / "effective_dimension.png",
         "Effective dimension against sigma"),
    ]


def demo_block(out) -> str:
    """The README's demo block: `summary.md` and the gallery's image links."""
    out = Path(out)
    try:
        summary = load_json(out / "summary.json")
        text = (out / "summary.md").read_text(encoding="utf-8")
    except (OSError, ValueError):
        raise DataError(f"{out} holds no demo summary (summary.json, summary.md); run "
                        f"`gahr demo --out {out}` first") from None
    if not summary.get("fresh"):
        raise DataError(f"the summary in {out} comes from a resumed run, so its run time is not "
                        "the demo's; publish a run into an empty --out (make demo-publish)")
    images = [f"![{alt}]({GALLERY}/{name})" for name, _, alt in gallery(out, summary["rows"])]
    return text.rstrip("\n") + "\n\n" + "\n".join(images) + "\n"


def read_block(text: str, where: str = README) -> str:
    """The text between the demo markers of a README."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise DataError(f"{where} lacks the demo markers {BEGIN!r} ... {END!r}; put them where "
                        "the demo's numbers belong")
    return text[start + len(BEGIN):end].strip("\n") + "\n"


def paste_block(text: str, block: str, where: str = README) -> str:
    """`text` with the demo block replaced by `block`."""
    read_block(text, where)  # checks the markers
    start, end = text.find(BEGIN) + len(BEGIN), text.find(END)
    return text[:start] + "\n" + block.strip("\n") + "\n" + text[end:]


def publish(out, repo=".") -> list[Path]:
    """Paste the demo block of `out` into `repo`'s README, save its copy and the gallery's
    figures; returns the files written."""
    out, repo = Path(out), Path(repo)
    block = demo_block(out)
    readme = repo / README
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError:
        raise DataError(f"no {README} in {repo}; pass the repository root to --publish") from None
    pasted = paste_block(text, block, str(readme))
    summary = load_json(out / "summary.json")
    written = []
    for name, source, _ in gallery(out, summary["rows"]):
        target = repo / GALLERY / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        written.append(target)
    for path, content in ((repo / SUMMARY_COPY, block), (readme, pasted)):
        with atomic_path(path) as tmp:
            tmp.write_text(content, encoding="utf-8")
        written.append(path)
    return written
