"""Plotly figures: one template, one colour meaning (tiers, statuses), readable axes and formatted hover text.

Plain functions from DataFrames to figures, so they are tested without Streamlit. Text from the data (regions,
industries, categories, reasons) is escaped for Plotly's HTML-like labels; hover templates name a trace through
`%{fullData.name}`, so data never becomes template text. Each figure is built once per result and language and
shared (see `shared_figure`): callers must not change a figure they are given.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from dashboard import escape
from dashboard.i18n import _, language
from dashboard.labels import TICKET_TYPE, TIER, column, label, missing, not_given

FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, Source Sans Pro, sans-serif"
TIER_COLORS = {"VIP": "#8e44ad", "key": "#1f6fb2", "standard": "#9aa5b1", "new": "#27ae60", "closed": "#c0392b"}
STATUS_COLORS = {"green": "#2e9e5b", "amber": "#e6a23c", "red": "#d64541", "grey": "#a0a7b0"}
SERIES = ["#1f6fb2", "#e67e22", "#2e9e5b", "#8e44ad", "#d64541", "#16a5a5", "#7f8c8d", "#b8860b"]
ACCENT, MUTED = "#1f6fb2", "#9aa5b1"

pio.templates["scorecard"] = go.layout.Template(layout=go.Layout(
    font={"family": FONT, "size": 13, "color": "#1f2d3d"},
    colorway=SERIES,
    paper_bgcolor="white", plot_bgcolor="white",
    margin={"l": 60, "r": 20, "t": 80, "b": 50},
    xaxis={"gridcolor": "#eef1f4", "linecolor": "#c8d0d8", "automargin": True},
    yaxis={"gridcolor": "#eef1f4", "linecolor": "#c8d0d8", "automargin": True, "rangemode": "tozero"},
    legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
    hoverlabel={"font": {"family": FONT}},
    title={"font": {"size": 15}, "x": 0, "xanchor": "left", "y": 0.98, "yanchor": "top"},
))
pio.templates.default = "scorecard"

AXIS_FORMAT = {"percent": ".0%", "yuan": ",.3s", "kwh": ",.3s", "count": ",", "hours": ",.1f", "minutes": ",.0f",
               "score": ".2f", "nps": "+.0f", "per_10k": ",.0f", "ratio": ".2f"}
HOVER_FORMAT = {"percent": ".1%", "yuan": ",.0f", "kwh": ",.0f", "count": ",", "hours": ",.1f", "minutes": ",.0f",
                "score": ".2f", "nps": "+.1f", "per_10k": ",.0f", "ratio": ".2f"}


MONTHS_PER_PERIOD = {"month": 1, "quarter": 3, "year": 12}
MAX_TICKS = 12
SHARED_FIGURES = 256


def _frozen(value):
    """A hashable stand-in for a builder argument; frames and series by their content."""
    if isinstance(value, (pd.DataFrame, pd.Series)):
        frame = value.to_frame() if isinstance(value, pd.Series) else value
        return ("frame", tuple(map(str, frame.columns)), tuple(map(str, frame.dtypes)),
                pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    if isinstance(value, dict):
        return ("dict", tuple((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(_frozen(v) for v in value))
    hash(value)
    return value


def shared_figure(build):
    """Build a figure once per arguments (frames by content) and language, and hand the same figure to every later
    call: a cached page then costs the server no figure building (it was most of a chart page's script time)."""
    figures: OrderedDict = OrderedDict()
    lock = threading.Lock()

    @functools.wraps(build)
    def cached(*args, **kwargs):
        try:
            key = (language(), _frozen(args), _frozen(tuple(sorted(kwargs.items()))))
        except TypeError:  # an argument with no content hash: build it fresh
            return build(*args, **kwargs)
        with lock:
            if key in figures:
                figures.move_to_end(key)
                return figures[key]
        fig = build(*args, **kwargs)
        with lock:
            figures[key] = fig
            while len(figures) > SHARED_FIGURES:
                figures.popitem(last=False)
        return fig

    return cached


def month_format() -> str:
    return "%Y年%-m月" if language() == "zh" else "%Y-%m"


def _month_ticks(fig: go.Figure, when: pd.Series, months_per_period: int) -> None:
    """One tick per period, or per a whole number of periods when there are many: left to itself Plotly puts ticks
    every half month on a short range, and a month label then reads 2022-04, 2022-04, 2022-05."""
    dates = pd.to_datetime(pd.Series(when)).dropna()
    if dates.empty:
        return
    first, last = dates.min(), dates.max()
    span = (last.year - first.year) * 12 + last.month - first.month
    step = months_per_period
    while span / step > MAX_TICKS:
        step += months_per_period
    fig.update_xaxes(dtick=f"M{step}", tick0=first.strftime("%Y-%m-%d"))


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, fmt: str | None = None,
            height: int = 360) -> go.Figure:
    fig.update_layout(title=title, height=height, xaxis_title=x_title, yaxis_title=y_title,
                      separators=".,")
    if fmt:
        fig.update_yaxes(tickformat=AXIS_FORMAT[fmt])
    return fig


