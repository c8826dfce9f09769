"""Render a validated report manifest as one static HTML page (no network, no external files).

Figures are embedded in the page as `data:` URIs (given the report dir), so the page alone
survives being moved or mailed; without a dir they are linked by their path relative to the
page. A section with `"layout": "lead"` puts its figures beside its caption and named
quantities (the page's first screen). A small inline script counts the images the browser
actually decoded and records the layout (page width, bottom of the first section) as `data-`
attributes of `<body>` (the first section's bottom is that of its figures and quantities
when it is a lead), which the Chromium test reads back; it marks a broken image in red for a
human reader.
"""

import base64
import html
from pathlib import Path
from urllib.parse import quote

from .. import __version__

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1180px; margin: 1em auto; padding: 0 1em;
       color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin: 0.2em 0; } p.intro { margin: 0.3em 0 0.6em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
.look { background: #f3f6fb; border-left: 4px solid #4a78c2; padding: 0.4em 0.8em; }
figure { display: inline-block; margin: 0.6em 1em 0.6em 0; vertical-align: top; max-width: 100%; }
figure img { max-width: 100%; image-rendering: pixelated; border: 1px solid #ddd; }
figure img.broken { outline: 3px solid #c00; min-width: 120px; min-height: 40px; }
figcaption { font-size: 0.9em; color: #444; max-width: 640px; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; } td.text { text-align: left; }
.scroll { overflow-x: auto; max-width: 100%; } caption { text-align: left; font-weight: bold; }
details { margin: 0.6em 0; } summary { cursor: pointer; font-weight: bold; }
.lead-body { display: flex; flex-wrap: wrap; gap: 0 1.4em; align-items: flex-start; }
.lead-body > figure { margin: 0; width: min-content; } .lead-body > figure img { max-width: none; }
.lead-body > figure figcaption { min-width: 220px; }
.lead-text { flex: 1 1 560px; } table.quantities { width: 100%; font-size: 0.9em; }
table.quantities td.text:first-child { min-width: 240px; } .unit { color: #555; }
table.quantities th:first-child { text-align: left; }
.lead-text .look { margin-top: 0; } .lead-text > figure { margin: 0.2em 0 0.4em; }
section.lead h2 { font-size: 1.15em; margin: 0.4em 0; }
table.quantities td { white-space: nowrap; }
table.quantities td.text { white-space: normal; }
.def { font-size: 0.8em; color: #555; line-height: 1.25; }
nav ol { columns: 2; } footer { margin-top: 3em; color: #777; font-size: 0.85em; }
"""

# Counts decoded images once everything has loaded (read back by the headless-browser test).
_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images), ok = 0;
  imgs.forEach(function (im) {
    if (im.complete && im.naturalWidth > 0) { ok += 1; } else { im.classList.add("broken"); }
  });
  var body = document.body;
  var first = document.querySelector(".lead-body") || document.querySelector("section");
  body.setAttribute("data-images-total", String(imgs.length));
  body.setAttribute("data-images-loaded", String(ok));
  body.setAttribute("data-scroll-width", String(document.documentElement.scrollWidth));
  body.setAttribute("data-viewport", window.innerWidth + "x" + window.innerHeight);
  if (first) {
    var bottom = first.getBoundingClientRect().bottom + window.scrollY;
    body.setAttribute("data-first-section-bottom", String(Math.round(bottom)));
  }
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


def render_table(rows: list[dict], title: str | None = None, folded: bool = False) -> str:
    """A list of dicts as an HTML table; columns in order of first appearance. `folded`: inside
    a closed <details> whose summary line is the title."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(row.get(c)) for c in columns) + "</tr>" for row in rows)
    caption = f"<caption>{_esc(title)}</caption>" if title and not folded else ""
    # wide tables (one column per metric and sigma) scroll instead of overflowing the page
    table = (f'<div class="scroll"><table>{caption}<thead><tr>{head}</tr></thead>'
             f"<tbody>{body}</tbody></table></div>")
    if folded:
        return f"<details><summary>{_esc(title or 'table')}</summary>{table}</details>"
    return table


def render_quantities(quantities: dict) -> str:
    """Named quantities: one row each (name and unit, a value per column; the definition shows
    on hovering the name), then every definition in one folded list: one line a row keeps the
    table, and the page's first screen, short."""
    columns = quantities["columns"]
    head = "".join(f"<th>{_esc(c)}</th>" for c in ["quantity", *columns])
    rows, definitions = [], []
    for q in quantities["rows"]:
        values = "".join(_cell(q["values"].get(c)).replace(' class="text"', "")
                         for c in columns)
        unit = f' <span class="unit">({_esc(q["unit"])})</span>' if q.get("unit") else ""
        rows.append(f'<tr><td class="text" title="{_esc(q["definition"])}"><b>'
                    f'{_esc(q["name"])}</b>{unit}</td>{values}</tr>')
        definitions.append(f'<li><b>{_esc(q["name"])}</b>: {_esc(q["definition"])}</li>')
    return (f'<table class="quantities"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
            f'<details class="def"><summary>What each quantity is</summary><ul>'
            f"{''.join(definitions)}</ul></details>")


def render_numbers(numbers: dict) -> str:
    """Key numbers as a two-column table."""
    rows = "".join(f"<tr><th>{_esc(k)}</th>{_cell(v)}</tr>" for k, v in numbers.items())
    return f'<table class="numbers"><tbody>{rows}</tbody></table>'


_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
         ".svg": "image/svg+xml", ".webp": "image/webp"}


def _source(path: str, root: Path | None) -> str:
    """The img src: the file's bytes as a data: URI under `root`, else its quoted path."""
    if root is None:
        return quote(path)
    file = root / path
    data = base64.b64encode(file.read_bytes()).decode("ascii")
    return f"data:{_MIME.get(file.suffix.lower(), 'application/octet-stream')};base64,{data}"


def _render_figure(fig: dict, root: Path | None) -> str:
    src = _esc(_source(fig["path"], root))
    alt = _esc(fig.get("alt") or fig.get("title") or fig.get("caption") or fig["path"])
    text = " ".join(x for x in (f"<b>{_esc(fig['title'])}.</b>" if fig.get("title") else "",
                                 _esc(fig.get("caption") or "")) if x)
    caption = f"<figcaption>{text}</figcaption>" if text else ""
    return (f'<figure><img src="{src}" alt="{alt}" data-path="{_esc(quote(fig["path"]))}" '
            f'loading="eager">{caption}</figure>')


def _render_section(i: int, section: dict, root: Path | None) -> str:
    shows = any(section.get(k) for k in ("figures", "quantities", "numbers", "tables"))
    # a section of text alone (e.g. the setup) is a paragraph, not a "what to look at"
    text = [f'<p class="look"><b>What to look at:</b> {_esc(section["caption"])}</p>' if shows
            else f"<p>{_esc(section['caption'])}</p>"]
    if section.get("quantities"):
        text.append(render_quantities(section["quantities"]))
    if section.get("numbers"):
        text.append(render_numbers(section["numbers"]))
    tables = [render_table(t["rows"], t.get("title"), bool(t.get("folded")))
              for t in section.get("tables", [])]
    figures = [_render_figure(f, root) for f in section.get("figures", [])]
    lead = section.get("layout") == "lead"
    cls = ' class="lead"' if lead else ""
    parts = [f'<section id="s{i}"{cls}><h2>{_esc(section["title"])}</h2>']
    if lead:  # the first figure beside the text, any further ones under its caption
        parts += ['<div class="lead-body">', *figures[:1], '<div class="lead-text">', text[0],
                  *figures[1:], *text[1:], "</div></div>", *tables]
    else:
        parts += [text[0], *figures, *text[1:], *tables]
    parts.append("</section>")
    return "\n".join(parts)


def render_html(manifest: dict, root=None) -> str:
    """The whole page for a validated manifest (see `gahr.report.manifest`); with the report
    dir `root`, every figure is embedded in the page."""
    root = None if root is None else Path(root)
    sections = manifest["sections"]
    toc = "".join(f'<li><a href="#s{i}">{_esc(s["title"])}</a></li>'
                  for i, s in enumerate(sections))
    head = [f"<h1>{_esc(manifest['title'])}</h1>"]
    if manifest.get("intro"):
        head.append(f'<p class="intro">{_esc(manifest["intro"])}</p>')
    rest = []
    if manifest.get("numbers"):
        rest += ["<h2>Key numbers</h2>", render_numbers(manifest["numbers"])]
    if len(sections) > 1:
        rest.append(f"<nav><ol>{toc}</ol></nav>")
    body = [_render_section(i, s, root) for i, s in enumerate(sections)]
    # a lead section comes first, before the key numbers and the contents
    lead = sections[0].get("layout") == "lead"
    page = head + (body[:1] + rest + body[1:] if lead else rest + body)
    footer = (f"<footer>Built by gahr {_esc(__version__)} from report.json; rebuild with "
              "<code>gahr report DIR</code>.</footer>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_esc(manifest['title'])}</title><style>{_CSS}</style>"
            f"<script>{_SCRIPT}</script></head>\n<body>\n{chr(10).join(page)}\n{footer}\n"
            "</body></html>\n")
