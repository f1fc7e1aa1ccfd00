"""Plotly figures: one template, one colour meaning (tiers, statuses), readable axes and formatted hover text.

Plain functions from DataFrames to figures, so they are tested without Streamlit.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from dashboard.i18n import _, language
from dashboard.labels import TIER, TICKET_TYPE, column, label

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


def month_format() -> str:
    return "%Y年%-m月" if language() == "zh" else "%Y-%m"


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, fmt: str | None = None,
            height: int = 360) -> go.Figure:
    fig.update_layout(title=title, height=height, xaxis_title=x_title, yaxis_title=y_title,
                      separators=".,")
    if fmt:
        fig.update_yaxes(tickformat=AXIS_FORMAT[fmt])
    return fig


def trend(frame: pd.DataFrame, title: str, y_title: str, fmt: str, x: str = "month", series: str | None = None,
          target: float | None = None, highlight: pd.Series | None = None) -> go.Figure:
    """A line per series over time, with an optional target line and highlighted points."""
    fig = go.Figure()
    groups = frame.groupby(series, sort=True) if series else [(None, frame)]
    when = month_format()
    for name, part in groups:
        shown = label(TIER, name) if series == "tier" else label(TICKET_TYPE, name) if series == "ticket_type" else name
        fig.add_scatter(x=part[x], y=part["value"], mode="lines+markers", name=str(shown) if shown else y_title,
                        line={"color": TIER_COLORS.get(name) if series == "tier" else None},
                        hovertemplate=f"%{{x|{when}}}<br>%{{y:{HOVER_FORMAT[fmt]}}}<extra>{shown or ''}</extra>")
    if target is not None:
        fig.add_hline(y=target, line_dash="dash", line_color=STATUS_COLORS["green"],
                      annotation_text=_("Target"), annotation_position="top left")
    if highlight is not None and highlight.any():
        marked = frame[highlight.to_numpy()]
        fig.add_scatter(x=marked[x], y=marked["value"], mode="markers", name=_("Stands out"),
                        marker={"size": 14, "color": STATUS_COLORS["red"], "symbol": "circle-open", "line": {"width": 3}},
                        hovertemplate=f"%{{x|{when}}}: %{{y:{HOVER_FORMAT[fmt]}}} · {_('Stands out')}<extra></extra>")
    fig.update_xaxes(tickformat=when)
    return _layout(fig, title, column(x), y_title, fmt)


def bars(frame: pd.DataFrame, category: str, title: str, y_title: str, fmt: str, value: str = "value",
         target: float | None = None, colors: dict | None = None, horizontal: bool = False,
         labels: dict | None = None) -> go.Figure:
    """One bar per category, sorted as given; tiers and statuses keep their colours."""
    names = [str(label(labels or {}, c)) for c in frame[category]]
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


def stacked(frame: pd.DataFrame, x: str, stack: str, value: str, title: str, y_title: str, fmt: str = "count",
            colors: dict | None = None, labels: dict | None = None, x_labels: dict | None = None) -> go.Figure:
    fig = go.Figure()
    for name, part in frame.groupby(stack, sort=False, observed=True):
        shown = label(labels or {}, name)
        fig.add_bar(x=[label(x_labels or {}, v) for v in part[x].astype(str)], y=part[value], name=str(shown),
                    marker_color=(colors or {}).get(name),
                    hovertemplate=f"%{{x}}<br>{shown}: %{{y:{HOVER_FORMAT[fmt]}}}<extra></extra>")
    # Bars in the frame's order (a categorical's own order), not in the order the first stack happens to meet them.
    present = set(frame[x].astype(str))
    order = ([str(c) for c in frame[x].cat.categories if str(c) in present]
             if isinstance(frame[x].dtype, pd.CategoricalDtype) else list(dict.fromkeys(frame[x].astype(str))))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(categoryorder="array", categoryarray=[label(x_labels or {}, v) for v in order])
    return _layout(fig, title, column(x), y_title, fmt)


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


def pareto(curve: pd.DataFrame, title: str) -> go.Figure:
    """Lorenz-style curve: cumulative share of revenue against cumulative share of customers, largest first."""
    step = max(1, len(curve) // 1000)
    sample = pd.concat([pd.DataFrame({"customer_share": [0.0], "revenue_share": [0.0]}),
                        curve.iloc[::step][["customer_share", "revenue_share"]], curve.tail(1)[["customer_share", "revenue_share"]]])
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


def heatmap(frame: pd.DataFrame, x: str, y: str, value: str, title: str, fmt: str = "percent",
            x_title: str | None = None, y_title: str | None = None, colorscale: str = "Blues") -> go.Figure:
    grid = frame.pivot_table(index=y, columns=x, values=value, aggfunc="first", observed=True)
    zmin, zmax = {"percent": (0, 1), "score": (1, 5)}.get(fmt, (None, None))  # a fixed scale reads the same everywhere
    fig = go.Figure(go.Heatmap(z=grid.to_numpy(), x=[str(c) for c in grid.columns], y=[str(i) for i in grid.index],
                               colorscale=colorscale, zmin=zmin, zmax=zmax, texttemplate=f"%{{z:{HOVER_FORMAT[fmt]}}}",
                               hovertemplate=f"%{{y}} · %{{x}}: %{{z:{HOVER_FORMAT[fmt]}}}<extra></extra>",
                               colorbar={"tickformat": AXIS_FORMAT[fmt]}))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return _layout(fig, title, x_title or column(x), y_title or column(y), None, height=max(320, 34 * len(grid) + 120))


def migration_sankey(migration: pd.DataFrame, title: str, before: str, after: str) -> go.Figure:
    """Tier on one date flowing to the tier on another; new and closed accounts included."""
    left = [t for t in ("new", "VIP", "key", "standard") if t in set(migration["from_tier"])]
    right = [t for t in ("VIP", "key", "standard", "closed") if t in set(migration["to_tier"])]
    nodes = [f"{label(TIER, t)} ({before})" for t in left] + [f"{label(TIER, t)} ({after})" for t in right]
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