def event_kind(kind: str) -> str:
    """An event kind (store.models.EVENT_KINDS) in the page's language."""
    return {"typhoon": _("Typhoon"), "grid_fault": _("Grid fault"), "tariff_change": _("Tariff change"),
            "holiday": _("Holiday"), "system_change": _("System change")}.get(kind) or _("Other event")


EVENT_COLOR = "#6c5ce7"


def chart_range(when: pd.Series, months_per_period: int | None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last day a time axis covers: its last point's whole period (month, quarter, year) included."""
    dates = pd.to_datetime(pd.Series(when)).dropna()
    if dates.empty:
        return None
    last = dates.max()
    if months_per_period:
        last = last + pd.DateOffset(months=months_per_period) - pd.Timedelta(days=1)
    return dates.min(), last


def event_label(event) -> str:
    region = _("all regions") if event["region"] == "*" else event["region"]
    return f"{pd.Timestamp(event['event_date']).strftime('%Y-%m-%d')} · {event_kind(event['kind'])}" \
           f" · {region}: {event['text']}"


def _event_markers(fig: go.Figure, events: pd.DataFrame | None, when: pd.Series, months_per_period: int | None) -> None:
    """The events dated within the chart's range: a dotted line at each and a marker at the top whose hover text is
    the event (escaped: people wrote it). Events outside the range are not drawn."""
    if events is None or events.empty:
        return
    covered = chart_range(when, months_per_period)
    if covered is None:
        return
    dates = pd.to_datetime(events["event_date"])
    inside = events[(dates >= covered[0]) & (dates <= covered[1])]
    if inside.empty:
        return
    days = pd.to_datetime(inside["event_date"])
    for day_ in days:
        fig.add_vline(x=day_, line_dash="dot", line_color=EVENT_COLOR, line_width=1, opacity=0.6)
    fig.add_scatter(x=days, y=[1.0] * len(inside), yaxis="y2", mode="markers", name=_("Events"),
                    marker={"symbol": "triangle-down", "size": 12, "color": EVENT_COLOR},
                    hovertext=[escape.plotly(event_label(e)) for _i, e in inside.iterrows()],
                    hovertemplate="%{hovertext}<extra></extra>", meta="events")
    fig.update_layout(yaxis2={"overlaying": "y", "range": [0, 1.04], "visible": False, "fixedrange": True})


@shared_figure
def trend(frame: pd.DataFrame, title: str, y_title: str, fmt: str, x: str = "month", series: str | None = None,
          target: float | None = None, highlight: pd.Series | None = None,
          events: pd.DataFrame | None = None) -> go.Figure:
    """A line per series over time, with an optional target line, highlighted points and event markers (columns
    event_date, region, kind, text; those in the chart's range are drawn)."""
    fig = go.Figure()
    groups: Iterable[tuple[Any, pd.DataFrame]] = (frame.groupby(series, sort=True, dropna=False) if series
                                                  else [(None, frame)])
    when = month_format()
    for name, part in groups:
        shown = label(TIER, name) if series == "tier" else label(TICKET_TYPE, name) if series == "ticket_type" \
            else label({}, name)
        extra = "%{fullData.name}" if series else ""
        fig.add_scatter(x=part[x], y=part["value"], mode="lines+markers",
                        name=escape.plotly(shown) if series else y_title,
                        line={"color": TIER_COLORS.get(name) if series == "tier" else None},
                        hovertemplate=f"%{{x|{when}}}<br>%{{y:{HOVER_FORMAT[fmt]}}}<extra>{extra}</extra>")
    if target is not None:
        fig.add_hline(y=target, line_dash="dash", line_color=STATUS_COLORS["green"],
                      annotation_text=_("Target"), annotation_position="top left")
    if highlight is not None and highlight.any():
        marked = frame[highlight.to_numpy()]
        fig.add_scatter(x=marked[x], y=marked["value"], mode="markers", name=_("Stands out"),
                        marker={"size": 14, "color": STATUS_COLORS["red"], "symbol": "circle-open",
                                "line": {"width": 3}},
                        hovertemplate=f"%{{x|{when}}}: %{{y:{HOVER_FORMAT[fmt]}}} · {_('Stands out')}<extra></extra>")
    fig.update_xaxes(tickformat=when)
    if x in MONTHS_PER_PERIOD:
        _month_ticks(fig, frame[x], MONTHS_PER_PERIOD[x])
    _event_markers(fig, events, frame[x], MONTHS_PER_PERIOD.get(x))
    return _layout(fig, title, column(x), y_title, fmt)


@shared_figure
def bars(frame: pd.DataFrame, category: str, title: str, y_title: str, fmt: str, value: str = "value",
         target: float | None = None, colors: dict | None = None, horizontal: bool = False,
         labels: dict | None = None) -> go.Figure:
    """One bar per category, sorted as given; tiers and statuses keep their colours."""
    names = [escape.plotly(label(labels or {}, c)) for c in frame[category]]
    color = [(colors or {}).get(c, ACCENT) for c in frame[category]]
    hover = f"%{{{'y' if horizontal else 'x'}}}<br>%{{{'x' if horizontal else 'y'}:{HOVER_FORMAT[fmt]}}}<extra></extra>"
    if horizontal:
        fig = go.Figure(go.Bar(y=names, x=frame[value], orientation="h", marker_color=color, hovertemplate=hover))
        fig.update_yaxes(autorange="reversed")
        fig.update_xaxes(tickformat=AXIS_FORMAT[fmt])
        fig = _layout(fig, title, y_title, column(category), None, height=max(300, 28 * len(frame) + 100))
    else:
        fig = go.Figure(go.Bar(x=names, y=frame[value], marker_color=color, hovertemplate=hover))
        fig = _layout(fig, title, column(category), y_title, fmt)
    if target is not None:
        line = {"line_dash": "dash", "line_color": STATUS_COLORS["green"], "annotation_text": _("Target")}
        fig.add_vline(x=target, **line) if horizontal else fig.add_hline(y=target, **line)
    return fig


@shared_figure
def stacked(frame: pd.DataFrame, x: str, stack: str, value: str, title: str, y_title: str, fmt: str = "count",
            colors: dict | None = None, labels: dict | None = None, x_labels: dict | None = None) -> go.Figure:
    fig = go.Figure()

    def shown(v) -> str:  # a missing value reads "(not given)", never "nan"
        return escape.plotly(label(x_labels or {}, v if missing(v) else str(v)))

    for name, part in frame.groupby(stack, sort=False, observed=True, dropna=False):
        fig.add_bar(x=[shown(v) for v in part[x]], y=part[value],
                    name=escape.plotly(label(labels or {}, name)), marker_color=(colors or {}).get(name),
                    hovertemplate=f"%{{x}}<br>%{{fullData.name}}: %{{y:{HOVER_FORMAT[fmt]}}}<extra></extra>")
    # Bars in the frame's order (a categorical's own order), not in the order the first stack happens to meet them.
    present = {shown(v) for v in frame[x]}
    order = ([shown(c) for c in frame[x].cat.categories if shown(c) in present]
             if isinstance(frame[x].dtype, pd.CategoricalDtype) else list(dict.fromkeys(shown(v) for v in frame[x])))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(categoryorder="array", categoryarray=order)
    return _layout(fig, title, column(x), y_title, fmt)


@shared_figure
def tier_shares(distribution: pd.DataFrame, title: str) -> go.Figure:
    """Share of customers next to share of revenue and consumption, one colour per tier: the 20/80 rule at a glance."""
    fig = go.Figure()
    measures = [("customers_share", _("Customers")), ("revenue_share", _("Revenue")),
                ("consumption_kwh_share", _("Consumption"))]
    for _row_no, row in distribution.iterrows():
        tier = label(TIER, row["tier"])
        fig.add_bar(x=[text for _column, text in measures], y=[row[m] for m, _text in measures], name=tier,
                    marker_color=TIER_COLORS[row["tier"]], texttemplate="%{y:.0%}", textposition="inside",
                    hovertemplate=f"{tier}: %{{y:.1%}} · %{{x}}<extra></extra>")
    fig.update_layout(barmode="stack")
    return _layout(fig, title, "", _("Share"), "percent")


def pareto_points(curve: pd.DataFrame) -> pd.DataFrame:
    """About a thousand points of a Pareto curve (metrics.tiers.pareto_curve: a row per customer), enough to draw it:
    the origin, every n-th customer and the last. The chart is built from these, so that its cache key hashes a
    thousand rows, not a million (half a second at 1 M customers)."""
    step = max(1, len(curve) // 1000)
    return pd.concat([pd.DataFrame({"customer_share": [0.0], "revenue_share": [0.0]}),
                      curve.iloc[::step][["customer_share", "revenue_share"]],
                      curve.tail(1)[["customer_share", "revenue_share"]]], ignore_index=True)


@shared_figure
def pareto(sample: pd.DataFrame, title: str) -> go.Figure:
    """Lorenz-style curve: cumulative share of revenue against cumulative share of customers, largest first, through
    the points of pareto_points."""
    fig = go.Figure()
    fig.add_scatter(x=sample["customer_share"], y=sample["revenue_share"], mode="lines", name=_("Revenue captured"),
                    line={"color": ACCENT, "width": 3},
                    hovertemplate=_("Top %{x:.1%} of customers carry %{y:.1%} of revenue") + "<extra></extra>")
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name=_("Equal shares"), line={"color": MUTED, "dash": "dot"},
                    hoverinfo="skip")
    fig.add_vline(x=0.2, line_dash="dash", line_color=TIER_COLORS["closed"], annotation_text=_("Top 20%"))
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02])
    return _layout(fig, title, _("Customers, largest first (cumulative share)"), _("Revenue (cumulative share)"))


