"""The briefing book as one HTML document for print: cover, scores, every KPI against target with its changes, the
region league table, a section per perspective with the pages' charts, the early-warning list, commentary and actions
(when the store gives any) and the definitions. Text from the data is escaped; numbers are formatted as on the pages
(`dashboard.format`), in the current language. No Streamlit here: the report command and the scorecard's button both
use it."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import plotly
import plotly.graph_objects as go
import plotly.io as pio

from dashboard import charts
from dashboard.format import change, day, month, number
from dashboard.i18n import _, language
from dashboard.labels import DIRECTION, STATUS, TICKET_TYPE, TIER, column, early_warning_reasons, label
from metrics import CATALOGUE, PERSPECTIVES

if TYPE_CHECKING:  # report imports this module to print its books
    from report.book import Book

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
FULL, HALF = 680, 334  # chart widths in CSS pixels on an A4 page with 15 mm margins
FONT_STACK = "'Noto Sans CJK SC', 'Noto Sans', sans-serif"


def e(text) -> str:
    return html.escape(str(text), quote=True)


def metric_label(metric_id: str) -> str:
    metric = CATALOGUE[metric_id]
    return metric.label_zh if language() == "zh" else metric.label_en


def perspective_label(key: str) -> str:
    english, chinese = PERSPECTIVES[key]
    return chinese if language() == "zh" else english


def scope_label(book: Book) -> str:
    if book.scope is None:
        return _("Company")
    return "、".join(book.scope) if language() == "zh" else ", ".join(book.scope)


def title() -> str:
    return _("Key account service briefing book")


def out_of_100(value: float) -> str:
    return "–" if value != value else f"{value:.0f}"


class Figures:
    """The book's Plotly figures, each drawn into its own box by plotly.js when the page is printed."""

    def __init__(self):
        self.specs: list[str] = []

    def add(self, fig: go.Figure, width: int, height: int, small: bool = False, xaxis: dict | None = None,
            yaxis: dict | None = None) -> str:
        """A box for the figure at this size; `xaxis`, `yaxis`: settings over the builder's. Changed on the figure's
        JSON, not the figure: the builders share their figures, and a validated copy of each cost more than the
        rest of the book."""
        spec = json.loads(pio.to_json(fig, validate=False))
        layout = spec.setdefault("layout", {})
        layout.update(width=width, height=height, margin={"l": 48, "r": 12, "t": 40 if small else 56, "b": 34})
        layout.setdefault("title", {}).setdefault("font", {})["size"] = 12 if small else 14
        layout.setdefault("font", {})["size"] = 9 if small else 11
        if small:
            layout["showlegend"] = False
        for name, settings in (("xaxis", xaxis), ("yaxis", yaxis)):
            for key, value in (settings or {}).items():
                if key == "title_text":
                    layout.setdefault(name, {})["title"] = {"text": value}
                else:
                    layout.setdefault(name, {})[key] = value
        box = f"chart{len(self.specs)}"
        # "</" cannot end the script element early: JSON allows "<\/"
        text = json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")
        self.specs.append(f'<script type="application/json" id="{box}-data">{text}</script>')
        return f'<div class="chart" id="{box}" style="width:{width}px;height:{height}px"></div>'

    def scripts(self) -> str:
        draw = """<script>
window.chartsDrawn = Promise.all(Array.from(document.querySelectorAll('.chart')).map(function (box) {
  var fig = JSON.parse(document.getElementById(box.id + '-data').textContent);
  return Plotly.newPlot(box, fig.data, fig.layout, {staticPlot: true, displayModeBar: false});
})).then(function () { window.chartsReady = true; });
</script>"""
        return "".join(self.specs) + f"<script>{PLOTLY_JS.read_text(encoding='utf-8')}</script>" + draw


def status_pill(status: str) -> str:
    return f'<span class="pill" style="background:{charts.STATUS_COLORS[status]}">{e(label(STATUS, status))}</span>'


def change_cell(value: float, metric_id: str) -> str:
    metric = CATALOGUE[metric_id]
    text = change(value, metric.format)
    if text is None:
        return '<td class="num muted">–</td>'
    better = (value > 0) == (metric.direction == "higher")
    tone = "flat" if text.startswith("±") else "good" if better else "bad"
    return f'<td class="num {tone}">{e(text)}</td>'


