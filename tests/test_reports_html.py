"""The report page template: every value is escaped by default; only the <script> filters are not,
and they cannot end the script element early."""
from __future__ import annotations

import json
import re

import altair as alt
import pandas as pd

from classfreq.reports.html import Figure, Section, Table, render, script_json, script_text

HOSTILE = "<script>window.__x = 1</script> & \"quoted\" 'single' <img src=x onerror=alert(1)>"


def test_script_filters_cannot_close_the_script_element():
    text = script_json({"caption": "</script><!-- " + HOSTILE, "line": "a\u2028b"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(str(text)) == {"caption": "</script><!-- " + HOSTILE, "line": "a\u2028b"}
    code = script_text("var a = '</script>'; var b = '</SCRIPT >'; var c = '<\\/script>';")
    assert not re.search(r"</script", str(code), re.IGNORECASE)
    assert str(code) == "var a = '<\\/script>'; var b = '<\\/SCRIPT >'; var c = '<\\/script>';"


def test_every_value_on_the_page_is_escaped(tmp_path):
    df = pd.DataFrame({HOSTILE: [HOSTILE, 1.5], "x": [1.0, 2.0]})
    chart = alt.Chart(pd.DataFrame({"name": [HOSTILE], "v": [1]})).mark_bar().encode(x="v:Q", y="name:N")
    section = Section("s1", HOSTILE, intro=HOSTILE, coverage=HOSTILE,
                      items=[Table("t1", HOSTILE, df, caption=HOSTILE), Figure("f1", chart, caption=HOSTILE), HOSTILE])
    page = render(HOSTILE, [section], tmp_path, subtitle=HOSTILE, write_images=False).read_text()
    # exactly the page's own three script elements: the Vega bundle, the specs, the embedding code
    assert len(re.findall(r"<script", page, re.IGNORECASE)) == 3
    assert len(re.findall(r"</script", page, re.IGNORECASE)) == 3
    body = page.split("</head>", 1)[1]   # after the inlined Vega libraries, whose code has '<img' in strings
    assert "<img" not in body and "<script>window" not in page
    escaped = "&lt;script&gt;window.__x = 1&lt;/script&gt; &amp; &#34;quoted&#34; &#39;single&#39; " \
              "&lt;img src=x onerror=alert(1)&gt;"
    # title, heading, subtitle, nav, section title, intro, coverage, table title, caption, column, cell,
    # figure caption, note
    assert page.count(escaped) == 13
    specs = json.loads(re.search(r'<script type="application/json" id="classfreq-specs">(.*?)</script>', page,
                                 re.S).group(1))
    assert list(specs) == ["f1"]
    assert [row["name"] for rows in specs["f1"]["datasets"].values() for row in rows] == [HOSTILE]  # intact
    assert pd.read_csv(tmp_path / "tables" / "t1.csv").columns[0] == HOSTILE
    assert "(2 rows)" in page and 'id="chart-f1"' in page