@shared_figure
def heatmap(frame: pd.DataFrame, x: str, y: str, value: str, title: str, fmt: str = "percent",
            x_title: str | None = None, y_title: str | None = None, colorscale: str = "Blues") -> go.Figure:
    # a missing row or column label reads "(not given)" (pivot_table would drop its rows)
    frame = frame.assign(**{c: frame[c].astype(object).where(frame[c].notna(), not_given())
                            for c in dict.fromkeys((x, y)) if frame[c].isna().any()})
    grid = frame.pivot_table(index=y, columns=x, values=value, aggfunc="first", observed=True)
    zmin, zmax = {"percent": (0, 1), "score": (1, 5)}.get(fmt, (None, None))  # a fixed scale reads the same everywhere
    fig = go.Figure(go.Heatmap(z=grid.to_numpy(), x=[escape.plotly(c) for c in grid.columns],
                               y=[escape.plotly(i) for i in grid.index],
                               colorscale=colorscale, zmin=zmin, zmax=zmax, texttemplate=f"%{{z:{HOVER_FORMAT[fmt]}}}",
                               hovertemplate=f"%{{y}} · %{{x}}: %{{z:{HOVER_FORMAT[fmt]}}}<extra></extra>",
                               colorbar={"tickformat": AXIS_FORMAT[fmt]}))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return _layout(fig, title, x_title or column(x), y_title or column(y), None, height=max(320, 34 * len(grid) + 120))