def cover(book: Book) -> str:
    scores = book.scores.set_index("perspective")
    tiles = "".join(
        f'<div class="score{" composite" if key == "composite" else ""}"><div class="score-label">'
        f'{e(_("Composite score") if key == "composite" else perspective_label(key))}</div>'
        f'<div class="score-value">{out_of_100(scores.loc[key, "score"])}<small> / 100</small></div>'
        f'<div class="score-ytd">{e(_("Year to date"))} {out_of_100(scores.loc[key, "ytd"])}</div></div>'
        for key in ("composite", *PERSPECTIVES))
    counts = book.kpis["status"].value_counts()
    summary = " · ".join(f"{status_pill(s)} {int(counts.get(s, 0))}" for s in ("green", "amber", "red", "grey"))
    loaded = "–" if book.loaded_at is None else f"{day(book.loaded_at.date())} {book.loaded_at:%H:%M}"
    facts = [(_("Scope"), scope_label(book)), (_("Month"), month(book.month)),
             (_("Year to date"), f"{month(book.month.replace(month=1))} – {month(book.month)}"),
             (_("Data as of the last load"), loaded),
             (_("Data until"), "–" if book.data_until is None else day(book.data_until)),
             (_("Generated at"), f"{day(book.generated_at.date())} {book.generated_at:%H:%M}")]
    if book.reader is not None:
        facts.insert(1, (_("As seen by"), book.reader))
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts)
    return f"""<section class="cover">
<div class="brand">{e(_("Key account service scorecard"))}</div>
<h1>{e(title())}</h1>
<div class="subtitle">{e(scope_label(book))} · {e(month(book.month))}</div>
<table class="facts">{rows}</table>
<h2>{e(_("Scores"))}</h2>
<div class="scores">{tiles}</div>
<p class="summary">{e(_("KPIs this month:"))} {summary}</p>
{attention(book)}
<p class="note">{e(_("Each KPI scores its value against target, capped at 100; "
                     "the composite is the weighted mean of the KPIs that have data."))}</p>
</section>"""


def attention(book: Book) -> str:
    """The KPIs off target this month, the furthest from target (as a share of it) first."""
    off = book.kpis[book.kpis["status"] == "red"]
    if off.empty:
        return ""
    off = off.assign(gap=((off["value"] - off["target"]) / off["target"]).abs()).sort_values("gap", ascending=False)
    items = "".join(
        f"<li>{e(metric_label(r.metric))}: <b>{e(number(r.value, CATALOGUE[r.metric].format))}</b> "
        f"({e(_('target'))} {e(number(r.target, CATALOGUE[r.metric].format))})</li>"
        for r in off.itertuples(index=False))
    return f'<h3>{e(_("Off target this month"))}</h3><ul class="attention">{items}</ul>'


def kpi_table(book: Book, perspectives=tuple(PERSPECTIVES)) -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in (
        _("KPI"), _("Value"), _("Target"), _("Status"), _("vs previous month"), _("vs same month last year"),
        _("Year to date")))
    body = []
    for key in perspectives:
        body.append(f'<tr class="group"><td colspan="7">{e(perspective_label(key))}</td></tr>')
        for row in book.kpis[book.kpis["perspective"] == key].itertuples(index=False):
            fmt = CATALOGUE[row.metric].format
            body.append(
                f'<tr><td>{e(metric_label(row.metric))}</td><td class="num strong">{e(number(row.value, fmt))}</td>'
                f'<td class="num">{e(number(row.target, fmt))}</td><td>{status_pill(row.status)}</td>'
                f'{change_cell(row.change_month, row.metric)}{change_cell(row.change_year, row.metric)}'
                f'<td class="num">{e(number(row.ytd, fmt))}</td></tr>')
    notes = [f"{metric_label(m)} ({', '.join(needs)})" for m, needs in zip(book.kpis["metric"], book.kpis["missing"])
             if needs]
    needs = _("No data where no loaded export has what a KPI needs: {kpis}.").format(kpis="; ".join(notes))
    note = f'<p class="note">{e(needs)}</p>' if notes else ""
    return f'<table class="kpis"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>{note}'


