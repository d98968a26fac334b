"""A realistic year of customer data for trying the product: the demo generator.

Pure and deterministic: the same seed, `now`, timezone and size give the same
frames. The year is the 52 ISO weeks before the current week. Around 3,000
customers (four segments, with start dates, churn, revenue and acquisition
cost) answer NPS, CSAT and CES surveys at five touchpoints, with comments in
English, Norwegian, Danish and Swedish that match their score and its cause.

One story runs through the year so the reports have something to explain: for
four weeks, 18 to 15 weeks before `now`, a new carrier makes deliveries late.
The Delivery touchpoint, mostly in the Private segment, fills with detractors
and complaints about late parcels, then recovers over three weeks; the other
touchpoints stay as they were. Insights and shout-outs tell the same story.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from core.demo_texts import (
    AND,
    BACKGROUND_INSIGHTS,
    COMMENT_THEMES,
    COMMENTS,
    DIP_SHOUTOUTS,
    INSIGHTS,
    SHOUTOUTS,
)
from core.ingest import ID_PREFIX
from core.ingest import RESPONSE_COLUMNS as INGEST_RESPONSE_COLUMNS
from core.locales import LOCALES
from core.periods import Period, last_complete, periods_back

WEEKS: Final = 52

SEGMENTS: Final = ("Private", "SMB", "Enterprise", "Public sector")
SEGMENT_SHARE: Final = (0.64, 0.22, 0.05, 0.09)
# Business customers have more contacts with us, so each answers more often.
ANSWER_WEIGHT: Final = (1.0, 1.2, 2.0, 1.5)
ANNUAL_CHURN: Final = (0.14, 0.10, 0.05, 0.04)
# Median revenue and acquisition cost per segment (kroner); spread is log-normal.
REVENUE: Final = (4_000, 55_000, 850_000, 320_000)
ACQUISITION: Final = (900, 11_000, 110_000, 55_000)

LANGUAGE_SHARE: Final = (0.15, 0.40, 0.20, 0.25)  # en, nb, da, sv

TOUCHPOINTS: Final = ("Delivery", "Support", "Onboarding", "Billing", "Web shop")
TOUCHPOINT_BY_SEGMENT: Final = np.array(
    [
        [0.42, 0.18, 0.05, 0.10, 0.25],  # Private
        [0.30, 0.25, 0.12, 0.18, 0.15],  # SMB
        [0.22, 0.33, 0.15, 0.25, 0.05],  # Enterprise
        [0.25, 0.30, 0.15, 0.25, 0.05],  # Public sector
    ]
)
METRICS: Final = ("nps", "csat", "ces")
METRIC_BY_TOUCHPOINT: Final = np.array(
    [
        [0.75, 0.20, 0.05],  # Delivery
        [0.55, 0.25, 0.20],  # Support
        [0.60, 0.15, 0.25],  # Onboarding
        [0.70, 0.25, 0.05],  # Billing
        [0.60, 0.15, 0.25],  # Web shop
    ]
)

# How each answer felt: promoter, passive, detractor. CSAT and CES answers draw
# from the same feeling, so the three metrics move together as they do in life.
EXPERIENCE: Final = np.array(
    [
        [0.50, 0.32, 0.18],  # Delivery
        [0.56, 0.30, 0.14],  # Support
        [0.48, 0.35, 0.17],  # Onboarding
        [0.45, 0.35, 0.20],  # Billing
        [0.53, 0.33, 0.14],  # Web shop
    ]
)
SEGMENT_SHIFT: Final = np.array(
    [
        [0.00, 0.00, 0.00],
        [0.00, 0.00, 0.00],
        [-0.05, 0.05, 0.00],
        [-0.06, 0.03, 0.03],
    ]
)
# Slow improvement over the year: promoters grow by this much from passives.
YEARLY_TREND: Final = 0.04

DIP_EXPERIENCE: Final = np.array([0.06, 0.14, 0.80])
# How hard the delivery problem hits each segment (Private customers get parcels at home).
DIP_REACH: Final = (1.0, 0.5, 0.2, 0.3)
# Late parcels also make more customers answer the delivery survey.
DIP_EXTRA_VOLUME: Final = 1.5
# Severity by weeks before the current week: four bad weeks, then three of recovery.
DIP_SEVERITY: Final = {18: 1.0, 17: 1.0, 16: 1.0, 15: 1.0, 14: 0.3, 13: 0.1, 12: 0.03}
DIP_WEEKS_AGO: Final = (18, 17, 16, 15)
RECOVERY_WEEKS_AGO: Final = (14, 13, 12)

ANSWERS_PER_WEEK: Final = 225
DAY_WEIGHTS: Final = np.array([1.0, 1.0, 1.0, 1.0, 0.9, 0.5, 0.4])

# Score distributions per metric and feeling (promoter, passive, detractor rows).
SCORES: Final[dict[str, tuple[tuple[int, ...], np.ndarray]]] = {
    "nps": (
        tuple(range(11)),
        np.array(
            [
                [0, 0, 0, 0, 0, 0, 0, 0, 0, 0.45, 0.55],
                [0, 0, 0, 0, 0, 0, 0, 0.45, 0.55, 0, 0],
                [0.04, 0.03, 0.05, 0.08, 0.12, 0.25, 0.43, 0, 0, 0, 0],
            ]
        ),
    ),
    "csat": (
        (1, 2, 3, 4, 5),
        np.array(
            [
                [0, 0, 0, 0.3, 0.7],
                [0, 0, 0.4, 0.6, 0],
                [0.35, 0.45, 0.2, 0, 0],
            ]
        ),
    ),
    "ces": (
        (1, 2, 3, 4, 5, 6, 7),
        np.array(
            [
                [0, 0, 0, 0, 0.1, 0.4, 0.5],
                [0, 0, 0, 0.3, 0.5, 0.2, 0],
                [0.2, 0.3, 0.3, 0.2, 0, 0, 0],
            ]
        ),
    ),
}
COMMENT_RATE: Final = (0.35, 0.30, 0.60)  # promoter, passive, detractor
SENTIMENT: Final = ("positive", "neutral", "negative")

# The sandbox workspace's people and the language each of them writes in.
EMPLOYEES: Final = {"U0ADA": "en", "U0BJORN": "nb", "U0FREJA": "da", "U0SVEA": "sv"}
EMPLOYEE_NAMES: Final = {"U0ADA": "Ada", "U0BJORN": "Bjørn", "U0FREJA": "Freja", "U0SVEA": "Svea"}
EMPLOYEE_ON_SUPPORT: Final = 0.6

# The importer's columns, plus the language each demo comment was written in.
RESPONSE_COLUMNS: Final = [*INGEST_RESPONSE_COLUMNS, "language"]
CUSTOMER_COLUMNS: Final = [
    "customer_id",
    "started_at",
    "ended_at",
    "segment",
    "annual_revenue",
    "acquisition_cost",
    "language",
]


@dataclass(frozen=True)
class DipWindow:
    """Where the delivery problem sits in the year."""

    weeks: tuple[Period, ...]  # the bad weeks
    recovery: tuple[Period, ...]  # back to normal step by step
    before: Period  # the last ordinary week before it
    after: Period  # the first ordinary week after the recovery

    @property
    def start(self) -> date:
        return self.weeks[0].start

    @property
    def end(self) -> date:
        return self.weeks[-1].end


@dataclass(frozen=True)
class DemoInsight:
    reporter: str
    text: str
    language: str
    category: str
    sentiment: str
    status: str
    priority: float
    customer: str | None
    segment: str | None
    touchpoint: str | None
    created_at: datetime  # aware UTC


@dataclass(frozen=True)
class DemoShoutout:
    giver: str
    receivers: tuple[str, ...]
    text: str
    promise: str
    created_at: datetime  # aware UTC


@dataclass(frozen=True)
class DemoData:
    weeks: tuple[Period, ...]  # oldest first
    dip: DipWindow
    customers: pd.DataFrame  # CUSTOMER_COLUMNS
    responses: pd.DataFrame  # RESPONSE_COLUMNS, oldest first
    insights: tuple[DemoInsight, ...]
    shoutouts: tuple[DemoShoutout, ...]


def generate(*, seed: int, now: datetime, tz: ZoneInfo, customers: int = 3000) -> DemoData:
    """The demo year ending with the last complete week before `now` in `tz`."""
    if customers < 50:
        raise ValueError(f"the demo needs at least 50 customers, not {customers}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    rng = np.random.default_rng(seed)
    weeks = tuple(periods_back(last_complete("week", now, tz), WEEKS))
    severity = np.array([DIP_SEVERITY.get(WEEKS - i, 0.0) for i in range(WEEKS)])
    dip = DipWindow(
        weeks=tuple(weeks[WEEKS - k] for k in DIP_WEEKS_AGO),
        recovery=tuple(weeks[WEEKS - k] for k in RECOVERY_WEEKS_AGO),
        before=weeks[WEEKS - DIP_WEEKS_AGO[0] - 1],
        after=weeks[WEEKS - RECOVERY_WEEKS_AGO[-1] + 1],
    )
    people = _customers(rng, customers, weeks, dip)
    answers = _responses(rng, seed, people, weeks, severity, tz)
    insights = _insights(rng, people, weeks, dip, tz)
    shoutouts = _shoutouts(rng, weeks, dip, tz)
    return DemoData(weeks, dip, people, answers, insights, shoutouts)


# --------------------------------------------------------------------------- helpers


def _pick_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, k) probability matrix: the chosen column index."""
    cumulative = probs.cumsum(axis=1)
    cumulative /= cumulative[:, -1:]
    u = rng.random((probs.shape[0], 1))
    return np.minimum((cumulative < u).sum(axis=1), probs.shape[1] - 1)


