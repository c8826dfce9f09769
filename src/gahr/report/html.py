"""Render a validated report manifest as one static HTML page (no network, no external files).

Figures are `<img>` tags whose `src` is the PNG's path relative to the page, so the page and its
`figures/` folder open from disk anywhere. A small inline script counts the images the browser
actually decoded and writes the count into `<body data-images-loaded=...>`, which the Chromium
test reads back, and marks a broken image in red for a human reader.
"""

import html
from urllib.parse import quote

from .. import __version__

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
.look { background: #f3f6fb; border-left: 4px solid #4a78c2; padding: 0.4em 0.8em; }
figure { display: inline-block; margin: 0.6em 1em 0.6em 0; vertical-align: top; max-width: 100%; }
figure img { max-width: 100%; image-rendering: pixelated; border: 1px solid #ddd; }
figure img.broken { outline: 3px solid #c00; min-width: 120px; min-height: 40px; }
figcaption { font-size: 0.9em; color: #444; max-width: 640px; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; } td.text { text-align: left; }
.scroll { overflow-x: auto; max-width: 100%; } caption { text-align: left; font-weight: bold; }
nav ol { columns: 2; } footer { margin-top: 3em; color: #777; font-size: 0.85em; }
"""

# Counts decoded images once everything has loaded (read back by the headless-browser test).
_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images), ok = 0;
  imgs.forEach(function (im) {
    if (im.complete && im.naturalWidth > 0) { ok += 1; } else { im.classList.add("broken"); }
  });
  document.body.setAttribute("data-images-total", String(imgs.length));
  document.body.setAttribute("data-images-loaded", String(ok));
});
"""


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def format_value(value) -> str:
    """A table cell: floats to 4 significant digits, the rest as text."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _cell(value, tag="td") -> str:
    cls = ' class="text"' if isinstance(value, str) else ""
    return f"<{tag}{cls}>{_esc(format_value(value))}</{tag}>"


def render_table(rows: list[dict], title: str | None = None) -> str:
    """A list of dicts as an HTML table; columns in order of first appearance."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(row.get(c)) for c in columns) + "</tr>" for row in rows)
    caption = f"<caption>{_esc(title)}</caption>" if title else ""
    # wide tables (one column per metric and sigma) scroll instead of overflowing the page
    return (f'<div class="scroll"><table>{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def render_numbers(numbers: dict) -> str:
    """Key numbers as a two-column table."""
    rows = "".join(f"<tr><th>{_esc(k)}</th>{_cell(v)}</tr>" for k, v in numbers.items())
    return f'<table class="numbers"><tbody>{rows}</tbody></table>'


def _render_figure(fig: dict) -> str:
    src = _esc(quote(fig["path"]))
    alt = _esc(fig.get("alt") or fig.get("title") or fig.get("caption") or fig["path"])
    text = " ".join(x for x in (f"<b>{_esc(fig['title'])}.</b>" if fig.get("title") else "",
                                 _esc(fig.get("caption") or "")) if x)
    caption = f"<figcaption>{text}</figcaption>" if text else ""
    return f'<figure><img src="{src}" alt="{alt}" loading="eager">{caption}</figure>'


def _render_section(i: int, section: dict) -> str:
    parts = [f'<section id="s{i}"><h2>{_esc(section["title"])}</h2>',
             f'<p class="look"><b>What to look at:</b> {_esc(section["caption"])}</p>']
    parts += [_render_figure(f) for f in section.get("figures", [])]
    if section.get("numbers"):
        parts.append(render_numbers(section["numbers"]))
    parts += [render_table(t["rows"], t.get("title")) for t in section.get("tables", [])]
    parts.append("</section>")
    return "\n".join(parts)


def render_html(manifest: dict) -> str:
    """The whole page for a validated manifest (see `gahr.report.manifest`)."""
    sections = manifest["sections"]
    toc = "".join(f'<li><a href="#s{i}">{_esc(s["title"])}</a></li>'
                  for i, s in enumerate(sections))
    head = [f"<h1>{_esc(manifest['title'])}</h1>"]
    if manifest.get("intro"):
        head.append(f"<p>{_esc(manifest['intro'])}</p>")
    if manifest.get("numbers"):
        head += ["<h2>Key numbers</h2>", render_numbers(manifest["numbers"])]
    if len(sections) > 1:
        head.append(f"<nav><ol>{toc}</ol></nav>")
    body = "\n".join(head + [_render_section(i, s) for i, s in enumerate(sections)])
    footer = (f"<footer>Built by gahr {_esc(__version__)} from report.json; rebuild with "
              "<code>gahr report DIR</code>.</footer>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_esc(manifest['title'])}</title><style>{_CSS}</style>"
            f"<script>{_SCRIPT}</script></head>\n<body>\n{body}\n{footer}\n</body></html>\n")
