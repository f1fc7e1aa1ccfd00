"""Text from the data or the URL made inert where it is shown: in Streamlit Markdown and in Plotly's HTML-like labels.

Names, industries, categories, reasons and filter values come from exports and links that anyone may have written;
shown as they are, `[x](http://…)` would be a link and `![](http://…)` an outside image in a notice, and `<a href=…>`
a link in a chart.
"""

from __future__ import annotations

import re

_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
_BACKTICKS = re.compile(r"`+")


def markdown(text) -> str:
    """`text` as itself in Streamlit Markdown (notices, captions): an inline code span, whose content Markdown
    never reads, so no link, image, HTML, emphasis, directive (`:red[…]`, `:material/…:`), formula or emoji can
    form. Backslash escapes are not enough: Streamlit still turns a bare `http://…` into a link. The fence is
    longer than any run of backticks inside; line breaks become spaces, as a code span cannot hold a blank line."""
    text = _LINE_BREAKS.sub(" ", str(text))
    if not text.strip():
        return text
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    return f"{fence} {text} {fence}"  # CommonMark drops one space at each end of a span that has them


def plotly(text) -> str:
    """`text` as itself in a Plotly label, legend, tick or hover text: Plotly reads `<a href>`, `<b>`, `<br>` and
    entities in them, so &, < and > are written as entities (which Plotly turns back into the characters)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