def _money(value: float) -> Decimal:
    # Whole tens of kroner read like real price lists.
    return Decimal(round(value / 10.0) * 10).quantize(Decimal("0.01"))


def _local_instant(day: date, seconds: int, tz: ZoneInfo) -> datetime:
    # Wall-clock time in the workspace; callers keep to hours that no DST change skips.
    local = datetime.combine(day, time(0)) + timedelta(seconds=seconds)
    return local.replace(tzinfo=tz).astimezone(UTC)


# --------------------------------------------------------------------------- customers


def _customers(
    rng: np.random.Generator, n: int, weeks: tuple[Period, ...], dip: DipWindow
) -> pd.DataFrame:
    first, last = weeks[0].start.toordinal(), weeks[-1].end.toordinal()
    span = last - first + 1
    segment = rng.choice(len(SEGMENTS), size=n, p=SEGMENT_SHARE)
    language = rng.choice(len(LOCALES), size=n, p=LANGUAGE_SHARE)
    is_new = rng.random(n) < 0.14
    tenure = np.minimum(rng.exponential(3.5 * 365, size=n), 12 * 365).astype(int)
    start = np.where(is_new, first + rng.integers(0, span - 14, size=n), first - 1 - tenure)

    churn_p = np.array(ANNUAL_CHURN)[segment] * np.where(is_new, 0.5, 1.0)
    earliest = np.maximum(start + 30, first)
    # Nobody leaves within a month of joining, nor after the year ends.
    churned = (rng.random(n) < churn_p) & (earliest < last)
    uniform_end = earliest + (rng.random(n) * np.maximum(last - earliest, 1)).astype(int)
    # Late parcels cost customers: a third of the Private customers lost this year
    # leave in the ten weeks after the delivery problem began.
    dip_start = dip.start.toordinal()
    after_dip = dip_start + 7 + rng.integers(0, 70, size=n)
    lost_to_dip = (segment == 0) & (rng.random(n) < 0.35) & (after_dip > earliest)
    end = np.where(lost_to_dip, np.minimum(after_dip, last), uniform_end)
    end = np.where(churned, end, -1)

    revenue = rng.lognormal(np.log(np.array(REVENUE)[segment]), 0.5)
    acquisition = rng.lognormal(np.log(np.array(ACQUISITION)[segment]), 0.4)

    order = np.argsort(start, kind="stable")  # ids follow the order customers joined
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{10001 + i}" for i in range(n)],
            "started_at": [date.fromordinal(int(start[j])) for j in order],
            "ended_at": [date.fromordinal(int(end[j])) if end[j] > 0 else None for j in order],
            "segment": [SEGMENTS[segment[j]] for j in order],
            "annual_revenue": [_money(revenue[j]) for j in order],
            "acquisition_cost": [_money(acquisition[j]) for j in order],
            "language": [LOCALES[language[j]] for j in order],
        },
        columns=CUSTOMER_COLUMNS,
    )
    return frame