def volumes(book: Book) -> str:
    """The month's size: catalogue counts and sums, with the month before, a year before and the year to date."""
    head = "".join(f"<th>{e(h)}</th>" for h in (
        "", month(book.month), _("vs previous month"), _("vs same month last year"), _("Year to date")))
    rows = []
    for row in book.volumes.itertuples(index=False):
        fmt = CATALOGUE[row.metric].format
        # A stock at the month's end (backlog, active customers): a year-to-date sum means nothing.
        total = "–" if row.metric in ("backlog", "active_customers") else number(row.ytd, fmt)
        rows.append(f'<tr><td>{e(metric_label(row.metric))}</td><td class="num strong">{e(number(row.value, fmt))}</td>'
                    f'{change_cell(row.value - row.previous_month, row.metric)}'
                    f'{change_cell(row.value - row.year_ago, row.metric)}<td class="num">{e(total)}</td></tr>')
    return f'<table class="kpis volumes"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def kpi_overview(book: Book) -> str:
    return f"""<section class="page">
<h2>{e(_("The month in figures"))}</h2>
{volumes(book)}
<h2 class="next">{e(_("Every KPI against target"))}</h2>
<p class="lead">{e(_("{month}: value, target and status; change against the previous month and the same month a "
                     "year earlier; year to date.").format(month=month(book.month)))}</p>
{kpi_table(book)}
</section>"""


def league(book: Book) -> str:
    table = book.league
    if table.empty:
        return ""
    head = "".join(f"<th>{e(column(c))}</th>" for c in ("rank", "region", "composite", *PERSPECTIVES))
    rows = []
    for row in table.itertuples(index=False):
        rank = "–" if pd.isna(row.rank) else str(int(row.rank))
        cells = "".join(f'<td class="num">{out_of_100(getattr(row, c))}</td>' for c in ("composite", *PERSPECTIVES))
        rows.append(f'<tr><td class="num">{rank}</td><td>{e(row.region)}</td>{cells}</tr>')
    return f"""<section class="block">
<h2>{e(_("Region league table"))}</h2>
<p class="lead">{e(_("Regions ranked by composite score for the month (scores out of 100); "
                     "a region without data has no score and no rank."))}</p>
<table class="league"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>
</section>"""


def kpi_trend(book: Book, figures: Figures, metric_id: str) -> str:
    frame = book.trends[metric_id]
    target = book.kpis.set_index("metric").loc[metric_id, "target"]
    if frame.empty or frame["value"].isna().all():
        return f'<div class="nodata" style="width:{HALF}px">{e(metric_label(metric_id))}: {e(_("No data"))}</div>'
    metric = CATALOGUE[metric_id]
    fig = charts.trend(frame, metric_label(metric_id), _(metric.unit), metric.format, target=float(target))
    # short month ticks that fit a half-width chart upright (the heading says which 13 months), and the axis around the
    # values: a KPI near its target shows its month-to-month movement, not a flat line far from 0
    return figures.add(fig, HALF, 165, small=True,
                       xaxis={"dtick": "M2", "title_text": "", "tickangle": 0,
                              "tickformat": "%-m月" if language() == "zh" else "%b %y"},
                       yaxis={"rangemode": "normal"})


def bars(book: Book, figures: Figures, name: str, title_text: str, y_title: str, metric_id: str,
         target: float | None = None, width: int = HALF, **options) -> str:
    """One breakdown as horizontal bars; nothing when the book has no such breakdown (training by service centre) or
    only one bar (a region's book broken down by region)."""
    if name not in book.breakdowns:
        return ""
    frame = book.breakdowns[name].dropna(subset=["value"])
    if frame.empty:
        return f'<div class="nodata" style="width:{width}px">{e(title_text)}: {e(_("No data"))}</div>'
    category = next(c for c in frame.columns if c not in ("value", "numerator", "denominator"))
    fmt = CATALOGUE[metric_id].format
    fig = charts.bars(frame, category, title_text, y_title, fmt, target=target, horizontal=True, **options)
    return figures.add(fig, width, max(200, 18 * len(frame) + 80), yaxis={"title_text": ""})


