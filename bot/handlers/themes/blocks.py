"""Comment themes (core.themes) as Slack text: `/cx themes`, the digest, the App Home and
the insight card all say a theme the same way.

Theme names are the product's own words, translated from the catalog; quotes are
customers' words, already redacted by core.themes, shown with `shown(..., people=False)`
so nothing in them can mention anyone or link anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from bot.blocks import Block, context, divider, header, section
from bot.i18n import N_, Translator
from bot.text import escape, fit, shown
from core.themes import QUOTES_FROM, ThemeReport, ThemeStat

QUOTE_CHARS = 180
SHOWN = 5
PER_PERIOD: Final = {
    "week": N_("this week"),
    "month": N_("this month"),
    "quarter": N_("this quarter"),
    "year": N_("this year"),
}
TITLES: Final = {
    "week": N_("What customers talked about this week"),
    "month": N_("What customers talked about this month"),
    "quarter": N_("What customers talked about this quarter"),
    "year": N_("What customers talked about this year"),
}
SENTIMENTS: Final = {
    "negative": N_("mostly negative"),
    "neutral": N_("mixed"),
    "positive": N_("mostly positive"),
}


def theme_name(name: str, t: Translator) -> str:
    """A theme's name in the reader's language, escaped (a name from an older stored
    result that is not a theme is shown as it was)."""
    return escape(t.gettext(name))


def arrow(stat: ThemeStat) -> str:
    return "↑" if stat.change > 0 else ("↓" if stat.change < 0 else "→")


def trend_text(stat: ThemeStat, t: Translator) -> str:
    """ "↑ 0 → 85": comments naming it before and now."""
    return t.gettext(
        "{arrow} {before} → {now}",
        arrow=arrow(stat),
        before=t.number(stat.before, 0),
        now=t.number(stat.count, 0),
    )


def theme_line(stat: ThemeStat, t: Translator, *, effect: bool = True) -> str:
    """One theme: name, comments with trend, share, sentiment, NPS and its effect."""
    parts = [
        f"*{theme_name(stat.name, t)}*",
        t.ngettext("{count} comment", "{count} comments", stat.count, count=t.number(stat.count, 0))
        + f" ({trend_text(stat, t)})",
        t.gettext("{share} of comments", share=t.percent(stat.share, 0)),
        t.gettext(SENTIMENTS.get(stat.sentiment, SENTIMENTS["neutral"])),
    ]
    if stat.nps is not None:
        parts.append(t.gettext("NPS {value} among them", value=t.number(stat.nps, 0)))
    if effect and stat.effect is not None and abs(stat.effect) >= 0.05:
        parts.append(
            t.gettext("{effect} points of the NPS change", effect=t.signed(stat.effect, 1))
        )
    return " · ".join(parts)


def quote_lines(stat: ThemeStat, t: Translator, limit: int = 3) -> list[str]:
    """The theme's representative quotes as Slack quotes (none below QUOTES_FROM comments)."""
    if stat.count < QUOTES_FROM:
        return []
    return [f"> “{shown(q, QUOTE_CHARS, people=False, oneline=True)}”" for q in stat.quotes[:limit]]


def behind_line(report: ThemeReport, t: Translator) -> str | None:
    """ "In the comments: mostly late delivery (0 → 85 comments, −21.4 points)." or None."""
    behind = report.behind_change()
    if not behind:
        return None
    listed = t.join(
        [
            t.gettext(
                "{theme} ({before} → {now} comments, {effect} points)",
                theme=f"*{theme_name(s.name, t)}*",
                before=t.number(s.before, 0),
                now=t.number(s.count, 0),
                effect=t.signed(s.effect, 1),
            )
            for s in behind
        ]
    )
    return t.gettext("In the comments: mostly {themes}.", themes=listed)


def digest_theme_lines(report: ThemeReport, t: Translator, shown_themes: int = 4) -> list[str]:
    """The digest's "What customers wrote about": top themes with trend, and the quotes of
    the theme most behind the change (or the most named one)."""
    top = report.top(shown_themes)
    if not top:
        return []
    lines = [f"• {theme_line(s, t, effect=False)}" for s in top]
    behind = report.behind_change(1)
    focus = behind[0] if behind else top[0]
    lines += quote_lines(focus, t, 2)
    return lines


def themes_blocks(
    report: ThemeReport, kind: str, t: Translator, *, period_label: str
) -> list[Block]:
    """`/cx themes`: the top themes of the period with trend, effect, summary and quotes."""
    blocks: list[Block] = [
        header(fit(t.gettext(TITLES.get(kind, TITLES["week"])), 150)),
        context(
            fit(
                t.gettext(
                    "{period} · {count} comments read, {before} the period before",
                    period=period_label,
                    count=t.number(report.comments, 0),
                    before=t.number(report.comments_before, 0),
                ),
                3000,
            )
        ),
    ]
    top = report.top(SHOWN)
    if not top:
        blocks.append(section(t.gettext("No comment named a theme in this period.")))
        return blocks
    behind = behind_line(report, t)
    if behind:
        blocks.append(section(fit(behind, 3000)))
    for stat in top:
        blocks.append(divider())
        lines = [theme_line(stat, t)]
        if stat.summary:
            lines.append(f"_{shown(stat.summary, 400, people=False, oneline=True)}_")
        lines += quote_lines(stat, t)
        if stat.count < QUOTES_FROM:
            lines.append(
                t.gettext("_Quotes are shown only from {k} comments._", k=t.number(QUOTES_FROM, 0))
            )
        blocks.append(section(fit("\n".join(lines), 3000)))
    note = t.gettext(
        "Themes are found in the comments offline, in English, Norwegian, Danish and Swedish."
    )
    if report.summaries_source == "model":
        note += " " + t.gettext("Summaries by the language model, checked against the counts.")
    blocks.append(context(note))
    return blocks


def themes_fallback(report: ThemeReport, kind: str, t: Translator) -> str:
    top = report.top(SHOWN)
    head = t.gettext(TITLES.get(kind, TITLES["week"]))
    if not top:
        return f"{head}: " + t.gettext("No comment named a theme in this period.")
    listed = t.join([f"{theme_name(s.name, t)} ({t.number(s.count, 0)})" for s in top])
    return f"{head}: {listed}"


def home_theme_lines(report: ThemeReport, t: Translator, limit: int = 3) -> list[str]:
    """The App Home's short list: name, comments and trend."""
    return [
        f"• *{theme_name(s.name, t)}* {trend_text(s, t)}"
        + (f" · NPS {t.number(s.nps, 0)}" if s.nps is not None else "")
        for s in report.top(limit)
    ]


def linked_line(stats: Sequence[ThemeStat], kind: str, t: Translator) -> str | None:
    """ "12 customers said this this month (late delivery)." for an insight card."""
    if not stats:
        return None
    best = max(stats, key=lambda s: s.count)
    return t.ngettext(
        "{count} customer said this {period} ({theme}).",
        "{count} customers said this {period} ({theme}).",
        best.count,
        count=t.number(best.count, 0),
        period=t.gettext(PER_PERIOD.get(kind, PER_PERIOD["month"])),
        theme=theme_name(best.name, t),
    )


def pulse_theme_text(themes: Sequence[Any], t: Translator) -> str:
    """A pulse question's themes, (name, count) pairs, as one line."""
    return t.join(
        f"{theme_name(str(term), t)} ({t.number(int(count), 0)})" for term, count in themes
    )