# --------------------------------------------------------------------------- answers


def _season(period: Period) -> float:
    week = period.start.isocalendar().week
    if 28 <= week <= 31:  # summer holidays
        return 0.8
    if week >= 52 or week == 1:  # Christmas
        return 0.75
    return 1.0


def _responses(
    rng: np.random.Generator,
    seed: int,
    people: pd.DataFrame,
    weeks: tuple[Period, ...],
    severity: np.ndarray,
    tz: ZoneInfo,
) -> pd.DataFrame:
    start = np.array([d.toordinal() for d in people["started_at"]])
    end = np.array([d.toordinal() if d is not None else 10**7 for d in people["ended_at"]])
    seg_of = people["segment"].map(SEGMENTS.index).to_numpy()
    ids = people["customer_id"].tolist()
    segments = people["segment"].tolist()
    languages = people["language"].tolist()
    answer_weight = np.array(ANSWER_WEIGHT)[seg_of]
    reach = np.array(DIP_REACH)
    parts: list[pd.DataFrame] = []
    for wi, period in enumerate(weeks):
        s = float(severity[wi])
        n = int(rng.poisson(ANSWERS_PER_WEEK * _season(period) * (1 + 0.15 * s)))
        weekday = np.sort(rng.choice(7, size=n, p=DAY_WEIGHTS / DAY_WEIGHTS.sum()))
        who = np.empty(n, dtype=int)
        for d in range(7):
            slots = np.flatnonzero(weekday == d)
            if not slots.size:
                continue
            ordinal = period.start.toordinal() + d
            active = np.flatnonzero((start <= ordinal) & (end > ordinal))
            w = answer_weight[active]
            who[slots] = rng.choice(active, size=slots.size, p=w / w.sum())
        seg = seg_of[who]
        hit = s * reach[seg]  # how hard the delivery problem hits each answer

        tp_probs = TOUCHPOINT_BY_SEGMENT[seg].copy()
        tp_probs[:, 0] *= 1 + DIP_EXTRA_VOLUME * hit
        tp = _pick_rows(rng, tp_probs)
        metric = _pick_rows(rng, METRIC_BY_TOUCHPOINT[tp])

        feel_probs = EXPERIENCE[tp] + SEGMENT_SHIFT[seg]
        trend = YEARLY_TREND * wi / (WEEKS - 1)
        feel_probs[:, 0] += trend
        feel_probs[:, 1] -= trend
        delivery_hit = np.where(tp == 0, hit, 0.0)[:, None]
        feel_probs = (1 - delivery_hit) * feel_probs + delivery_hit * DIP_EXPERIENCE
        feel = _pick_rows(rng, feel_probs)

        score = np.empty(n, dtype=int)
        for mi, name in enumerate(METRICS):
            rows = np.flatnonzero(metric == mi)
            values, table = SCORES[name]
            score[rows] = np.array(values)[_pick_rows(rng, table[feel[rows]])]

        seconds = rng.integers(7 * 3600, 22 * 3600, size=n)
        has_comment = rng.random(n) < np.array(COMMENT_RATE)[feel]
        staff = rng.random(n) < EMPLOYEE_ON_SUPPORT
        staff_pick = rng.choice(len(EMPLOYEES), size=n)
        late_u = rng.random(n)
        theme_u = rng.random(n)
        template_u = rng.random(n)
        days_late = rng.integers(2, 10, size=n)
        minutes = rng.integers(20, 76, size=n)

        label = period.label()
        staff_ids = list(EMPLOYEES)
        rows_out = []
        for i in range(n):
            c = int(who[i])
            touchpoint = TOUCHPOINTS[tp[i]]
            employee = staff_ids[staff_pick[i]] if tp[i] == 1 and staff[i] else None
            lang = languages[c]
            comment = None
            if has_comment[i]:
                sentiment = SENTIMENT[feel[i]]
                # In the bad weeks nearly every unhappy delivery comment is a late parcel.
                late_parcels = touchpoint == "Delivery" and sentiment == "negative"
                if late_parcels and late_u[i] < 0.9 * hit[i]:
                    theme = "delivery_late"
                else:
                    theme = _weighted(COMMENT_THEMES[touchpoint][sentiment], theme_u[i])
                if theme == "support_friendly" and employee is not None:
                    theme = "support_friendly_named"
                options = COMMENTS[theme][lang]
                comment = options[int(template_u[i] * len(options))].format(
                    days=int(days_late[i]),
                    minutes=int(minutes[i]),
                    agent=EMPLOYEE_NAMES.get(employee or "", ""),
                )
            day = period.start + timedelta(days=int(weekday[i]))
            rows_out.append(
                (
                    f"{ID_PREFIX}demo-{seed}-{label}-{i:04d}",
                    _local_instant(day, int(seconds[i]), tz),
                    day,
                    METRICS[metric[i]],
                    int(score[i]),
                    ids[c],
                    segments[c],
                    touchpoint,
                    comment,
                    employee,
                    lang,
                )
            )
        parts.append(pd.DataFrame(rows_out, columns=RESPONSE_COLUMNS))
    frame = pd.concat(parts, ignore_index=True)
    return frame.sort_values("responded_at", kind="stable", ignore_index=True)


