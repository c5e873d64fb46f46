"""A report as a list of blocks (headings, paragraphs, tables, figures, code), rendered twice: to one
self-contained HTML page (figures inlined as base64 PNG, no script, no external request) and to Markdown
(figures as files next to it). Every string from a run (dataset text, configurations, errors, names) is
escaped for the target format here, in one place.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: CSS kept inline: the page must open from disk with nothing else around it.
STYLE = """
body{font:15px/1.5 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2328;max-width:1080px;
margin:2em auto;padding:0 1.2em}
h1{font-size:1.7em;border-bottom:1px solid #d0d7de;padding-bottom:.3em}
h2{font-size:1.35em;margin-top:2.2em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
h3{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.86em}
th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#57606a}
pre{background:#f6f8fa;padding:.8em;overflow-x:auto;font-size:.85em}
.note{background:#fff8c5;border:1px solid #d4a72c66;padding:.5em .8em;border-radius:4px}
.label{display:inline-block;font-size:.75em;font-weight:600;padding:0 .45em;border-radius:1em;
border:1px solid #888;margin-right:.3em}.test{color:#8250df;border-color:#8250df}
.val{color:#0969da;border-color:#0969da}
"""


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    anchor: str | None = None


@dataclass(frozen=True)
class Paragraph:
    text: str
    note: bool = False


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    numeric: tuple[bool, ...] = ()          # right-align these columns
    caption: str | None = None


@dataclass(frozen=True)
class Figure:
    name: str                               # file name under figures/ (Markdown) and alt text
    png: bytes
    caption: str


@dataclass(frozen=True)
class Code:
    text: str


Block = Heading | Paragraph | Table | Figure | Code


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    # ---- HTML -------------------------------------------------------------------------------------
    def html(self) -> str:
        e = html.escape
        out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
               '<meta name="viewport" content="width=device-width, initial-scale=1">',
               # no network, no script: a content policy that forbids any request the page could make
               "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
               "style-src 'unsafe-inline'\">",
               f"<title>{e(self.title)}</title><style>{STYLE}</style></head><body>", f"<h1>{e(self.title)}</h1>"]
        for b in self.blocks:
            if isinstance(b, Heading):
                anchor = f' id="{e(b.anchor)}"' if b.anchor else ""
                out.append(f"<h{b.level}{anchor}>{e(b.text)}</h{b.level}>")
            elif isinstance(b, Paragraph):
                cls = ' class="note"' if b.note else ""
                out.append(f"<p{cls}>{_inline_html(b.text)}</p>")
            elif isinstance(b, Table):
                out.append(_table_html(b))
            elif isinstance(b, Figure):
                data = base64.b64encode(b.png).decode("ascii")
                out.append(f'<figure><img alt="{e(b.name)}" src="data:image/png;base64,{data}">'
                           f"<figcaption>{_inline_html(b.caption)}</figcaption></figure>")
            else:
                out.append(f"<pre><code>{e(b.text)}</code></pre>")
        out.append("</body></html>")
        return "\n".join(out) + "\n"

    # ---- Markdown ---------------------------------------------------------------------------------
    def markdown(self, figures_dir: str = "figures") -> str:
        out = [f"# {_md(self.title)}", ""]
        for b in self.blocks:
            if isinstance(b, Heading):
                out += [f"{'#' * b.level} {_md(b.text)}", ""]
            elif isinstance(b, Paragraph):
                out += [f"> {_md_inline(b.text)}" if b.note else _md_inline(b.text), ""]
            elif isinstance(b, Table):
                if b.caption:
                    out += [f"*{_md(b.caption)}*", ""]
                out.append("| " + " | ".join(_cell_md(h) for h in b.headers) + " |")
                out.append("|" + "|".join("---:" if _num(b, i) else "---" for i in range(len(b.headers))) + "|")
                out += ["| " + " | ".join(_cell_md(c) for c in row) + " |" for row in b.rows]
                out.append("")
            elif isinstance(b, Figure):
                out += [f"![{_md(b.name)}]({figures_dir}/{b.name}.png)", "", _md_inline(b.caption), ""]
            else:
                out += ["```", b.text, "```", ""]
        return "\n".join(out).rstrip() + "\n"

    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]

    def write(self, folder: Path) -> list[Path]:
        """index.html, report.md and figures/*.png under ``folder``; returns the paths written."""
        (folder / "figures").mkdir(parents=True, exist_ok=True)
        written = []
        for fig in self.figures():
            path = folder / "figures" / f"{fig.name}.png"
            path.write_bytes(fig.png)
            written.append(path)
        for name, text in (("index.html", self.html()), ("report.md", self.markdown())):
            (folder / name).write_text(text, encoding="utf-8")
            written.append(folder / name)
        return written


def _num(t: Table, i: int) -> bool:
    return bool(t.numeric) and i < len(t.numeric) and t.numeric[i]


def _table_html(t: Table) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(h))}</th>" for h in t.headers)
    body = []
    for row in t.rows:
        cells = "".join(f'<td class="n">{e(_text(c))}</td>' if _num(t, i) else f"<td>{e(_text(c))}</td>"
                        for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    caption = f"<caption>{_inline_html(t.caption)}</caption>" if t.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# Inline markup: the only markup a block's text may carry is `code` spans and the [test] / [validation]
# labels; everything else is escaped.
def _inline_html(text: str) -> str:
    parts = text.split("`")
    out = []
    for i, part in enumerate(parts):
        esc = html.escape(part)
        if i % 2:
            out.append(f"<code>{esc}</code>")
        else:
            esc = esc.replace("[test]", '<span class="label test">test split</span>')
            esc = esc.replace("[validation]", '<span class="label val">validation split</span>')
            out.append(esc)
    return "".join(out)


def _md(text: str) -> str:
    return "".join("\\" + ch if ch in "\\*_[]<>#|" else ch for ch in text)


def _md_inline(text: str) -> str:
    parts = text.split("`")
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"`{part}`")
        else:
            out.append(_md(part).replace("\\[test\\]", "**test split**")
                       .replace("\\[validation\\]", "**validation split**"))
    return "".join(out)


def _cell_md(value: Any) -> str:
    return _md(_text(value)).replace("\n", " ")