@shared_figure
def migration_sankey(migration: pd.DataFrame, title: str, before: str, after: str) -> go.Figure:
    """Tier on one date flowing to the tier on another; new and closed accounts included."""
    left = [t for t in ("new", "VIP", "key", "standard") if t in set(migration["from_tier"])]
    right = [t for t in ("VIP", "key", "standard", "closed") if t in set(migration["to_tier"])]
    nodes = [escape.plotly(f"{label(TIER, t)} ({before})") for t in left] + \
        [escape.plotly(f"{label(TIER, t)} ({after})") for t in right]
    fig = go.Figure(go.Sankey(
        node={"label": nodes, "color": [TIER_COLORS[t] for t in left + right], "pad": 18},
        link={"source": [left.index(t) for t in migration["from_tier"]],
              "target": [len(left) + right.index(t) for t in migration["to_tier"]],
              "value": migration["customers"], "color": "rgba(31,111,178,0.18)",
              "hovertemplate": "%{source.label} → %{target.label}: %{value:,}<extra></extra>"},
    ))
    fig.update_layout(title=title, height=420)
    return fig


def sparkline_values(frame: pd.DataFrame) -> list[float]:
    return [float(v) for v in frame["value"] if pd.notna(v)]


@shared_figure
def year_on_year(frame: pd.DataFrame, current: str, before: str, title: str, y_title: str, fmt: str,
                 events: pd.DataFrame | None = None) -> go.Figure:
    """Bars per month against a line of the same month a year earlier."""
    when = month_format()
    fig = go.Figure()
    fig.add_bar(x=frame["month"], y=frame[current], name=_("This month"), marker_color=ACCENT,
                hovertemplate=f"%{{x|{when}}}<br>%{{y:{HOVER_FORMAT[fmt]}}}<extra>%{{fullData.name}}</extra>")
    fig.add_scatter(x=frame["month"], y=frame[before], name=_("Same month a year earlier"), mode="lines+markers",
                    line={"color": SERIES[1]},
                    hovertemplate=f"%{{x|{when}}}<br>%{{y:{HOVER_FORMAT[fmt]}}}<extra>%{{fullData.name}}</extra>")
    fig.update_xaxes(tickformat=when)
    _month_ticks(fig, frame["month"], 1)
    _event_markers(fig, events, frame["month"], 1)
    return _layout(fig, title, column("month"), y_title, fmt)


@shared_figure
def tier_strip(frame: pd.DataFrame, title: str) -> go.Figure:
    """One square per month end, coloured by the tier the account had on it."""
    when = month_format()
    fig = go.Figure()
    for tier in ("VIP", "key", "standard"):
        part = frame[frame["tier"] == tier]
        if part.empty:
            continue
        fig.add_scatter(x=part["as_of"], y=[0] * len(part), mode="markers", name=escape.plotly(label(TIER, tier)),
                        marker={"symbol": "square", "size": 18, "color": TIER_COLORS[tier]},
                        customdata=part["trailing_revenue"],
                        hovertemplate=f"%{{x|{when}}}<br>%{{fullData.name}}<br>"
                                      f"{escape.plotly(column('trailing_revenue'))}: "
                                      "%{customdata:,.0f}<extra></extra>")
    fig.update_yaxes(visible=False, range=[-1, 1])
    fig.update_xaxes(tickformat=when)
    _month_ticks(fig, frame["as_of"], 1)
    fig = _layout(fig, title, "", "", None, height=170)
    fig.update_layout(margin={"t": 60, "b": 30})
    return fig