def _weighted(options: tuple[tuple[str, float], ...], u: float) -> str:
    total = sum(w for _, w in options)
    acc = 0.0
    for name, w in options:
        acc += w / total
        if u < acc:
            return name
    return options[-1][0]


# --------------------------------------------------------------------------- insights


def _moment(rng: np.random.Generator, period: Period, tz: ZoneInfo) -> datetime:
    """A working-hours instant on a weekday of `period`."""
    day = period.start + timedelta(days=int(rng.integers(0, 5)))
    return _local_instant(day, int(rng.integers(8 * 3600, 16 * 3600)), tz)


def _insights(
    rng: np.random.Generator,
    people: pd.DataFrame,
    weeks: tuple[Period, ...],
    dip: DipWindow,
    tz: ZoneInfo,
) -> tuple[DemoInsight, ...]:
    reporters = list(EMPLOYEES)
    planned: list[tuple[str, Period, str]] = []
    # The delivery problem is heard first in the field: everyone writes it down
    # while it lasts, each in their own language.
    for k, week in enumerate(dip.weeks):
        planned += [
            ("carrier_late", week, reporters[k % 4]),
            ("carrier_late", week, reporters[(k + 2) % 4]),
        ]
    planned += [
        ("tracking", dip.weeks[1], reporters[1]),
        ("tracking", dip.weeks[2], reporters[3]),
        ("carrier_back", dip.after, reporters[0]),
        ("carrier_back", dip.recovery[-1], reporters[2]),
    ]
    for _ in range(30):
        theme = BACKGROUND_INSIGHTS[int(rng.integers(0, len(BACKGROUND_INSIGHTS)))]
        week = weeks[int(rng.integers(0, len(weeks)))]
        planned.append((theme, week, reporters[int(rng.integers(0, len(reporters)))]))

    drafts = [(_moment(rng, week, tz), theme, week, who) for theme, week, who in planned]
    drafts.sort(key=lambda d: d[0])

    last_week = weeks[-1]
    seen: dict[str, int] = {}
    result = []
    for created_at, theme, week, reporter in drafts:
        category, sentiment, touchpoint, impact, texts = INSIGHTS[theme]
        segment = "Private" if category == "delivery" else None
        customer = None
        if rng.random() < 0.4:
            pool = people if segment is None else people[people["segment"] == segment]
            row = pool.iloc[int(rng.integers(0, len(pool)))]
            customer, segment = str(row["customer_id"]), str(row["segment"])
        age = (last_week.start - week.start).days // 7
        # Priority as the product ranks insights: impact x (1 + earlier ones saying the same).
        priority = float(impact * (1 + seen.get(theme, 0)))
        seen[theme] = seen.get(theme, 0) + 1
        language = EMPLOYEES[reporter]
        result.append(
            DemoInsight(
                reporter=reporter,
                text=texts[language],
                language=language,
                category=category,
                sentiment=sentiment,
                status=_status(rng, theme, age),
                priority=priority,
                customer=customer,
                segment=segment,
                touchpoint=touchpoint,
                created_at=created_at,
            )
        )
    return tuple(result)


