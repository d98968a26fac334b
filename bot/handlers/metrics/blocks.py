"""The headline numbers (CONTRACT.md metrics JSON) as Block Kit, in the reader's language.

Used by `/cx metrics` (a full message) and the App Home (the compact headline).
Every number shows its sample size; a change is called a rise or a fall only when
the report says it is significant, and samples under 30 answers carry a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any, Final

from slack_sdk.models.blocks import MarkdownTextObject

from bot.blocks import Block, context, divider, header, markdown, section
from bot.i18n import N_, Translator
from core.metrics import SMALL_SAMPLE, shown_change

ARROWS: Final = MappingProxyType({"rise": "↑", "fall": "↓", "stable": "→"})
CHANGE_WORDS: Final = MappingProxyType(
    {"rise": N_("rising"), "fall": N_("falling"), "stable": N_("stable")}
)
PERIOD_NAMES: Final = MappingProxyType(
    {
        "week": N_("week"),
        "month": N_("month"),
        "quarter": N_("quarter"),
        "year": N_("year"),
    }
)


@dataclass(frozen=True)
class MetricLine:
    """One metric ready to show: name, formatted value, change and the small print."""

    key: str
    name: str
    value: str
    change: str  # "↑ rising (+4,5)" or "" when there is nothing to compare with
    interval: str  # "95 % interval 16,4 to 30,6" or ""
    answers: str  # "400 answers" or "" (CSI has no answers of its own)
    previous: str  # "previous 19,0" or ""
    warning: str  # small-sample warning or ""
    has_data: bool

    @property
    def detail(self) -> str:
        return " · ".join(part for part in (self.interval, self.answers, self.previous) if part)


def period_title(kind: str, start: date, end: date, t: Translator) -> str:
    """ "Week 47, 2026 (16. nov. 2026 – 22. nov. 2026)" in the reader's language."""
    _ = t.gettext
    if kind == "week":
        iso = start.isocalendar()
        name = _("Week {week}, {year}", week=iso.week, year=iso.year)
    elif kind == "month":
        name = _("{month} {year}", month=_month_name(start, t), year=start.year)
    elif kind == "quarter":
        name = _("Q{quarter} {year}", quarter=(start.month - 1) // 3 + 1, year=start.year)
    else:
        name = str(start.year)
    return _(
        "{name} ({start} – {end})",
        name=name,
        start=t.date(start),
        end=t.date(end),
    )


def _month_name(day: date, t: Translator) -> str:
    from babel.dates import format_date

    # Stand-alone month name ("november"), capitalised as a heading.
    name = format_date(day, "LLLL", locale=t.babel_locale)
    return name[:1].upper() + name[1:]


def change_text(change: str | None, delta: float | None, t: Translator, digits: int = 1) -> str:
    """ "↑ rising (+4,5)": the arrow and word from the significance test, then the difference."""
    if change is None or change not in ARROWS:
        return ""
    word = t.gettext(CHANGE_WORDS[change])
    if delta is None:
        return f"{ARROWS[change]} {word}"
    return f"{ARROWS[change]} {word} ({t.signed(delta, digits)})"


def metric_lines(report: Mapping[str, Any], t: Translator) -> list[MetricLine]:
    """NPS, CSAT, CES and CSI of a metrics report, formatted for the reader."""
    _ = t.gettext
    lines = []
    specs = (
        ("nps", "NPS", 1, "number"),
        ("csat", "CSAT", 1, "percent"),
        ("ces", "CES", 2, "number"),
    )
    for key, name, digits, style in specs:
        item = report.get(key) or {}
        score = item.get("score")
        n = int(item.get("n") or 0)
        previous = item.get("previous")
        value = t.percent(score, digits) if style == "percent" else t.number(score, digits)
        if key == "ces" and score is not None:
            value = _("{value} of 7", value=value)
        delta = shown_change(score, previous, digits)
        change = change_text(item.get("change"), delta, t, digits) if score is not None else ""
        ci = item.get("ci95")
        interval = ""
        if ci and score is not None:
            interval = _("95 % interval {low} to {high}", low=t.number(ci[0]), high=t.number(ci[1]))
        answers = t.ngettext("{count} answer", "{count} answers", n, count=t.number(n, 0))
        prev = ""
        if previous is not None:
            prev = _("previous {value}", value=_format(previous, style, digits, t))
        warning = ""
        if 0 < n < SMALL_SAMPLE:
            warning = _(
                "Small sample: fewer than {limit} answers, read with care.", limit=SMALL_SAMPLE
            )
        lines.append(
            MetricLine(
                key=key,
                name=name,
                value=value if score is not None else _("no answers"),
                change=change,
                interval=interval,
                answers=answers,
                previous=prev,
                warning=warning,
                has_data=score is not None,
            )
        )
    csi = report.get("csi") or {}
    csi_score, csi_prev = csi.get("score"), csi.get("previous")
    lines.append(
        MetricLine(
            key="csi",
            name="CSI",
            value=t.number(csi_score) if csi_score is not None else _("no answers"),
            change="",
            interval="",
            answers="",
            previous=_("previous {value}", value=t.number(csi_prev))
            if csi_prev is not None
            else "",
            warning="",
            has_data=csi_score is not None,
        )
    )
    return lines


def _format(value: float, style: str, digits: int, t: Translator) -> str:
    return t.percent(value, digits) if style == "percent" else t.number(value, digits)


def period_dates(report: Mapping[str, Any]) -> tuple[date, date]:
    period = report["period"]
    start, end = period["start"], period["end"]
    return (
        start if isinstance(start, date) else date.fromisoformat(str(start)),
        end if isinstance(end, date) else date.fromisoformat(str(end)),
    )


def metrics_blocks(
    report: Mapping[str, Any], kind: str, t: Translator, currency: str | None = None
) -> list[Block]:
    """The `/cx metrics` message: one section per metric, customers and follow-up below."""
    _ = t.gettext
    start, end = period_dates(report)
    blocks: list[Block] = [
        header(_("Customer metrics")),
        context(period_title(kind, start, end, t)),
    ]
    for line in metric_lines(report, t):
        text = f"*{line.name}*  {line.value}"
        if line.change:
            text += f"   {line.change}"
        if line.detail:
            text += f"\n{line.detail}"
        if line.warning:
            text += f"\n:warning: {line.warning}"
        blocks.append(section(text))
    blocks.append(divider())
    blocks.append(context(customers_text(report, t, currency)))
    followup = _followup_text(report, t)
    if followup:
        blocks.append(context(followup))
    return blocks


def metrics_fallback(report: Mapping[str, Any], kind: str, t: Translator) -> str:
    """Plain text for notifications and clients that show no blocks."""
    start, end = period_dates(report)
    values = ", ".join(f"{m.name} {m.value}" for m in metric_lines(report, t))
    return f"{period_title(kind, start, end, t)}: {values}"


def customers_text(report: Mapping[str, Any], t: Translator, currency: str | None) -> str:
    """Churn, retention and CLV of a metrics report (its `churn`, `retention`, `clv`)."""
    _ = t.gettext
    churn = (report.get("churn") or {}).get("rate")
    retention = (report.get("retention") or {}).get("rate")
    clv = (report.get("clv") or {}).get("average")
    return _(
        "Churn {churn} · Retention {retention} · Average CLV {clv} (last 12 months)",
        churn=t.percent(churn),
        retention=t.percent(retention),
        clv=t.money(None if clv is None else _decimal(clv), currency),
    )


def _followup_text(report: Mapping[str, Any], t: Translator) -> str:
    followup = report.get("detractor_followup") or {}
    alerts = int(followup.get("alerts") or 0)
    if not alerts:
        return ""
    return t.gettext(
        "Detractor alerts: {alerts}, handled within 24 hours: {handled}, overdue: {overdue}",
        alerts=t.number(alerts, 0),
        handled=t.number(int(followup.get("handled_within_24h") or 0), 0),
        overdue=t.number(int(followup.get("open_overdue") or 0), 0),
    )


def _decimal(value: Any) -> Any:
    from decimal import Decimal

    return value if isinstance(value, Decimal) else Decimal(str(value))


def headline_fields(report: Mapping[str, Any], t: Translator) -> list[MarkdownTextObject]:
    """NPS, CSAT and CES side by side (the App Home's headline)."""
    out = []
    for line in metric_lines(report, t)[:3]:
        text = f"*{line.name}*\n{line.value}"
        if line.change:
            text += f"  {line.change}"
        if line.has_data:
            text += f"\n{line.answers}"
        if line.warning:
            text += "\n:warning: " + t.gettext("small sample")
        out.append(markdown(text.rstrip()))
    return out
