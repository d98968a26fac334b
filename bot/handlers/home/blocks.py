"""The App Home tab: one person's dashboard, in their language and timezone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.handlers.goals.blocks import goals_section
from bot.handlers.insights.blocks import category_label
from bot.handlers.metrics.blocks import headline_fields, period_dates, period_title
from bot.handlers.themes.blocks import home_theme_lines
from bot.i18n import N_, Translator
from bot.text import escape, literal_parts, shown
from core.goals import Progress
from core.text import redact
from core.themes import ThemeReport
from storage.home_queries import HomeAlert, HomeInsight, HomeShoutout

MAX_BLOCKS = 100  # Slack's limit for a Home tab; slack_sdk does not check block counts
REFRESH_ACTION = "home_refresh"
SNIPPET = 280  # characters of an insight or comment shown before "…"

INSIGHT_STATUS = {
    "new": N_("new"),
    "planned": N_("planned"),
    "done": N_("done"),
    "not_relevant": N_("not relevant"),
}
ALERT_STATUS = {"open": N_("open"), "claimed": N_("claimed")}


def home_view(
    *,
    t: Translator,
    tz: tzinfo,
    now: datetime,
    report: Mapping[str, Any],
    insights: Sequence[HomeInsight],
    shoutouts: Sequence[HomeShoutout],
    alerts: Sequence[HomeAlert],
    themes: ThemeReport | None = None,
    goals: Sequence[Progress] = (),
) -> dict[str, Any]:
    """The Home view as the dict `views.publish` takes; `themes` are last week's comment
    themes (core.themes), shown under the headline with their trend."""
    _ = t.gettext
    blocks: list[Block] = [HeaderBlock(text=_("Your customer dashboard"))]
    blocks += _headline(report, t)
    blocks += goals_section(goals, t)
    if themes is not None and themes.top(1):
        lines = [_("*What customers wrote about last week*"), *home_theme_lines(themes, t)]
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(lines))))
        blocks.append(_context(_("`/cx themes` shows their quotes, NPS and effect.")))
    blocks.append(DividerBlock())
    blocks += _alerts(alerts, t, tz, now)
    blocks.append(DividerBlock())
    blocks += _insights(insights, t, tz)
    blocks.append(DividerBlock())
    blocks += _shoutouts(shoutouts, t, tz)
    blocks.append(DividerBlock())
    blocks.append(
        ActionsBlock(
            elements=[ButtonElement(text=_("Refresh"), action_id=REFRESH_ACTION, value="refresh")]
        )
    )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=_("Type `/cx help` in any channel to see everything cxbot can do.")
                )
            ]
        )
    )
    return View(type="home", blocks=fit_blocks(blocks, t)).to_dict()


def fit_blocks(blocks: list[Block], t: Translator, limit: int = MAX_BLOCKS) -> list[Block]:
    """At most `limit` blocks: the rest is replaced by one line saying something was cut."""
    if len(blocks) <= limit:
        return blocks
    note = ContextBlock(
        elements=[MarkdownTextObject(text=t.gettext("More items are not shown here."))]
    )
    return [*blocks[: limit - 1], note]


def _headline(report: Mapping[str, Any], t: Translator) -> list[Block]:
    _ = t.gettext
    start, end = period_dates(report)
    blocks: list[Block] = [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=_(
                        "Last complete week: {period}", period=period_title("week", start, end, t)
                    )
                )
            ]
        ),
        SectionBlock(fields=headline_fields(report, t)),
    ]
    if not any((report.get(key) or {}).get("n") for key in ("nps", "csat", "ces")):
        blocks.append(
            _context(_("No answers in that week. Answers arrive by import, webhook or survey."))
        )
    return blocks


def _alerts(alerts: Sequence[HomeAlert], t: Translator, tz: tzinfo, now: datetime) -> list[Block]:
    _ = t.gettext
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text="*" + _("Open alerts you own") + "*"))
    ]
    if not alerts:
        blocks.append(_context(_("None: no unhappy customer is waiting for you.")))
        return blocks
    for alert in alerts[:15]:
        who = escape(alert.customer_id) if alert.customer_id else _("unknown customer")
        if alert.segment:
            who += f" ({escape(alert.segment)})"
        text = _(
            "*{metric} {score}* from {customer}",
            metric=alert.metric.upper(),
            score=alert.score,
            customer=who,
        )
        if alert.comment:
            comment = literal_parts(alert.comment, redact)
            text += "\n> " + shown(comment, SNIPPET, people=False, oneline=True)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
        due = _("due {when}", when=t.timestamp(alert.due_at, tz))
        if alert.due_at < now:
            due = ":rotating_light: " + _(
                "overdue since {when}", when=t.timestamp(alert.due_at, tz)
            )
        status = _(ALERT_STATUS.get(alert.status, alert.status))
        where = f" · <#{alert.channel}>" if alert.channel else ""
        blocks.append(_context(f"{status} · {due}{where}"))
    if len(alerts) > 15:
        blocks.append(_context(_("and {count} more", count=len(alerts) - 15)))
    return blocks


def _insights(insights: Sequence[HomeInsight], t: Translator, tz: tzinfo) -> list[Block]:
    _ = t.gettext
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text="*" + _("Your recent insights") + "*"))
    ]
    if not insights:
        blocks.append(
            _context(
                _("You have not recorded any insights yet. Type `/insight` and what you heard.")
            )
        )
        return blocks
    for insight in insights:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text="> " + shown(literal_parts(insight.text, redact), SNIPPET, oneline=True)
                )
            )
        )
        parts = [
            t.date(insight.created_at, tz=tz),
            _(INSIGHT_STATUS.get(insight.status, insight.status)),
        ]
        if insight.customer:
            parts.insert(1, escape(insight.customer))
        if insight.category:
            parts.append(category_label(insight.category, t))
        blocks.append(_context(" · ".join(parts)))
    return blocks


def _shoutouts(shoutouts: Sequence[HomeShoutout], t: Translator, tz: tzinfo) -> list[Block]:
    _ = t.gettext
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text="*" + _("Shout-outs") + "*"))]
    if not shoutouts:
        blocks.append(
            _context(_("No shout-outs yet. Type `/shoutout @person` to praise a colleague."))
        )
        return blocks
    for shout in shoutouts:
        receivers = t.join(f"<@{user}>" for user in shout.receivers) or "–"
        if shout.giver:
            head = _("From <@{giver}> to {receivers}", giver=shout.giver, receivers=receivers)
        else:
            head = _("From a customer to {receivers}", receivers=receivers)
        said = shown(literal_parts(shout.text, redact), SNIPPET, people=bool(shout.giver))
        text = f"{head}\n{said}"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
        parts = [t.date(shout.created_at, tz=tz)]
        if shout.promise:
            parts.append(_("promise: {promise}", promise=escape(shout.promise)))
        blocks.append(_context(" · ".join(parts)))
    return blocks


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])
