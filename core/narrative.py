"""The digest's paragraph: written offline from templates, and the check a model's
paragraph must pass before it is posted.

Both work on `core.digest.digest_facts`, never on customer text. The templates are
English message ids with {placeholders}, passed through the caller's ``translate``
(the bot gives its i18n catalog), so the paragraph reads in the reader's language.

The check is deliberately strict: every number in the paragraph must be one of the
numbers in the facts. A model that computes ("NPS fell 12 %") or invents a figure
fails, and the caller posts the offline text instead.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

Translate = Callable[[str], str]
NumberFormat = Callable[[float, int], str]
Join = Callable[[Sequence[str]], str]

DIGITS = {"nps": 1, "csat": 1, "ces": 2, "csi": 1}
METRIC_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "csi": "CSI"}


def N_(msgid: str) -> str:
    """Marks a template for the message catalog; it is translated when used."""
    return msgid


BY_PHRASES = {"segment": N_("By segment"), "touchpoint": N_("By touchpoint")}
# One sentence per cadence: "this week" / "denne uken" does not compose from parts.
EMPTY = {
    "week": N_("No answers came in this week."),
    "month": N_("No answers came in this month."),
    "quarter": N_("No answers came in this quarter."),
    "year": N_("No answers came in this year."),
}
CHECK_FEED = N_(
    "Check that surveys are being sent and that the import or webhook feeding answers is running."
)
LATE = N_("This report comes late: it was due earlier, while the bot was not running.")
RISE = N_("{metric} rose to {value} from {previous} ({n} answers).")
FALL = N_("{metric} fell to {value} from {previous} ({n} answers).")
STABLE = N_("{metric} was {value} ({n} answers), no significant change from {previous}.")
FIRST = N_("{metric} was {value} ({n} answers), with nothing earlier to compare.")
SMALL = N_("Only {n} answers for {metric}: read it as a hint, not a trend.")
CSI_LINE = N_("The satisfaction index (CSI) was {value}.")
ANSWERS = N_("{n} answers in all.")
ANSWERS_RATE = N_("{n} answers in all, a response rate of {rate}.")
RATE_RISE = N_("{by}, the rise in {metric} came mainly from {groups}.")
RATE_FALL = N_("{by}, the fall in {metric} came mainly from {groups}.")
MIX_RISE = N_(
    "{by}, the rise in {metric} came mostly from a shift in who answered (mainly {groups}), "
    "not from scores changing within them."
)
MIX_FALL = N_(
    "{by}, the fall in {metric} came mostly from a shift in who answered (mainly {groups}), "
    "not from scores changing within them."
)
NOT_SIGNIFICANT = N_(
    "{metric} moved within the margin of error. {by}, most of that movement sits in {groups}."
)
GROUP_DETAIL = N_("{key} ({before} → {now})")
THEMES_FALL = N_("In the comments, the fall in {metric} came mostly from answers about {themes}.")
THEMES_RISE = N_("In the comments, the rise in {metric} came mostly from answers about {themes}.")
THEMES_MOVE = N_(
    "In the comments, most of the movement in {metric} sits in answers about {themes}."
)
THEME_EFFECT = N_("{theme} ({before} → {now} comments, {effect} points)")
THEMES_TOP = N_("Customers wrote most about {themes}.")
THEME_COUNT = N_("{theme} ({count} comments)")
FOLLOWUP = N_(
    "{alerts} detractor alerts: {handled} handled within {hours} hours, {overdue} overdue."
)
CHURN = N_("Churn is {churn} and retention {retention}.")
SHOUTOUTS = N_("Shout-outs: {count}; the promise lived most: {promise}.")
SHOUTOUTS_PLAIN = N_("Shout-outs: {count}.")


def _plain_number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def _plain_join(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c" (English; the bot passes its locale's list format)."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _say(translate: Translate, msgid: str, **values: object) -> str:
    try:
        return translate(msgid).format(**values)
    except (KeyError, IndexError, ValueError):
        # A translation with broken placeholders must not cost the digest its paragraph.
        return msgid.format(**values)


def _headline(
    facts: Mapping[str, Any], translate: Translate, number: NumberFormat, percent: NumberFormat
) -> list[str]:
    sentences: list[str] = []
    headline = facts.get("headline", {})
    for key in ("nps", "csat", "ces"):
        h = headline.get(key)
        if not h or h.get("value") is None:
            continue
        digits = DIGITS[key]
        values = {
            "metric": METRIC_NAMES[key],
            "value": number(h["value"], digits),
            "n": number(h["n"], 0),
        }
        if h.get("previous") is None:
            sentences.append(_say(translate, FIRST, **values))
        else:
            template = {"rise": RISE, "fall": FALL}.get(h.get("change", "stable"), STABLE)
            sentences.append(
                _say(translate, template, previous=number(h["previous"], digits), **values)
            )
        if h.get("small_sample"):
            sentences.append(_say(translate, SMALL, metric=values["metric"], n=values["n"]))
    csi = headline.get("csi")
    if csi and csi.get("value") is not None:
        sentences.append(_say(translate, CSI_LINE, value=number(csi["value"], DIGITS["csi"])))
    answers = number(facts.get("answers", 0), 0)
    if facts.get("response_rate") is not None:
        rate = percent(facts["response_rate"], 1)
        sentences.append(_say(translate, ANSWERS_RATE, n=answers, rate=rate))
    else:
        sentences.append(_say(translate, ANSWERS, n=answers))
    return sentences


def _explained(d: Mapping[str, Any]) -> float:
    """Share of the change its first named group explains (0 when nothing is named)."""
    if not d.get("main") or not d.get("change"):
        return 0.0
    return abs(d["main"][0]["total"] or 0.0) / abs(d["change"])


def _best_per_metric(drivers: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Per metric, the split (by segment or by touchpoint) whose first group explains
    most of the change: one clear reason per metric reads better than two lists."""
    best: dict[str, Mapping[str, Any]] = {}
    for d in drivers:
        if _explained(d) > 0 and (
            d["metric"] not in best or _explained(d) > _explained(best[d["metric"]])
        ):
            best[d["metric"]] = d
    return list(best.values())


