"""Write the report: one self-contained HTML file (Vega libraries inlined, no network) plus the
same tables as CSV and the charts as PNG/SVG files beside it.

All text from the data (class names, captions, sources) reaches the page either HTML-escaped in
tables or inside JSON that the browser parses (with '<', '>' and '&' escaped as \\u003c etc.), so
a caption such as '<script>' shows as text and never runs. Vega's tooltips escape HTML as well.
"""
from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import altair as alt
import pandas as pd

PAGE_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1180px;color:#1f2933;padding:0 16px}
h1{font-size:1.6em}h2{border-bottom:1px solid #d9e2ec;padding-bottom:4px;margin-top:36px}
.note{background:#fff8e1;border-left:4px solid #f0b429;padding:8px 12px;margin:10px 0}
.coverage{background:#eef6fc;border-left:4px solid #2680c2;padding:6px 12px;margin:8px 0;font-size:.92em}
table{border-collapse:collapse;font-size:.85em;margin:6px 0}th,td{border:1px solid #d9e2ec;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f0f4f8;position:sticky;top:0}.tablewrap{max-height:420px;overflow:auto;margin-bottom:4px}
.dl{font-size:.85em}nav a{margin-right:12px}.chart{margin:12px 0}
"""


@dataclass
class Table:
    key: str
    title: str
    df: pd.DataFrame
    caption: str = ""
    max_rows: int = 200


@dataclass
class Figure:
    key: str
    chart: alt.TopLevelMixin
    caption: str = ""


@dataclass
class Section:
    key: str
    title: str
    intro: str = ""
    coverage: str = ""
    items: list = field(default_factory=list)  # Table | Figure | str (escaped paragraph)


def _json_for_script(obj) -> str:
    """JSON safe inside a <script> element: no '</script>', no HTML-significant characters."""
    s = json.dumps(obj, allow_nan=False, default=str)
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


def table_html(t: Table) -> str:
    df = t.df
    shown = df.head(t.max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
                   for row in shown.itertuples(index=False))
    csv_b64 = base64.b64encode(df.to_csv(index=False).encode()).decode()
    more = f" (showing {len(shown)} of {len(df)} rows)" if len(df) > len(shown) else f" ({len(df)} rows)"
    return (f'<h3 id="{t.key}">{html.escape(t.title)}</h3>'
            + (f"<p>{html.escape(t.caption)}</p>" if t.caption else "")
            + f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
            + f'<div class="dl"><a download="{t.key}.csv" href="data:text/csv;base64,{csv_b64}">Download CSV</a>'
            + f" · tables/{t.key}.csv{html.escape(more)}</div>")


def _vl_version() -> str:
    return alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]


def render(title: str, sections: list[Section], out_dir: Path, subtitle: str = "",
           write_images: bool = True) -> Path:
    """Write out_dir/report.html, out_dir/tables/*.csv and out_dir/charts/*.{png,svg}; return the HTML path."""
    import vl_convert as vlc
    out_dir = Path(out_dir)
    (out_dir / "tables").mkdir(parents=True, exist_ok=True)
    (out_dir / "charts").mkdir(parents=True, exist_ok=True)
    parts, specs = [], {}
    nav = " ".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections)
    with alt.data_transformers.disable_max_rows():
        for s in sections:
            parts.append(f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>')
            if s.intro:
                parts.append(f"<p>{html.escape(s.intro)}</p>")
            if s.coverage:
                parts.append(f'<div class="coverage">{html.escape(s.coverage)}</div>')
            for item in s.items:
                if isinstance(item, Table):
                    parts.append(table_html(item))
                    item.df.to_csv(out_dir / "tables" / f"{item.key}.csv", index=False)
                elif isinstance(item, Figure):
                    spec = item.chart.to_dict()
                    specs[item.key] = spec
                    parts.append(f'<div class="chart" id="chart-{item.key}"></div>'
                                 + (f'<p class="dl">{html.escape(item.caption)}</p>' if item.caption else "")
                                 + f'<div class="dl">Files: charts/{item.key}.png · charts/{item.key}.svg '
                                 f'(or the … menu on the chart)</div>')
                    if write_images:
                        (out_dir / "charts" / f"{item.key}.svg").write_text(
                            vlc.vegalite_to_svg(spec, vl_version=_vl_version()))
                        (out_dir / "charts" / f"{item.key}.png").write_bytes(
                            vlc.vegalite_to_png(spec, vl_version=_vl_version(), scale=2))
                else:
                    parts.append(f'<p class="note">{html.escape(str(item))}</p>')
            parts.append("</section>")
    bundle = vlc.javascript_bundle(vl_version=_vl_version()).replace("</script", "<\\/script")
    embed = """
window.__chartsRendered = 0; window.__chartErrors = [];
const specs = JSON.parse(document.getElementById('classfreq-specs').textContent);
const opts = {renderer: 'svg', actions: {export: true, source: false, compiled: false, editor: false}};
Promise.all(Object.entries(specs).map(([key, spec]) =>
  vegaEmbed('#chart-' + key, spec, opts).then(() => { window.__chartsRendered += 1; })
    .catch(err => { window.__chartErrors.push(key + ': ' + err); console.error(err); })
)).then(() => { document.body.setAttribute('data-charts-done', String(window.__chartsRendered)); });
"""
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{PAGE_CSS}</style>
<script>{bundle}</script>
</head><body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(subtitle)}</p>
<nav>{nav}</nav>
{''.join(parts)}
<script type="application/json" id="classfreq-specs">{_json_for_script(specs)}</script>
<script>{embed}</script>
</body></html>
"""
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