def _status(rng: np.random.Generator, theme: str, age_weeks: int) -> str:
    if theme in ("carrier_late", "tracking"):
        return "done"  # fixed by going back to the old carrier
    if theme == "carrier_back":
        return "not_relevant"  # good news, nothing to do
    options = ("new", "planned", "done", "not_relevant")
    weights = (0.1, 0.2, 0.5, 0.2) if age_weeks > 20 else (0.5, 0.35, 0.15, 0.0)
    return options[int(rng.choice(4, p=weights))]


# --------------------------------------------------------------------------- shout-outs


def _shoutouts(
    rng: np.random.Generator, weeks: tuple[Period, ...], dip: DipWindow, tz: ZoneInfo
) -> tuple[DemoShoutout, ...]:
    people = list(EMPLOYEES)
    everyday = [t for t in SHOUTOUTS if t not in DIP_SHOUTOUTS]
    planned: list[tuple[str, Period]] = [(t, w) for w in dip.weeks for t in DIP_SHOUTOUTS]
    for _ in range(24):
        theme = everyday[int(rng.integers(0, len(everyday)))]
        planned.append((theme, weeks[int(rng.integers(0, len(weeks)))]))
    result = []
    for theme, week in planned:
        giver = people[int(rng.integers(0, len(people)))]
        others = [p for p in people if p != giver]
        count = 2 if rng.random() < 0.25 else 1
        picks = rng.choice(len(others), size=count, replace=False)
        receivers = tuple(others[int(j)] for j in sorted(picks))
        language = EMPLOYEES[giver]
        names = f" {AND[language]} ".join(EMPLOYEE_NAMES[r] for r in receivers)
        promise, texts = SHOUTOUTS[theme]
        result.append(
            DemoShoutout(
                giver=giver,
                receivers=receivers,
                text=texts[language].format(names=names),
                promise=promise,
                created_at=_moment(rng, week, tz),
            )
        )
    result.sort(key=lambda s: s.created_at)
    return tuple(result)