def _drivers(
    facts: Mapping[str, Any], translate: Translate, number: NumberFormat, join: Join
) -> list[str]:
    sentences = []
    for d in _best_per_metric(facts.get("drivers", [])):
        metric = METRIC_NAMES[d["metric"]]
        by = translate(BY_PHRASES.get(d["by"], d["by"]))
        digits = DIGITS[d["metric"]]
        if not d.get("significant"):
            template = NOT_SIGNIFICANT
        elif d.get("mix_driven"):
            template = MIX_RISE if d["change"] > 0 else MIX_FALL
        else:
            template = RATE_RISE if d["change"] > 0 else RATE_FALL
        groups = []
        for c in d["main"]:
            if template in (MIX_RISE, MIX_FALL) or None in (c["score_before"], c["score_now"]):
                # A shift in who answered, or a group new or gone: no "from ... to".
                groups.append(c["key"])
            else:
                before, now = number(c["score_before"], digits), number(c["score_now"], digits)
                groups.append(_say(translate, GROUP_DETAIL, key=c["key"], before=before, now=now))
        sentences.append(_say(translate, template, metric=metric, by=by, groups=join(groups)))
    return sentences


def _themes(
    facts: Mapping[str, Any], translate: Translate, number: NumberFormat, join: Join
) -> list[str]:
    """The themes behind the NPS change (core.themes effects), else the most named ones."""
    themes = facts.get("themes", [])
    behind = [t for t in themes if t["theme"] in facts.get("themes_behind", [])]
    nps = facts.get("headline", {}).get("nps") or {}
    if behind and nps.get("delta"):
        listed = join(
            [
                _say(
                    translate,
                    THEME_EFFECT,
                    theme=translate(t["theme"]),
                    before=number(t["before"], 0),
                    now=number(t["now"], 0),
                    effect=number(t["effect"], 1),
                )
                for t in behind
            ]
        )
        change = nps.get("change")
        template = (
            THEMES_FALL if change == "fall" else THEMES_RISE if change == "rise" else THEMES_MOVE
        )
        return [_say(translate, template, metric=METRIC_NAMES["nps"], themes=listed)]
    top = [t for t in themes if t["now"] > 0][:3]
    if not top:
        return []
    listed = join(
        [
            _say(translate, THEME_COUNT, theme=translate(t["theme"]), count=number(t["now"], 0))
            for t in top
        ]
    )
    return [_say(translate, THEMES_TOP, themes=listed)]


def _others(
    facts: Mapping[str, Any], translate: Translate, number: NumberFormat, percent: NumberFormat
) -> list[str]:
    sentences = []
    follow = facts.get("followup", {})
    if follow.get("alerts"):
        sentences.append(
            _say(
                translate,
                FOLLOWUP,
                alerts=number(follow["alerts"], 0),
                handled=number(follow.get("handled_within_24h", 0), 0),
                hours=number(facts.get("reference", {}).get("followup_hours", 24), 0),
                overdue=number(follow.get("open_overdue", 0), 0),
            )
        )
    churn = facts.get("churn", {}).get("rate")
    retention = facts.get("retention", {}).get("rate")
    if churn is not None and retention is not None:
        sentences.append(
            _say(translate, CHURN, churn=percent(churn, 1), retention=percent(retention, 1))
        )
    shout = facts.get("shoutouts", {})
    if shout.get("count"):
        if shout.get("top_promise"):
            sentences.append(
                _say(
                    translate,
                    SHOUTOUTS,
                    count=number(shout["count"], 0),
                    promise=shout["top_promise"],
                )
            )
        else:
            sentences.append(_say(translate, SHOUTOUTS_PLAIN, count=number(shout["count"], 0)))
    return sentences


