"""The digest from the database to the channel: what it says on constructed and demo data,
the schedule (once per channel and period, late, stale), the chart upload, the `/cx digest`
preview and `cxbot digest`, all against localslack and a real database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from typer.testing import CliRunner

from bot.cli import app as cli_app
from bot.clients import dispatch_client
from bot.handlers.digest.compose import Rendered, build, narrative, render, workspace
from bot.handlers.digest.posting import message_key, send_chart
from bot.handlers.digest.sweeps import due_at, latest_due, run_schedule
from bot.i18n import translator
from bot.localslack import LocalSlack
from bot.outbox import Dispatcher, NotReady
from bot.services import Services
from bot.settings import Settings
from bot.views.text import render_blocks
from core.analyzer import OpenAIAnalyzer
from core.ingest import RESPONSE_COLUMNS
from core.periods import Period, period_containing
from core.themes import Comment
from storage import outbox as queue
from storage import settings_store
from storage.db import make_engine, upgrade
from storage.responses import insert_responses
from tests.bot.slackkit import SlackKit
from tests.conftest import FakeClock
from tests.openai_server import OpenAIServer, answer

OSLO = ZoneInfo("Europe/Oslo")
WEEK = period_containing("week", date(2026, 11, 16))  # 2026-W47, Monday 16 Nov
BEFORE = WEEK.previous()
# Monday 23 Nov 08:00 in Oslo is 07:00 UTC: the weekly digest's default time.
DUE = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
WEEK_SET_UP = DUE - timedelta(days=7)
CHANNEL = "C0DIGEST"


def answers(
    team: str, rows: list[tuple[date, str, int, str | None, str | None]], tag: str
) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "response_key": f"id:{tag}{i}",
                "responded_at": datetime.combine(day, time(12), tzinfo=UTC),
                "local_day": day,
                "metric": metric,
                "score": score,
                "customer_id": None,
                "segment": segment,
                "touchpoint": touchpoint,
                "comment": None,
                "employee": None,
            }
            for i, (day, metric, score, segment, touchpoint) in enumerate(rows)
        ],
        columns=RESPONSE_COLUMNS,
    )


def nps_rows(
    period: Period, segment: str, promoters: int, passives: int, detractors: int
) -> list[tuple[date, str, int, str | None, str | None]]:
    day = period.start + timedelta(days=2)
    scores = [10] * promoters + [8] * passives + [3] * detractors
    return [(day, "nps", s, segment, "Web") for s in scores]


def store(services: Services, team: str, rows: list[Any], tag: str) -> None:
    insert_responses(services.engine, team_id=team, frame=answers(team, rows, tag))


def store_nps(services: Services, team: str, *groups: tuple[Period, str, int, int, int]) -> None:
    """Each (period, segment, promoters, passives, detractors) as answers of its own."""
    for tag, group in zip("abcdefgh", groups, strict=False):
        store(services, team, nps_rows(*group), tag)


def text_of(rendered: Rendered) -> str:
    return render_blocks(list(rendered.blocks)).text


def render_week(services: Services, team: str, locale: str = "en") -> tuple[Any, str]:
    d = build(services, team, "week", WEEK)
    rendered = render(services, d, translator(locale), tz=OSLO, chart=False)
    return d, text_of(rendered)


# --------------------------------------------------------------------------- what it says


def test_the_digest_names_the_segment_that_fell(services: Services) -> None:
    store_nps(
        services,
        "T1",
        (BEFORE, "Private", 70, 30, 0),
        (BEFORE, "Business", 70, 30, 0),
        (WEEK, "Private", 20, 30, 50),
        (WEEK, "Business", 70, 30, 0),
    )
    d, text = render_week(services, "T1")
    assert d.metric("nps").change == "fall"
    why = text.split("Why it moved", 1)[1]
    assert "NPS fell (−50.0)" in why
    assert "By segment: mostly Private (70.0 → −30.0, −50.0 points)" in why
    assert "Business" not in why.split("\n")[1]  # the segment that held is not a reason
    assert "shift in who answered" not in why


def test_the_digest_says_when_only_the_mix_shifted(services: Services) -> None:
    # Each segment scores as before; Business (all detractors) now answers far more often.
    store_nps(
        services,
        "T1",
        (BEFORE, "Private", 150, 0, 0),
        (BEFORE, "Business", 0, 0, 50),
        (WEEK, "Private", 50, 0, 0),
        (WEEK, "Business", 0, 0, 150),
    )
    d, text = render_week(services, "T1")
    assert d.metric("nps").change == "fall"
    why = text.split("Why it moved", 1)[1]
    assert "By segment: mostly a shift in who answered, not scores changing within groups" in why
    assert "Business (25% → 75% of the answers)" in why


def test_answers_without_a_segment_are_named_as_such(services: Services) -> None:
    store(services, "T1", nps_rows(BEFORE, "Private", 70, 30, 0), "a")
    store(
        services,
        "T1",
        [(d, m, s, None, tp) for d, m, s, _, tp in nps_rows(BEFORE, "", 70, 30, 0)],
        "b",
    )
    store(services, "T1", nps_rows(WEEK, "Private", 70, 30, 0), "c")
    store(
        services,
        "T1",
        [(d, m, s, None, tp) for d, m, s, _, tp in nps_rows(WEEK, "", 10, 30, 60)],
        "d",
    )
    _, text = render_week(services, "T1")
    assert "By segment: mostly no segment given (70.0 → −50.0" in text
    _, norsk = render_week(services, "T1", "nb")
    assert "Etter segment: mest uten oppgitt segment (70,0 → −50,0" in norsk


def test_a_small_move_is_never_a_fall_and_a_small_sample_is_flagged(services: Services) -> None:
    store_nps(
        services,
        "T1",
        (BEFORE, "Private", 6, 3, 1),
        (BEFORE, "SMB", 3, 1, 1),
        (WEEK, "Private", 5, 3, 2),
        (WEEK, "SMB", 3, 1, 1),
    )
    d, text = render_week(services, "T1")
    assert d.metric("nps").change == "stable"
    assert "within the margin of error: not a rise or a fall" in text
    assert "fell" not in text and "falling" not in text
    assert "Small sample: fewer than 30 answers" in text
    assert "Only 15 answers for NPS: read it as a hint, not a trend." in text
    assert "Only 15 answers: read it as a hint" in text  # beside the reasons too


@pytest.mark.parametrize("locale", ["en", "nb"])
def test_a_week_without_answers_says_so_in_one_line(services: Services, locale: str) -> None:
    store(services, "T1", nps_rows(BEFORE, "Private", 6, 3, 1), "a")
    d = build(services, "T1", "week", WEEK)
    rendered = render(services, d, translator(locale), tz=OSLO)
    assert d.empty
    lines = [b for b in rendered.blocks if b["type"] == "section" and "text" in b]
    empty_line = lines[0]["text"]["text"]
    expected = {
        "en": ("No answers came in this week.", "Check that surveys are being sent"),
        "nb": ("Ingen svar kom inn denne uken.", "Sjekk at undersøkelsene blir sendt"),
    }[locale]
    assert all(part in empty_line for part in expected) and "\n" not in empty_line
    assert rendered.chart is not None and rendered.chart.startswith(b"\x89PNG")


def test_a_model_paragraph_is_used_only_when_its_numbers_are_facts(services: Services) -> None:
    store_nps(
        services,
        "T1",
        (BEFORE, "Private", 70, 30, 0),
        (WEEK, "Private", 20, 30, 50),
    )
    d = build(services, "T1", "week", WEEK)
    with OpenAIServer() as server:
        model = OpenAIAnalyzer(api_key="test", base_url=server.url, model="m", max_retries=0)
        server.script(answer("NPS fell from 70.0 to -30.0 on 100 answers, mostly in Private."))
        text, source = narrative(model, d, translator("en"))
        assert source == "model" and text.startswith("NPS fell from 70.0 to -30.0")
        # The model was given the digest's facts.
        sent = json.dumps(server.requests[0].body)
        assert "FACTS" in sent and "70.0" in sent and "-30.0" in sent
        server.script(answer("NPS fell by 142 % this week."))  # a number it made up
        text, source = narrative(model, d, translator("en"))
        assert source == "offline" and text.startswith("NPS fell to −30.0 from 70.0")


# --------------------------------------------------------------------------- the demo year


@pytest.fixture(scope="module")
def demo_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, Any]]:
    from bot.demo import seed
    from bot.settings import load_settings

    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    engine = make_engine(url)
    upgrade(engine)
    story = seed(engine, team_id="T0DEMO", tz=OSLO, now=now)
    settings = load_settings(_env_file=None, database_url=url, cxbot_timezone="Europe/Oslo")
    yield Services(settings=settings, engine=engine, clock=lambda: now), story
    engine.dispose()


def test_the_demo_dip_and_recovery_are_named(demo_services: tuple[Services, Any]) -> None:
    services, story = demo_services
    t = translator("en")
    first_bad = period_containing("week", story.dip_start)
    first_better = period_containing("week", story.dip_end + timedelta(days=1))
    ordinary = period_containing("week", story.recovered_by + timedelta(days=8))

    def week_text(week: Period) -> tuple[Any, str]:
        d = build(services, "T0DEMO", "week", week)
        return d, text_of(render(services, d, t, tz=OSLO, chart=False))

    fall, text = week_text(first_bad)
    assert fall.metric("nps").change == "fall"
    nps_why = next(line for line in text.splitlines() if line.startswith("NPS fell ("))
    assert "By touchpoint: mostly Delivery" in nps_why
    assert "By segment: mostly Private" in nps_why

    rise, text = week_text(first_better)
    assert rise.metric("nps").change == "rise"
    nps_why = next(line for line in text.splitlines() if line.startswith("NPS rose ("))
    assert "By touchpoint: mostly Delivery" in nps_why

    # An ordinary week after the story calls nothing a fall.
    calm, text = week_text(ordinary)
    assert calm.metric("nps").change != "fall" and "NPS fell" not in text


# --------------------------------------------------------------------------- the schedule


def test_due_times_follow_the_schedule() -> None:
    monday_8 = (0, 8, 0)
    assert due_at(WEEK, monday_8, OSLO) == datetime(2026, 11, 23, 8, 0, tzinfo=OSLO)
    november = period_containing("month", date(2026, 11, 5))
    assert due_at(november, monday_8, OSLO).date() == date(2026, 12, 7)
    assert due_at(WEEK, (4, 16, 30), OSLO) == datetime(2026, 11, 27, 16, 30, tzinfo=OSLO)
    # Just before Monday 08:00 the latest due week is the one before last.
    period, due = latest_due("week", DUE - timedelta(minutes=1), OSLO, monday_8)
    assert period == BEFORE and due == datetime(2026, 11, 16, 8, 0, tzinfo=OSLO)
    period, due = latest_due("week", DUE, OSLO, monday_8)
    assert period == WEEK and due == DUE


def _dispatcher(services: Services) -> Dispatcher:
    client = dispatch_client(services.settings)
    return Dispatcher(services, lambda _team: client)


def _posted(localslack: LocalSlack) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    messages = localslack.messages(CHANNEL)
    reports = [m for m in messages if m.get("blocks")]
    charts = [m for m in messages if m.get("files")]
    return reports, charts


@pytest.fixture
def scheduled(services: Services, localslack: LocalSlack, clock: FakeClock) -> Services:
    team = localslack.team_id
    store(services, team, nps_rows(BEFORE, "Private", 70, 30, 0), "a")
    store(services, team, nps_rows(WEEK, "Private", 20, 30, 50), "b")
    # Set up the week before, as a team would: a report missed later is posted late.
    settings_store.set(
        services.engine, team_id=team, key="digest.channel", value=CHANNEL, now=WEEK_SET_UP
    )
    # Only the weekly digest here: the monthly report is due the same morning.
    for key in ("digest.monthly.enabled", "digest.quarterly.enabled", "digest.yearly.enabled"):
        settings_store.set(services.engine, team_id=team, key=key, value="off")
    return services


def test_the_scheduled_job_posts_one_message_and_one_chart_once(
    scheduled: Services, localslack: LocalSlack, clock: FakeClock, bot_settings: Settings
) -> None:
    job = scheduled.registry.sweeps["digest"]
    clock.now = DUE - timedelta(minutes=1)
    job.run(scheduled)  # a minute early: last week's report was long since due and is stale
    assert queue.statuses(scheduled.engine, team_id=localslack.team_id) == {}

    clock.now = DUE + timedelta(seconds=20)
    job.run(scheduled)
    job.run(scheduled)  # the next tick, before anything is sent
    _dispatcher(scheduled).drain()
    reports, charts = _posted(localslack)
    assert len(reports) == 1 and len(charts) == 1
    assert float(charts[0]["ts"]) > float(reports[0]["ts"])  # the chart follows its report
    blocks_text = render_blocks(reports[0]["blocks"]).text
    assert "WEEKLY CUSTOMER DIGEST" in blocks_text and "Posted late" not in blocks_text
    assert "NPS fell" in blocks_text
    (chart,) = localslack.files()
    assert chart["filename"] == "cxbot-week-2026-W47.png"
    assert chart["channels"] == [CHANNEL]
    assert len(localslack.calls_to("chat.postMessage")) == 1
    assert all(c.ok for c in localslack.calls_to("chat.postMessage"))  # valid Block Kit
    key = message_key("week", CHANNEL, WEEK)
    assert queue.statuses(scheduled.engine, team_id=localslack.team_id) == {
        key: "sent",
        key + ":chart": "sent",
    }

    # A restart in the same minute: new engine, new services, new dispatcher.
    engine = make_engine(bot_settings.database_url)
    try:
        again = Services(settings=bot_settings, engine=engine, clock=clock)
        again.registry.sweeps["digest"].run(again)
        _dispatcher(again).drain()
        clock.advance(hours=30)  # and a day later: still the same week's report
        again.registry.sweeps["digest"].run(again)
        _dispatcher(again).drain()
    finally:
        engine.dispose()
    assert tuple(map(len, _posted(localslack))) == (1, 1)
    assert len(localslack.files()) == 1


def test_a_channel_set_after_the_report_was_due_gets_no_late_report(
    scheduled: Services, localslack: LocalSlack, clock: FakeClock
) -> None:
    # The bot ran all Monday; at 10:00 an admin picks the channel: nothing was missed.
    team = localslack.team_id
    clock.now = DUE + timedelta(hours=3)
    settings_store.set(
        scheduled.engine, team_id=team, key="digest.channel", value=CHANNEL, now=clock.now
    )
    for key in ("digest.monthly.enabled", "digest.quarterly.enabled", "digest.yearly.enabled"):
        settings_store.set(scheduled.engine, team_id=team, key=key, value="on", now=clock.now)
    assert run_schedule(scheduled) == []
    assert not localslack.messages(CHANNEL)
    # The next week's report comes on time, not late.
    clock.now = DUE + timedelta(days=7, seconds=20)
    queued = run_schedule(scheduled)
    assert queued == [message_key("week", CHANNEL, WEEK.next())]
    d = build(scheduled, team, "week", WEEK.next(), late=False)
    assert not d.late


def test_a_missed_run_is_posted_late_and_a_stale_one_skipped(
    scheduled: Services, localslack: LocalSlack, clock: FakeClock
) -> None:
    clock.now = DUE + timedelta(hours=5)  # the bot was down on Monday morning
    queued = run_schedule(scheduled)
    assert queued == [message_key("week", CHANNEL, WEEK)]
    _dispatcher(scheduled).drain()
    reports, charts = _posted(localslack)
    text = render_blocks(reports[0]["blocks"]).text
    assert "Posted late: this report was due Nov 23, 2026 8:00\u202fAM CET." in text
    assert "This report comes late" in text
    assert len(charts) == 1

    # Came back on Friday: last Monday's report is stale news by now.
    settings_store.set(
        scheduled.engine, team_id=localslack.team_id, key="digest.channel", value="C0GENERAL"
    )
    clock.now = DUE + timedelta(days=4)
    assert run_schedule(scheduled) == []


def test_monthly_report_goes_to_its_channel_or_the_digests(
    scheduled: Services, localslack: LocalSlack, clock: FakeClock
) -> None:
    team = localslack.team_id
    settings_store.set(scheduled.engine, team_id=team, key="digest.monthly.enabled", value="on")
    place = workspace(scheduled, team)
    assert place.channels == {"week": CHANNEL, "month": CHANNEL}
    settings_store.set(
        scheduled.engine, team_id=team, key="digest.monthly.channel", value="C0GENERAL"
    )
    settings_store.set(scheduled.engine, team_id=team, key="digest.enabled", value="off")
    assert workspace(scheduled, team).channels == {"month": "C0GENERAL"}
    # The first Monday of December posts November's report.
    clock.now = datetime(2026, 12, 7, 7, 0, 30, tzinfo=UTC)
    assert run_schedule(scheduled) == ["digest:month:C0GENERAL:2026-11"]
    _dispatcher(scheduled).drain()
    (report,) = [m for m in localslack.messages("C0GENERAL") if m.get("blocks")]
    assert "MONTHLY CUSTOMER REPORT" in render_blocks(report["blocks"]).text


def test_a_chart_waits_for_its_message_and_is_not_uploaded_twice(
    scheduled: Services, localslack: LocalSlack, clock: FakeClock
) -> None:
    clock.now = DUE + timedelta(seconds=5)
    run_schedule(scheduled)
    key = message_key("week", CHANNEL, WEEK)
    client = dispatch_client(scheduled.settings)
    team = localslack.team_id
    claimed = {c.key: c for c in queue.claim_due(scheduled.engine, now=clock.now)}
    chart_row = claimed[key + ":chart"]
    with pytest.raises(NotReady, match="not posted yet"):
        send_chart(client, scheduled, team, chart_row.key, chart_row.payload, False)
    queue.mark_sent(scheduled.engine, claimed[key].id, now=clock.now, channel=CHANNEL, ts="1.0")
    assert queue.statuses(scheduled.engine, team_id=team, keys=[key])[key] == "sent"
    first = send_chart(client, scheduled, team, chart_row.key, chart_row.payload, False)
    # The process died before recording it: the retry finds the file instead of uploading.
    again = send_chart(client, scheduled, team, chart_row.key, chart_row.payload, True)
    assert first[0] == again[0] == CHANNEL and again[1] is not None
    assert len(localslack.files()) == 1


# --------------------------------------------------------------------------- /cx digest and CLI


def test_cx_digest_shows_a_private_preview(
    scheduled: Services, slack: SlackKit, localslack: LocalSlack, clock: FakeClock
) -> None:
    clock.now = DUE + timedelta(hours=2)
    r = slack.command("/cx", "digest week")
    assert r.status == 200
    reply = slack.wait_reply(r, timeout=10)
    shown = render_blocks(reply["blocks"]).text
    assert "WEEKLY CUSTOMER DIGEST" in shown and "Week 47, 2026" in shown
    assert "Preview: only you can see this. It goes to #" in shown
    assert "NPS fell" in shown
    assert reply.get("response_type", "ephemeral") == "ephemeral"
    assert localslack.messages(CHANNEL) == []  # nothing posted to the channel

    r = slack.command("/cx", "digest fortnight")
    reply = slack.wait_reply(r)
    assert "is not a period" in reply["text"]


def test_cli_prints_the_digest_and_posts_it_once(
    scheduled: Services,
    localslack: LocalSlack,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", scheduled.settings.database_url)
    monkeypatch.setenv("CXBOT_TIMEZONE", "Europe/Oslo")
    runner = CliRunner()

    printed = runner.invoke(
        cli_app,
        [
            "digest",
            "--date",
            "2026-11-18",
            "--chart",
            str(tmp_path / "c.png"),
            "--team",
            localslack.team_id,
        ],
    )
    assert printed.exit_code == 0, printed.output
    assert "WEEKLY CUSTOMER DIGEST" in printed.output and "NPS fell" in printed.output
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")

    bad = runner.invoke(cli_app, ["digest", "--period", "fortnight"])
    assert bad.exit_code == 2 and "--period" in bad.output
    no_token = runner.invoke(cli_app, ["digest", "--post", "--team", localslack.team_id])
    assert no_token.exit_code == 1 and "SLACK_BOT_TOKEN" in no_token.output

    monkeypatch.setenv("SLACK_BOT_TOKEN", localslack.bot_token)
    monkeypatch.setenv("SLACK_API_URL", localslack.base_url)
    for _ in range(2):
        posted = runner.invoke(cli_app, ["digest", "--date", "2026-11-18", "--post"])
        assert posted.exit_code == 0, posted.output
        assert "digest:week:C0DIGEST:2026-W47: sent" in posted.output
    assert tuple(map(len, _posted(localslack))) == (1, 1)


# --------------------------------------------------------------------------- the view


def _full_digest() -> Any:
    from core.digest import build_digest

    def frame(rows: list[tuple[str, int, str, str, int]]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=["metric", "score", "segment", "touchpoint", "n"])

    before = frame(
        [
            ("nps", 10, "A", "Web", 70),
            ("nps", 8, "A", "Web", 30),
            ("nps", 10, "B", "Shop", 70),
            ("nps", 8, "B", "Shop", 30),
            ("csat", 5, "A", "Web", 40),
            ("ces", 6, "B", "Shop", 40),
        ]
    )
    now = frame(
        [
            ("nps", 10, "A", "Web", 20),
            ("nps", 3, "A", "Web", 80),
            ("nps", 10, "B", "Shop", 70),
            ("nps", 8, "B", "Shop", 30),
            ("csat", 2, "A", "Web", 40),
            ("ces", 3, "B", "Shop", 40),
        ]
    )
    return build_digest(
        cadence="week",
        period=WEEK,
        previous=BEFORE,
        counts_now=now,
        counts_before=before,
        series_counts={},
        metrics_report={
            "churn": {"rate": 10.0},
            "retention": {"rate": 90.0},
            "clv": {"average": 9000.0},
            "detractor_followup": {"alerts": 12, "handled_within_24h": 10, "open_overdue": 1},
        },
        comments_now=[Comment("The parcel came late", "nps", 2)] * 40
        + [Comment("Friendly staff in the store", "nps", 10)] * 3,
        comments_before=[Comment("The parcel came late", "nps", 2)] * 2
        + [Comment("Friendly staff in the store", "nps", 10)] * 9,
        insights=[
            {
                "text": f"<b>Insight {i}</b> & more " + "x" * 300,
                "status": s,
                "votes": i,
                "permalink": f"https://slack.example/p{i}",
            }
            for i, s in enumerate(["new", "planned", "done", "not_relevant"] * 5)
        ],
        shoutouts={
            "count": 7,
            "from_customers": 2,
            "top_receivers": ["U1", "U2"],
            "top_promise": "We make it easy",
            "top_promise_count": 4,
            "promises_unlived": ["We answer within a day"],
        },
        pulse=[
            {
                "name": "Culture pulse",
                "enps": 12.5,
                "culture": 4.1,
                "answers": 31,
                "response_rate": 77.5,
                "enough": True,
            },
            {"name": "Tiny team", "answers": 3, "enough": False},
        ],
    )


@pytest.mark.parametrize("locale", ["en", "nb", "da", "sv"])
def test_every_part_renders_on_one_screen_in_every_language(locale: str) -> None:
    from bot.handlers.digest.blocks import MAX_BLOCKS, digest_blocks, digest_fallback

    d = _full_digest()
    t = translator(locale)
    blocks: list[Any] = [b.to_dict() for b in digest_blocks(d, t, narrative="Paragraph.")]
    assert 10 <= len(blocks) <= MAX_BLOCKS
    raw = json.dumps(blocks, ensure_ascii=False)
    assert "{" not in "".join(b["text"]["text"] for b in blocks if b.get("text", {}).get("text"))
    assert "<b>" not in raw and "&lt;b&gt;Insight 0&lt;/b&gt; &amp; more" in raw  # escaped
    assert raw.count("https://slack.example/p") == 3  # the top three insights, linked
    shown = render_blocks(blocks).text
    assert "<@U1>" in raw
    assert ("12.5" if locale == "en" else "12,5") in shown
    if locale == "en":
        for part in (
            "Why it moved",
            "NPS fell",
            "By segment: mostly A (",
            "late delivery",
            "(↑ 2 → 40)",
            "> “The parcel came late”",
            "most praised",
            "We make it easy",
            "not lived this time",
            "Culture pulse",
            "eNPS 12.5",
            "culture 4.1 of 5",
            "Tiny team · not enough answers to show results",
            "Detractor alerts: 12, handled within 24 hours: 10, overdue: 1",
        ):
            assert part in shown, part
    else:
        assert "Why it moved" not in shown and "most praised" not in shown
    assert digest_fallback(d, t, "Paragraph.").endswith("Paragraph.")


def test_two_instances_at_the_same_minute_queue_one_report(pg_url: str) -> None:
    """Two bot processes on one PostgreSQL run the sweep together: one message, one chart."""
    import threading

    from bot.settings import load_settings

    settings = load_settings(_env_file=None, database_url=pg_url, cxbot_timezone="Europe/Oslo")
    engines = [make_engine(pg_url, pool_size=2) for _ in range(2)]
    try:
        first = Services(settings=settings, engine=engines[0], clock=lambda: DUE)
        store(first, "T1", nps_rows(BEFORE, "Private", 70, 30, 0), "a")
        store(first, "T1", nps_rows(WEEK, "Private", 20, 30, 50), "b")
        settings_store.set(engines[0], team_id="T1", key="digest.channel", value=CHANNEL)
        results: list[list[str]] = []
        start = threading.Barrier(2)

        def instance(engine: Any) -> None:
            services = Services(settings=settings, engine=engine, clock=lambda: DUE)
            start.wait()
            results.append(run_schedule(services))

        threads = [threading.Thread(target=instance, args=(e,)) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        # November's monthly report is due the first Monday of December, not today.
        key = message_key("week", CHANNEL, WEEK)
        assert sorted(map(len, results)) == [0, 1] and [key] in results
        assert queue.statuses(engines[0], team_id="T1") == {
            key: "pending",
            key + ":chart": "pending",
        }
    finally:
        for engine in engines:
            engine.dispose()