def by_place(book: Book, figures: Figures, name: str, metric_id: str, y_title: str, ascending: bool,
             target: float | None = None) -> str:
    """A KPI across the book's places: regions, or a region's service centres."""
    if name not in book.breakdowns:
        return ""
    sorted_breakdown(book, name, ascending)
    place = next(c for c in book.breakdowns[name].columns if c in ("region", "service_center"))
    title_text = _("{metric} by {dimension}").format(metric=metric_label(metric_id), dimension=column(place))
    return bars(book, figures, name, title_text, y_title, metric_id, target)


def target_of(book: Book, metric_id: str) -> float | None:
    rows = book.kpis[book.kpis["metric"] == metric_id]
    return None if rows.empty else float(rows["target"].iloc[0])


def sorted_breakdown(book: Book, name: str, ascending: bool) -> None:
    book.breakdowns[name] = book.breakdowns[name].sort_values("value", ascending=ascending, na_position="last")


def perspective_charts(book: Book, figures: Figures, key: str) -> list[str]:
    """The charts that explain a perspective, as its page draws them; the worst places first (at the top)."""
    if key == "financial":
        revenue = book.series["revenue"].merge(
            book.series["revenue_year_before"].rename(columns={"value": "before"}), on="month", how="left")
        out = []
        if not revenue["value"].isna().all():
            fig = charts.year_on_year(revenue, "value", "before", _("Revenue by month"), _("Revenue"), "yuan")
            out.append(figures.add(fig, FULL, 230))
        out.append(by_place(book, figures, "revenue_by_place", "revenue", _("Revenue"), False))
        return out
    if key == "customer":
        sorted_breakdown(book, "complaints_by_category", False)
        return [by_place(book, figures, "complaint_rate_by_place", "complaint_rate_per_10k", _("Per 10,000 customers"),
                         False, target_of(book, "complaint_rate_per_10k")),
                bars(book, figures, "complaints_by_category", _("By category"), column("complaints"), "complaints"),
                by_place(book, figures, "csat_by_place", "csat", _("Share scoring 4 or 5"), True,
                         target_of(book, "csat"))]
    if key == "internal_process":
        response = pd.concat([book.series["median_response_hours"].assign(series=_("Median")),
                              book.series["p90_response_hours"].assign(series=_("90th percentile"))])
        out = []
        if not response["value"].isna().all():
            fig = charts.trend(response, _("Response time trend"), _("Hours to first response"), "hours",
                               series="series")
            out.append(figures.add(fig, FULL, 230, xaxis={"title_text": ""}))
        sorted_breakdown(book, "sla_by_type", True)
        sla = target_of(book, "sla_compliance")
        out += [bars(book, figures, "sla_by_type", _("SLA compliance by ticket type"), _("Share meeting target"),
                     "sla_compliance", sla, labels=TICKET_TYPE),
                by_place(book, figures, "sla_by_place", "sla_compliance", _("Share meeting target"), True, sla),
                by_place(book, figures, "arrival_by_place", "repair_arrival_minutes", _("Minutes"), False,
                         target_of(book, "repair_arrival_minutes"))]
        return out
    return [by_place(book, figures, "visit_coverage_by_place", "visit_coverage", _("Share visited"), True,
                     target_of(book, "visit_coverage")),
            by_place(book, figures, "training_by_place", "training_hours_per_staff", _("Hours"), True,
                     target_of(book, "training_hours_per_staff"))]


def perspective_section(book: Book, figures: Figures, key: str) -> str:
    score = book.scores.set_index("perspective").loc[key]
    metric_ids = list(book.kpis.loc[book.kpis["perspective"] == key, "metric"])
    trends = "".join(kpi_trend(book, figures, m) for m in metric_ids)
    explained = "".join(perspective_charts(book, figures, key))
    return f"""<section class="page">
<h2>{e(perspective_label(key))} <span class="h-score">{out_of_100(score["score"])} / 100 · {
    e(_("Year to date"))} {out_of_100(score["ytd"])}</span></h2>
{kpi_table(book, (key,))}
<h3>{e(_("13-month trend against target"))}</h3>
<div class="grid">{trends}</div>
<div class="grid explained">{explained}</div>
</section>"""


