"""Write the report: one self-contained HTML file (Vega libraries inlined, no network) plus the
same tables as CSV and the charts as PNG/SVG files beside it.

The page is the jinja2 template templates/report.html.j2, rendered with autoescape: every value
is HTML-escaped by default. The only exceptions are the two filters for <script> content:
`script_json` (the chart specs: JSON with '<', '>' and '&' written as \\u003c etc.) and
`script_text` (the inlined Vega libraries, with '</script' broken up). So a caption such as
'<script>' shows as text and never runs. Vega's tooltips escape HTML as well.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import altair as alt
import jinja2
import pandas as pd
from markupsafe import Markup


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


@dataclass
class TableView:
    """A table as the template shows it: formatted cells, the full CSV for the download link."""
    key: str
    title: str
    caption: str
    columns: list[str]
    rows: list[list[str]]
    csv_base64: str
    rows_note: str


@dataclass
class FigureView:
    key: str
    caption: str


def script_json(obj) -> Markup:
    """JSON safe inside a <script> element: no '</script>', no HTML-significant characters."""
    s = json.dumps(obj, allow_nan=False, default=str)
    return Markup(s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
                  .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def script_text(code: str) -> Markup:
    """JavaScript source safe inside a <script> element: no '</script' (any case) ends it early."""
    return Markup(_SCRIPT_END.sub(lambda m: "<\\/" + m.group(1), code))


_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)
_TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
                                autoescape=True, undefined=jinja2.StrictUndefined)
_TEMPLATES.filters.update(script_json=script_json, script_text=script_text)
_TEMPLATES.tests.update(table_view=lambda v: isinstance(v, TableView), figure_view=lambda v: isinstance(v, FigureView))


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


def table_view(t: Table) -> TableView:
    shown = t.df.head(t.max_rows)
    n = len(t.df)
    return TableView(t.key, t.title, t.caption, [str(c) for c in shown.columns],
                     [[_fmt(v) for v in row] for row in shown.itertuples(index=False)],
                     base64.b64encode(t.df.to_csv(index=False).encode()).decode(),
                     f" (showing {len(shown)} of {n} rows)" if n > len(shown) else f" ({n} rows)")


def _vl_version() -> str:
    return alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]


def render(title: str, sections: list[Section], out_dir: Path, subtitle: str = "",
           write_images: bool = True) -> Path:
    """Write out_dir/report.html, out_dir/tables/*.csv and out_dir/charts/*.{png,svg}; return the HTML path."""
    import vl_convert as vlc
    out_dir = Path(out_dir)
    (out_dir / "tables").mkdir(parents=True, exist_ok=True)
    (out_dir / "charts").mkdir(parents=True, exist_ok=True)
    specs: dict[str, dict] = {}
    with alt.data_transformers.disable_max_rows():
        shown = [Section(s.key, s.title, s.intro, s.coverage, [_item_view(item, out_dir, specs, write_images)
                                                                for item in s.items]) for s in sections]
    page = _TEMPLATES.get_template("report.html.j2").render(
        title=title, subtitle=subtitle, sections=shown, specs=specs,
        vega_bundle=vlc.javascript_bundle(vl_version=_vl_version()))
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _item_view(item, out_dir: Path, specs: dict, write_images: bool):
    """What the template shows for one section item, writing its CSV or chart files on the way."""
    if isinstance(item, Table):
        item.df.to_csv(out_dir / "tables" / f"{item.key}.csv", index=False)
        return table_view(item)
    if isinstance(item, Figure):
        spec = specs[item.key] = item.chart.to_dict()
        if write_images:
            _write_chart_images(spec, out_dir / "charts" / item.key)
        return FigureView(item.key, item.caption)
    return str(item)


def _write_chart_images(spec: dict, stem: Path) -> None:
    import vl_convert as vlc
    stem.with_suffix(".svg").write_text(vlc.vegalite_to_svg(spec, vl_version=_vl_version()))
    stem.with_suffix(".png").write_bytes(vlc.vegalite_to_png(spec, vl_version=_vl_version(), scale=2))