def offline_narrative(
    facts: Mapping[str, Any],
    translate: Translate,
    *,
    number: NumberFormat | None = None,
    join: Join | None = None,
    percent: NumberFormat | None = None,
) -> str:
    """The digest's paragraph from templates: what moved, why, and what else happened.

    ``translate`` maps an English message id to the reader's text (identity for
    English); ``number(value, digits)`` formats a number for the reader's locale
    (plain ``42.5`` when not given), ``percent(value, digits)`` a percentage, and
    ``join`` lists names ("a, b and c"). A
    non-significant move is never called a rise or a fall.
    """
    fmt = number or _plain_number
    # Percentages as the rest of the report writes them (the reader's "12.0%" or "12,0 %").
    pct = percent or (lambda value, digits: fmt(value, digits) + "%")
    listing = join or _plain_join
    sentences: list[str] = []
    if facts.get("late"):
        sentences.append(translate(LATE))
    if facts.get("empty"):
        sentences.append(translate(EMPTY.get(facts.get("cadence", "week"), EMPTY["week"])))
        sentences.append(translate(CHECK_FEED))
        return " ".join(sentences)
    sentences += _headline(facts, translate, fmt, pct)
    sentences += _drivers(facts, translate, fmt, listing)
    sentences += _themes(facts, translate, fmt, listing)
    sentences += _others(facts, translate, fmt, pct)
    return " ".join(sentences)


# --------------------------------------------------------------------------- the check

# A number as people write it in en, nb, da and sv: 42 / 42.5 / 42,5 / 1,234.5 /
# 1.234,5 / 1 234,5 (no-break space) / −3 / -3. A sign counts only when it stands
# right before the digits and is not joined to a word or number (2026-11-16, W47).
_NUMBER = re.compile(
    r"(?<![\w.,])"
    r"(?P<sign>[-−–](?=\d))?"
    r"(?P<int>[1-9]\d{0,2}(?:(?P<g>[,.\u00a0\u202f])\d{3}(?!\d))(?:(?P=g)\d{3}(?!\d))*|\d+)"
    r"(?:(?P<dec>[.,])(?P<frac>\d+))?"
)


def _canonical(sign: str, whole: str, fraction: str) -> str:
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    text = whole + ("." + fraction if fraction else "")
    return "-" + text if sign and text != "0" else text


def numbers_in(text: str) -> set[str]:
    """Every number in ``text`` in one canonical form: "42,5 %" and "42.50" are "42.5",
    "−3" is "-3", "1 234" and "1,234" are "1234"."""
    found: set[str] = set()
    for match in _NUMBER.finditer(text):
        group_sep = match.group("g")
        whole = match.group("int")
        if group_sep:
            whole = whole.replace(group_sep, "")
        fraction = match.group("frac") or ""
        if group_sep and match.group("dec") == group_sep:
            # "1,234,5" is not a number anyone writes: keep the grouped part only.
            fraction = ""
        found.add(_canonical(match.group("sign") or "", whole, fraction))
    return found


def _value_form(value: numbers.Real) -> str | None:
    try:
        number = (
            Decimal(int(value))
            if isinstance(value, numbers.Integral)
            else Decimal(repr(float(value)))
        )
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    sign = "-" if number < 0 else ""
    whole, _, fraction = format(abs(number), "f").partition(".")
    return _canonical(sign, whole, fraction)


def fact_numbers(facts: Any) -> set[str]:
    """Every number in the facts, canonical as in ``numbers_in`` (strings are searched too,
    so a period label "2026-11-16" allows 2026, 11 and 16)."""
    found: set[str] = set()
    stack = [facts]
    while stack:
        item = stack.pop()
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, numbers.Real):
            form = _value_form(item)
            if form is not None:
                found.add(form)
        elif isinstance(item, str):
            found |= numbers_in(item)
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set):
            stack.extend(item)
    return found


def check_narrative(text: str, facts: Mapping[str, Any]) -> bool:
    """True when every number in ``text`` is one of the facts' numbers.

    A number written without a sign may be the size of a negative fact ("fell by 3.2"
    for a delta of -3.2); a negative number must match a negative fact. Blank text fails.
    """
    if not text or not text.strip():
        return False
    allowed = fact_numbers(facts)
    for number in numbers_in(text):
        if number in allowed:
            continue
        if not number.startswith("-") and "-" + number in allowed:
            continue
        return False
    return True
