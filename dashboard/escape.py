"""Text from the data or the URL made inert where it is shown: in Streamlit Markdown and in Plotly's HTML-like labels.

Names, industries, categories, reasons and filter values come from exports and links that anyone may have written;
shown as they are, `[x](http://…)` would be a link and `![](http://…)` an outside image in a notice, and `<a href=…>`
a link in a chart.
"""

from __future__ import annotations

import re
import string

_MARKDOWN_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


def markdown(text) -> str:
    """`text` as itself in Streamlit Markdown: every ASCII punctuation mark backslash-escaped (CommonMark lets
    any be), so no link, image, autolink, HTML, emphasis, directive (`:red[…]`, `:material/…:`) or formula can
    form; line breaks become spaces, so no block (heading, list, table) can start."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(text)))


def plotly(text) -> str:
    """`text` as itself in a Plotly label, legend, tick or hover text: Plotly reads `<a href>`, `<b>`, `<br>` and
    entities in them, so &, < and > are written as entities (which Plotly turns back into the characters)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