def early_warning(book: Book) -> str:
    warning = book.early_warning
    if warning.empty:
        body = f'<p class="lead">{e(_("No VIP or key account shows a warning sign at the end of the month."))}</p>'
    else:
        reasons = early_warning_reasons(warning)
        head = "".join(f"<th>{e(column(c))}</th>" for c in ("customer_name", "tier", "region", "service_center",
                                                           "account_manager", "revenue_12m", "reasons"))
        rows = "".join(
            f'<tr><td>{e(label({}, r.customer_name))}</td><td>{e(label(TIER, r.tier))}</td><td>{e(r.region)}</td>'
            f'<td>{e(label({}, r.service_center))}</td><td>{e(label({}, r.account_manager))}</td>'
            f'<td class="num">{e(number(r.revenue_12m, "yuan"))}</td><td class="reasons">{e(why)}</td></tr>'
            for r, why in zip(warning.itertuples(index=False), reasons))
        body = f'<table class="warning"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
    shown = _("The {shown} accounts most at risk of {total} on the list: VIP first, then by number of reasons and "
              "revenue.").format(shown=len(warning), total=book.early_warning_total)
    return f"""<section class="page">
<h2>{e(_("Early warning: key accounts at risk"))}</h2>
<p class="lead">{e(shown)}</p>
<p class="note">{e(_("VIP and key accounts with at least one warning sign: consumption down 20% or more on a year "
                     "earlier, two or more complaints in 90 days, unpaid bills, low satisfaction, no visit in 180 "
                     "days, capacity reduction or suspension."))}</p>
{body}
</section>"""


def commentary(book: Book) -> str:
    """Commentary and open actions, only when the application store gave some."""
    if not book.commentary and not book.actions:
        return ""
    parts = [f'<section class="page"><h2>{e(_("Commentary and open actions"))}</h2>']
    if book.commentary:
        parts.append(f"<h3>{e(_('Commentary'))}</h3>")
        parts += [f'<div class="comment"><div class="comment-head">{e(metric_label(c.metric))} · {e(c.author)} · '
                  f'{e(day(c.written_on))}</div><p>{e(c.text)}</p></div>' for c in book.commentary]
    if book.actions:
        head = "".join(f"<th>{e(h)}</th>" for h in (_("KPI"), _("Action"), _("Owner"), _("Due"), _("Status")))
        rows = "".join(f"<tr><td>{e(metric_label(a.metric))}</td><td>{e(a.title)}</td><td>{e(a.owner)}</td>"
                       f"<td>{e('–' if a.due is None else day(a.due))}</td><td>{e(a.status)}</td></tr>"
                       for a in book.actions)
        parts.append(f"<h3>{e(_('Open actions'))}</h3><table class=\"actions\"><thead><tr>{head}</tr></thead>"
                     f"<tbody>{rows}</tbody></table>")
    parts.append("</section>")
    return "".join(parts)


def definitions(book: Book) -> str:
    rows = []
    for perspective, kpi in book.config.kpis():
        metric = CATALOGUE[kpi.metric]
        rows.append(f'<tr><td class="strong">{e(metric_label(kpi.metric))}</td>'
                    f'<td>{e(perspective_label(perspective))}</td>'
                    f'<td>{e(_(metric.definition))}</td><td>{e(_(metric.unit))}</td>'
                    f'<td>{e(label(DIRECTION, kpi.better))}</td>'
                    f'<td class="num">{e(number(kpi.target, metric.format))}</td>'
                    f'<td class="num">{kpi.weight:g}</td></tr>')
    head = "".join(f"<th>{e(h)}</th>" for h in (_("KPI"), _("Perspective"), _("Definition"), _("Unit"),
                                                 column("direction"), _("Target"), column("weight")))
    return f"""<section class="page">
<h2>{e(_("Definitions"))}</h2>
<table class="definitions"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>
</section>"""


