"""The digest (weekly) and the one-page reports (monthly, quarterly, yearly) as Block Kit.

One screen, in this order: what happened (the paragraph), the headline numbers, why
they moved, what customers wrote about, then customers, follow-up, insights, shout-outs
and pulse. A move is called a rise or a fall only when the digest says it is significant;
a smaller one is shown as within the margin of error. Small samples carry a warning.
A period without answers says so in one line, with what to check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from types import MappingProxyType
from typing import Any, Final

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from bot.blocks import Block, context, divider, fields, header, markdown, section
from bot.handlers.goals.blocks import goals_section
from bot.handlers.home.blocks import INSIGHT_STATUS
from bot.handlers.metrics.blocks import customers_text, metric_lines, period_title
from bot.handlers.themes.blocks import behind_line, digest_theme_lines
from bot.i18n import N_, Translator
from bot.text import escape, fit, literal_parts, shown
from core.digest import DIGITS, Digest
from core.drivers import Contribution, Decomposition
from core.metrics import NONE_KEY, SMALL_SAMPLE
from core.narrative import BY_PHRASES, CHECK_FEED, EMPTY
from core.text import redact

MAX_BLOCKS = 50  # Slack's limit for a message; slack_sdk does not check it
SECTION_LIMIT = 3000
INSIGHTS_SHOWN = 3
INSIGHT_CHARS = 150

TITLES: Final = MappingProxyType(
    {
        "week": N_("Weekly customer digest"),
        "month": N_("Monthly customer report"),
        "quarter": N_("Quarterly customer report"),
        "year": N_("Yearly customer report"),
    }
)
CHART_TITLES: Final = MappingProxyType(
    {
        "week": N_("NPS, CSAT and CES over the last {n} weeks"),
        "month": N_("NPS, CSAT and CES over the last {n} months"),
        "quarter": N_("NPS, CSAT and CES over the last {n} quarters"),
        "year": N_("NPS, CSAT and CES over the last {n} years"),
    }
)
NO_GROUP: Final = MappingProxyType(
    {"segment": N_("no segment given"), "touchpoint": N_("no touchpoint given")}
)
STATUS_EMOJI: Final = MappingProxyType(
    {"new": ":bulb:", "planned": ":memo:", "done": ":white_check_mark:"}
)
METRIC_NAMES: Final = MappingProxyType({"nps": "NPS", "csat": "CSAT", "ces": "CES", "csi": "CSI"})


def _section(text: str) -> SectionBlock:
    return section(fit(text, SECTION_LIMIT))


def _context(text: str) -> ContextBlock:
    return context(fit(text, SECTION_LIMIT))


# --------------------------------------------------------------------------- headline


def _report_view(d: Digest) -> dict[str, Any]:
    """The headline in the metrics-report shape `bot.handlers.metrics.blocks` formats."""
    view: dict[str, Any] = {}
    for h in d.headline:
        view[h.metric] = {
            "score": h.value,
            "n": h.n,
            "previous": h.previous,
            "change": h.change,
            "ci95": list(h.ci95) if h.ci95 else None,
        }
    return view


def headline_fields(d: Digest, t: Translator) -> list[MarkdownTextObject]:
    """NPS, CSAT, CES and CSI side by side: value, change, interval, answers, warning."""
    out = []
    for line in metric_lines(_report_view(d), t):
        text = f"*{line.name}*  {line.value}"
        if line.change and line.has_data:
            text += f"  {line.change}"
        detail = line.detail if line.has_data else ""
        if detail:
            text += f"\n{detail}"
        if line.warning:
            text += f"\n:warning: {line.warning}"
        out.append(markdown(text))
    return out


def _answers_line(d: Digest, t: Translator) -> str:
    count = t.ngettext(
        "{count} answer in all", "{count} answers in all", d.answers, count=t.number(d.answers, 0)
    )
    if d.response_rate is None:
        return count
    return t.gettext(
        "{answers} · response rate {rate}", answers=count, rate=t.percent(d.response_rate)
    )


# --------------------------------------------------------------------------- why it moved


def _group_name(key: str, by: str, t: Translator) -> str:
    if key == NONE_KEY:
        return t.gettext(NO_GROUP.get(by, NO_GROUP["segment"]))
    return escape(key)


def _score(value: float | None, metric: str, t: Translator) -> str:
    if metric == "csat":
        return t.percent(value, DIGITS[metric])
    return t.number(value, DIGITS[metric])


def _rate_detail(c: Contribution, d: Decomposition, t: Translator) -> str:
    return t.gettext(
        "{key} ({before} → {now}, {points} points)",
        key=_group_name(c.key, d.by, t),
        before=_score(c.score_before, d.metric, t),
        now=_score(c.score_now, d.metric, t),
        points=t.signed(c.total, DIGITS[d.metric]),
    )


def _mix_detail(c: Contribution, d: Decomposition, t: Translator) -> str:
    total_now = sum(x.n_now for x in d.contributions) or 1
    total_before = sum(x.n_before for x in d.contributions) or 1
    return t.gettext(
        "{key} ({before} → {now} of the answers)",
        key=_group_name(c.key, d.by, t),
        before=t.percent(100 * c.n_before / total_before, 0),
        now=t.percent(100 * c.n_now / total_now, 0),
    )


def _split_line(d: Decomposition, t: Translator) -> str | None:
    """ "By touchpoint: mostly Delivery (41,2 → 5,0, −6,1 points)", or None when no group
    stands out."""
    if not d.main:
        return None
    by = t.gettext(BY_PHRASES.get(d.by, d.by))
    if d.mix_driven:
        groups = t.join([_mix_detail(c, d, t) for c in d.main])
        return t.gettext(
            "{by}: mostly a shift in who answered, not scores changing within groups: {groups}.",
            by=by,
            groups=groups,
        )
    groups = t.join([_rate_detail(c, d, t) for c in d.main])
    return t.gettext("{by}: mostly {groups}.", by=by, groups=groups)


def driver_lines(d: Digest, t: Translator) -> list[str]:
    """One paragraph per explained metric: its move, then the segments and touchpoints
    behind it. A move that is not significant is never called a rise or a fall."""
    by_metric: dict[str, list[Decomposition]] = {}
    for item in d.drivers:
        by_metric.setdefault(item.metric, []).append(item)
    lines = []
    for metric, splits in by_metric.items():
        h = d.metric(metric)
        name = METRIC_NAMES[metric]
        delta = t.signed(h.delta, DIGITS[metric])
        if h.change == "rise":
            head = t.gettext("*{metric}* rose ({delta}).", metric=name, delta=delta)
        elif h.change == "fall":
            head = t.gettext("*{metric}* fell ({delta}).", metric=name, delta=delta)
        else:
            head = t.gettext(
                "*{metric}* moved {delta}, within the margin of error: not a rise or a fall.",
                metric=name,
                delta=delta,
            )
        parts = [p for p in (_split_line(s, t) for s in splits) if p]
        if metric == "nps":
            # The reasons in customers' own words: the themes of the answers behind it.
            behind = behind_line(d.themes, t)
            if behind:
                parts.append(behind)
        if h.small_sample:
            parts.append(
                t.gettext("Only {n} answers: read it as a hint, not a trend.", n=t.number(h.n, 0))
            )
        lines.append(" ".join([head, *parts]))
    return lines


def theme_lines(d: Digest, t: Translator) -> list[str]:
    """What customers wrote about: the named themes with their trend, and quotes."""
    return digest_theme_lines(d.themes, t)


# --------------------------------------------------------------------------- the rest


def _followup_text(d: Digest, t: Translator) -> str:
    f = d.followup
    alerts = int(f.get("alerts") or 0)
    if not alerts:
        return t.gettext("No detractor alerts in this period.")
    text = t.gettext(
        "Detractor alerts: {alerts}, handled within 24 hours: {handled}, overdue: {overdue}",
        alerts=t.number(alerts, 0),
        handled=t.number(int(f.get("handled_within_24h") or 0), 0),
        overdue=t.number(int(f.get("open_overdue") or 0), 0),
    )
    reached = int(f.get("reached") or 0)
    if reached:
        text += "\n" + t.gettext(
            "Reached by mail: {reached}, replied: {replied}, recovered: {recovered}",
            reached=t.number(reached, 0),
            replied=t.number(int(f.get("replied") or 0), 0),
            recovered=t.number(int(f.get("recovered") or 0), 0),
        )
    return text


def insight_lines(insights: Sequence[Mapping[str, Any]], t: Translator) -> list[str]:
    lines = []
    for item in insights[:INSIGHTS_SHOWN]:
        stored = literal_parts(str(item.get("text") or ""), redact)
        link = item.get("permalink")
        if link:
            # A link's label holds no markup: the insight's references as words.
            label = shown(stored, INSIGHT_CHARS, people=False, oneline=True)
            text = f"<{link}|{label}>"
        else:
            text = shown(stored, INSIGHT_CHARS, oneline=True)
        status = str(item.get("status") or "new")
        word = t.gettext(INSIGHT_STATUS.get(status, status))
        emoji = STATUS_EMOJI.get(status, ":speech_balloon:")
        votes = int(item.get("votes") or 0)
        extra = f" · +{votes}" if votes else ""
        lines.append(f"{emoji} _{word}_{extra}  {text}")
    return lines


def _insights_text(d: Digest, t: Translator) -> str | None:
    if not d.insights:
        return None
    new = sum(1 for i in d.insights if i.get("new", True))
    head = t.gettext("*Customer insights*: {count} recorded", count=t.number(new, 0))
    return "\n".join([head, *insight_lines(d.insights, t)])


def _shoutouts_text(d: Digest, t: Translator) -> str | None:
    s = d.shoutouts
    count = int(s.get("count") or 0)
    if not count:
        return None
    parts = [t.gettext("*Shout-outs*: {count}", count=t.number(count, 0))]
    customers = int(s.get("from_customers") or 0)
    if customers:
        parts.append(t.gettext("{count} from customers", count=t.number(customers, 0)))
    receivers = [str(u) for u in s.get("top_receivers") or []]
    if receivers:
        parts.append(
            t.gettext("most praised: {people}", people=t.join([f"<@{u}>" for u in receivers]))
        )
    if s.get("top_promise"):
        parts.append(
            t.gettext(
                "promise lived most: “{promise}” ({count})",
                promise=escape(str(s["top_promise"])),
                count=t.number(int(s.get("top_promise_count") or 0), 0),
            )
        )
    unlived = [str(p) for p in s.get("promises_unlived") or []]
    if unlived:
        parts.append(
            t.gettext(
                "not lived this time: {promises}",
                promises=t.join([f"“{escape(p)}”" for p in unlived]),
            )
        )
    return " · ".join(parts)


def _pulse_line(item: Mapping[str, Any], t: Translator) -> str:
    name = escape(str(item.get("name") or t.gettext("Pulse survey")))
    parts = [f"*{name}*"]
    if item.get("enough") is False:
        parts.append(t.gettext("not enough answers to show results"))
    else:
        enps = item.get("enps")
        if isinstance(enps, int | float) and not isinstance(enps, bool):
            parts.append(t.gettext("eNPS {value}", value=t.number(enps)))
        culture = item.get("culture")
        if isinstance(culture, int | float) and not isinstance(culture, bool):
            parts.append(t.gettext("culture {value} of 5", value=t.number(culture)))
    answers = item.get("answers")
    if isinstance(answers, int) and not isinstance(answers, bool):
        parts.append(
            t.ngettext("{count} answer", "{count} answers", answers, count=t.number(answers, 0))
        )
    rate = item.get("response_rate")
    if isinstance(rate, int | float) and not isinstance(rate, bool):
        parts.append(t.gettext("response rate {rate}", rate=t.percent(rate)))
    return " · ".join(parts)


def _pulse_text(d: Digest, t: Translator) -> str | None:
    if not d.pulse:
        return None
    return "\n".join([t.gettext("*Pulse surveys*"), *(_pulse_line(p, t) for p in d.pulse[:3])])


# --------------------------------------------------------------------------- the message


def title(d: Digest, t: Translator) -> str:
    return t.gettext(TITLES[d.cadence])


def chart_title(d: Digest, t: Translator) -> str:
    return t.gettext(CHART_TITLES[d.cadence], n=len(d.series))


def chart_labels(t: Translator) -> dict[str, str]:
    """The chart's texts in the reader's language (see `bot.handlers.digest.chart.render_chart`)."""
    return {
        "nps": "NPS",
        "csat": "CSAT %",
        "ces": t.gettext("CES (1–7)"),
        "interval": t.gettext("95 % interval"),
        "small_sample": t.gettext("fewer than {limit} answers", limit=SMALL_SAMPLE),
    }


def late_text(due: datetime, t: Translator, tz: tzinfo | None) -> str:
    return t.gettext(
        ":hourglass: Posted late: this report was due {when}.", when=t.timestamp(due, tz, zone=True)
    )


def digest_blocks(
    d: Digest,
    t: Translator,
    *,
    narrative: str,
    due: datetime | None = None,
    tz: tzinfo | None = None,
    note: str | None = None,
    currency: str | None = None,
) -> list[Block]:
    """The whole report as one message (at most 50 blocks).

    `narrative` is the checked paragraph; `due` the scheduled time, shown when the
    report is late; `note` a line on top (e.g. that a preview is private).
    """
    _ = t.gettext
    blocks: list[Block] = [header(fit(title(d, t), 150))]
    top = [period_title(d.cadence, d.period.start, d.period.end, t)]
    if d.late and due is not None:
        top.append(late_text(due, t, tz))
    if note:
        top.append(note)
    blocks.append(_context("\n".join(top)))

    if d.empty:
        # One line on what happened and what to check; the paragraph is exactly that.
        # The paragraph is plain text (a model's, or ours with the data's own names in it).
        text = escape(narrative) or " ".join([_(EMPTY[d.cadence]), _(CHECK_FEED)])
        blocks.append(_section(f":warning: {text}"))
    else:
        blocks.append(_section(escape(narrative)))
        blocks.append(divider())
        blocks.append(SectionBlock(fields=headline_fields(d, t)))
        blocks.append(_context(_answers_line(d, t)))
        why = driver_lines(d, t)
        if why:
            blocks.append(_section("\n".join([_("*Why it moved*"), *why])))
        themes = theme_lines(d, t)
        if themes:
            blocks.append(_section("\n".join([_("*What customers wrote about*"), *themes])))
    blocks.append(divider())
    customers = customers_text(
        {"churn": d.churn, "retention": d.retention, "clv": d.clv}, t, currency
    )
    blocks.append(
        fields(
            [
                _("*Customers*") + "\n" + customers,
                _("*Detractor follow-up*") + "\n" + _followup_text(d, t),
            ]
        )
    )
    blocks += goals_section(d.goals, t)
    for extra in (_insights_text(d, t), _shoutouts_text(d, t), _pulse_text(d, t)):
        if extra:
            blocks.append(_section(extra))
    blocks.append(
        _context(
            _(
                "Rises and falls are significant at 95 %; smaller moves are called stable. "
                ":warning: marks fewer than {limit} answers.",
                limit=SMALL_SAMPLE,
            )
        )
    )
    if len(blocks) > MAX_BLOCKS:
        raise ValueError(f"the digest has {len(blocks)} blocks; a message takes {MAX_BLOCKS}")
    return blocks


def digest_fallback(d: Digest, t: Translator, narrative: str) -> str:
    """The notification text (and what clients without blocks show)."""
    head = f"{title(d, t)}: {period_title(d.cadence, d.period.start, d.period.end, t)}"
    return fit(f"{head}. {escape(narrative)}", SECTION_LIMIT)
