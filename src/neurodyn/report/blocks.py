"""The blocks every neurodyn report is built from: a self-contained page, an embedded figure,
a table cell. Run, sweep, comparison and study reports all use these, so every page looks and
escapes alike.

Example
-------
>>> import matplotlib.pyplot as plt
>>> from neurodyn.report.blocks import figure_html, page
>>> fig, ax = plt.subplots()
>>> _ = ax.plot([0, 1], [0, 1])
>>> html_text = page("demo", figure_html(fig, "a <line>"))
>>> "data:image/png;base64" in html_text and "a &lt;line&gt;" in html_text
True
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["cell_html", "columns_table_html", "figure_html", "markdown_html", "page"]

_CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.meta { color: #666; } pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
table { border-collapse: collapse; display: block; max-width: 100%; overflow-x: auto; }
td, th { border: 1px solid #ddd; padding: 0.3em 0.7em; text-align: right; } td { white-space: nowrap; }
th { background: #f6f8fa; } img { max-width: 100%; } .caption { color: #555; font-size: 0.9em; }
"""


def cell_html(value: object) -> str:
    """A table cell's text: floats to 3 significant digits, anything else escaped as it is."""
    return f"{value:.3g}" if isinstance(value, float) else html.escape(str(value))


def columns_table_html(
    rows: Sequence[Mapping[str, object]], columns: Sequence[tuple[str, str]]
) -> str:
    """An HTML table of `rows`, one column per `(key, title)` of `columns`, cells by
    `cell_html`."""
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell_html(row[key])}</td>" for key, _ in columns) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def figure_html(fig: Figure, caption: str) -> str:
    """`fig` as an embedded PNG with its (escaped) caption; the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}">'
        f'<figcaption class="caption">{html.escape(caption)}</figcaption></figure>'
    )


def page(title: str, body: str) -> str:
    """A self-contained HTML page (our style sheet inlined) around `body`."""
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body>{body}</body></html>"
    )


def markdown_html(text: str) -> str:
    r"""The plain-text summaries studies print (markdown tables between lines of prose) as HTML:
    each run of `| a | b |` lines becomes a table (its first row the header, the `|---|` rule
    dropped), every other non-blank line a paragraph; all text escaped.

    Example
    -------
    >>> markdown_html("| a | b |\n|---|---|\n| 1 | <2> |\nsaid")
    '<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>&lt;2&gt;</td></tr></table><p>said</p>'
    """
    parts: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        if table:
            head, *rows = table
            cells = [f"<tr>{''.join(f'<th>{html.escape(c)}</th>' for c in head)}</tr>"]
            cells += [f"<tr>{''.join(f'<td>{html.escape(c)}</td>' for c in r)}</tr>" for r in rows]
            parts.append(f"<table>{''.join(cells)}</table>")
            table.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|"):
            cells = [c.strip() for c in stripped[1:-1].split("|")]
            if not all(set(c) <= set("-: ") for c in cells):  # the header rule
                table.append(cells)
            continue
        flush()
        if stripped:
            parts.append(f"<p>{html.escape(stripped)}</p>")
    flush()
    return "".join(parts)