# --------------------------------------------------------------------------- alert history

# The customer promises the demo's shout-outs are tagged with (the `promises` setting).
PROMISES: Final = tuple(dict.fromkeys(promise for promise, _ in SHOUTOUTS.values()))

# How the demo team followed up its detractors: most within a few working hours, a
# tail of slow ones, and the carrier weeks (more alerts, same people) slower still.
FOLLOWUP_MEDIAN_HOURS: Final = 3.0
FOLLOWUP_SPREAD: Final = 0.9  # sigma of the log-normal
RESOLVE_MEDIAN_HOURS: Final = 20.0
DIP_SLOWDOWN: Final = 2.5
HISTORY_SEED: Final = 7  # the follow-up story is drawn apart from the answers
OUTCOME_SHARE: Final = {"called": 0.5, "fixed": 0.25, "compensated": 0.1, "could_not_reach": 0.15}


@dataclass(frozen=True)
class AlertHistory:
    """What happened to one demo detractor alert, in the past."""

    created_at: datetime
    first_response_at: datetime
    resolved_at: datetime
    owner: str
    outcome: str


def alert_history(key: int, responded_at: datetime, *, in_dip: bool = False) -> AlertHistory:
    """A plausible follow-up of the alert raised for an answer; the same for the same `key`
    (the answer's id), so a second seeding tells the same story."""
    rng = np.random.default_rng([HISTORY_SEED, key])
    slow = DIP_SLOWDOWN if in_dip else 1.0
    created = responded_at + timedelta(minutes=float(rng.uniform(1, 10)))
    first = created + timedelta(
        hours=float(rng.lognormal(np.log(FOLLOWUP_MEDIAN_HOURS * slow), FOLLOWUP_SPREAD))
    )
    resolved = first + timedelta(
        hours=float(rng.lognormal(np.log(RESOLVE_MEDIAN_HOURS * slow), FOLLOWUP_SPREAD))
    )
    people = list(EMPLOYEES)
    outcomes = list(OUTCOME_SHARE)
    return AlertHistory(
        created_at=created,
        first_response_at=first,
        resolved_at=resolved,
        owner=people[int(rng.integers(0, len(people)))],
        outcome=outcomes[int(rng.choice(len(outcomes), p=list(OUTCOME_SHARE.values())))],
    )