STYLE = f"""
@page {{ size: A4; margin: 14mm 15mm 16mm 15mm; }}
* {{ box-sizing: border-box; }}
body {{ font-family: {FONT_STACK}; color: #1f2d3d; font-size: 10pt; margin: 0; }}
h1 {{ font-size: 26pt; margin: 0 0 6px; color: #12355b; }}
h2 {{ font-size: 15pt; color: #12355b; border-bottom: 2px solid #1f6fb2; padding-bottom: 3px; margin: 0 0 8px; }}
h3 {{ font-size: 11pt; color: #12355b; margin: 12px 0 6px; }}
.page {{ break-before: page; }}
.block {{ margin-top: 16px; break-inside: avoid; }}
.cover {{ padding-top: 40mm; }}
.brand {{ color: #1f6fb2; font-weight: bold; letter-spacing: 0.05em; margin-bottom: 8px; }}
.subtitle {{ font-size: 16pt; color: #3d5468; margin-bottom: 18px; }}
.facts th {{ text-align: left; color: #5b6b7b; font-weight: normal; padding: 2px 14px 2px 0; }}
.facts {{ margin-bottom: 22px; border-collapse: collapse; }}
.scores {{ display: flex; gap: 8px; margin: 6px 0 12px; }}
.score {{ flex: 1; border: 1px solid #c8d0d8; border-radius: 6px; padding: 8px; }}
.score.composite {{ background: #12355b; color: white; border-color: #12355b; }}
.score-label {{ font-size: 9pt; min-height: 2.4em; }}
.score-value {{ font-size: 22pt; font-weight: bold; }}
.score-value small {{ font-size: 9pt; font-weight: normal; }}
.score-ytd {{ font-size: 8.5pt; opacity: 0.8; }}
.summary {{ margin: 10px 0; }}
.note {{ color: #5b6b7b; font-size: 8.5pt; }}
.lead {{ color: #3d5468; margin: 0 0 8px; }}
table {{ border-collapse: collapse; width: 100%; }}
.kpis, .league, .warning, .definitions, .actions {{ font-size: 8.5pt; }}
thead th {{ background: #eef3f8; text-align: left; padding: 4px 5px; border-bottom: 1px solid #c8d0d8; }}
tbody td {{ padding: 3px 5px; border-bottom: 1px solid #eef1f4; vertical-align: top; }}
tr {{ break-inside: avoid; }}
tr.group td {{ font-weight: bold; background: #f6f8fa; color: #12355b; }}
.num {{ text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }}
.strong {{ font-weight: bold; }}
.good {{ color: #23804a; }} .bad {{ color: #c0392b; }} .flat, .muted {{ color: #7f8c8d; }}
.pill {{ color: white; border-radius: 4px; padding: 0 6px; font-size: 8pt; white-space: nowrap; }}
.h-score {{ float: right; font-size: 10pt; color: #3d5468; font-weight: normal; padding-top: 6px; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 8px 12px; }}
.chart {{ break-inside: avoid; }}
.nodata {{ border: 1px dashed #c8d0d8; color: #7f8c8d; padding: 16px; height: 80px; break-inside: avoid; }}
.reasons {{ width: 30%; }}
.warning td:nth-child(2), .warning td:nth-child(3), .warning th {{ white-space: nowrap; }}
.warning td:nth-child(1) {{ width: 20%; }}
.comment {{ border-left: 3px solid #1f6fb2; padding: 2px 8px; margin: 6px 0; break-inside: avoid; }}
.comment-head {{ color: #5b6b7b; font-size: 8.5pt; }}
.comment p {{ margin: 2px 0; }}
.definitions td:nth-child(3) {{ width: 42%; }}
.definitions td:nth-child(5) {{ width: 11%; }}
.next {{ margin-top: 14px; }}
.volumes {{ margin-bottom: 4px; }}
.explained {{ margin-top: 14px; border-top: 1px solid #eef1f4; padding-top: 8px; }}
.attention {{ margin: 4px 0 0 0; padding-left: 18px; }}
"""


def document(book: Book) -> str:
    """The whole book as HTML, in the current language."""
    figures = Figures()
    sections = [cover(book), kpi_overview(book) + league(book),
                *(perspective_section(book, figures, key) for key in PERSPECTIVES),
                early_warning(book), commentary(book), definitions(book)]
    lang = "zh-Hans" if language() == "zh" else "en"
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{e(title())}</title>'
            f'<style>{STYLE}</style></head><body>{"".join(sections)}{figures.scripts()}</body></html>')


def footer(book: Book) -> str:
    """The running footer Chromium prints on every page (its own little document: styles inline)."""
    text = f"{title()} · {scope_label(book)} · {month(book.month)}"
    return (f'<div style="font-family:{FONT_STACK};font-size:7.5pt;color:#7f8c8d;width:100%;padding:0 15mm;'
            f'display:flex;justify-content:space-between"><span>{e(text)}</span>'
            f'<span><span class="pageNumber"></span> / <span class="totalPages"></span></span></div>')
