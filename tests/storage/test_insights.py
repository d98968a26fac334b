"""Keeping insights, on SQLite and PostgreSQL: recording, analysis with its queued post,
votes, statuses with their updates and DMs, lists and search, all kept to one team."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from core.workspace_settings import DEFAULT_CATEGORIES
from storage import insights as store
from storage import outbox
from storage.settings_store import set as set_setting

TEAM, OTHER = "T0CXLOCAL", "T0OTHER"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def add(
    engine: Engine, text: str, *, team: str = TEAM, reporter: str = "U0ADA", **kw: object
) -> int:
    new = store.NewInsight(reporter=reporter, text=text, **kw)  # type: ignore[arg-type]
    return store.record(engine, team_id=team, insight=new, now=NOW).insight_id


def analyse(
    engine: Engine,
    insight_id: int,
    *,
    team: str = TEAM,
    category: str = "delivery",
    impact: int = 2,
    similar: list[int] | None = None,
) -> store.Analysed:
    similar = similar or []
    return store.apply_analysis(
        engine,
        team_id=team,
        insight_id=insight_id,
        category=category,
        sentiment="negative",
        impact=impact,
        priority=float(impact * (1 + len(similar))),
        similar_ids=similar,
        now=NOW,
    )


def keys(engine: Engine, team: str = TEAM) -> dict[str, str]:
    return outbox.statuses(engine, team_id=team)


def payload(engine: Engine, key: str) -> dict[str, object]:
    claimed = outbox.claim_due(engine, now=NOW + timedelta(seconds=1), limit=100)
    found = {c.key: c.payload for c in claimed}
    return found[key]


def test_recorded_as_typed_whole_and_at_once(engine: Engine) -> None:
    long_text = "Kunden kari@example.no ringte. " + "Pakken kom for sent. " * 200
    insight_id = add(engine, long_text + "  ", customer="  ACME   AS ", segment="x" * 300)
    card = store.get_card(engine, team_id=TEAM, insight_id=insight_id)
    assert card is not None
    assert card.text == long_text.strip() and len(card.text) > 3000
    assert "kari@example.no" in card.text  # personal data kept for the company's own use
    assert (card.customer, len(card.segment or "")) == ("ACME AS", 200)
    assert (card.status, card.category, card.priority, card.analysed) == ("new", None, None, False)
    assert store.get_card(engine, team_id=OTHER, insight_id=insight_id) is None
    with pytest.raises(ValueError):
        add(engine, "   ")


def test_the_same_request_records_one_insight(engine: Engine) -> None:
    first = store.record(
        engine,
        team_id=TEAM,
        insight=store.NewInsight(
            reporter="U0ADA", text="hi", source="modal", request_key="view:V1"
        ),
        now=NOW,
    )
    again = store.record(
        engine,
        team_id=TEAM,
        insight=store.NewInsight(
            reporter="U0ADA", text="hi", source="modal", request_key="view:V1"
        ),
        now=NOW,
    )
    assert first.created and not again.created
    assert first.insight_id == again.insight_id
    other_team = store.record(
        engine,
        team_id=OTHER,
        insight=store.NewInsight(
            reporter="U0ADA", text="hi", source="modal", request_key="view:V1"
        ),
        now=NOW,
    )
    assert other_team.created and other_team.insight_id != first.insight_id


def test_analysis_is_written_once_with_its_post_queued(engine: Engine) -> None:
    quiet = add(engine, "No channel yet")
    assert analyse(engine, quiet) == store.Analysed(True, None, False)
    assert keys(engine) == {}

    set_setting(engine, team_id=TEAM, key="insights.channel", value="C0INSIGHT")
    insight_id = add(engine, "The parcel was late")
    assert analyse(engine, insight_id).queued_post
    assert not analyse(engine, insight_id, category="price").changed
    card = store.get_card(engine, team_id=TEAM, insight_id=insight_id)
    assert card is not None
    assert (card.category, card.sentiment, card.impact, card.priority) == (
        "delivery",
        "negative",
        2,
        2.0,
    )
    assert keys(engine) == {store.post_key(insight_id): outbox.PENDING}
    assert payload(engine, store.post_key(insight_id)) == {
        "action": "post",
        "insight_id": insight_id,
        "channel": "C0INSIGHT",
    }


def test_near_duplicates_link_to_the_original_and_raise_its_priority(engine: Engine) -> None:
    set_setting(engine, team_id=TEAM, key="insights.channel", value="C0INSIGHT")
    first = add(engine, "Parcel late")
    analyse(engine, first, impact=2)
    second = add(engine, "Parcel late again")
    analyse(engine, second, impact=2, similar=[first])
    third = add(engine, "Parcel very late")
    # Its best match is the second one, which itself says the same as the first.
    result = analyse(engine, third, impact=3, similar=[second, first])
    assert result.duplicate_of == first
    cards = {i: store.get_card(engine, team_id=TEAM, insight_id=i) for i in (first, second, third)}
    assert cards[second].duplicate_of == first  # type: ignore[union-attr]
    assert cards[third].duplicate_of == first  # type: ignore[union-attr]
    assert cards[third].priority == 9.0  # type: ignore[union-attr]
    assert cards[first].priority == 2.0 + 2 + 2  # type: ignore[union-attr]
    # The original's message shows the new weight: one update per linked insight.
    updates = sorted(k for k in keys(engine) if ":update:" in k)
    assert updates == [f"insight:{first}:update:1", f"insight:{first}:update:2"]


def test_window_holds_earlier_open_insights_of_the_team(engine: Engine) -> None:
    a = add(engine, "a")
    b = add(engine, "b")
    add(engine, "other team", team=OTHER)
    c = add(engine, "c")
    store.set_status(engine, team_id=TEAM, insight_id=b, status="done", user_id="U0B", now=NOW)
    d = add(engine, "d")
    assert store.analysis_window(engine, team_id=TEAM, insight_id=d) == [(c, "c"), (a, "a")]
    assert store.analysis_window(engine, team_id=TEAM, insight_id=d, limit=1) == [(c, "c")]


def test_votes_count_once_per_colleague(engine: Engine) -> None:
    set_setting(engine, team_id=TEAM, key="insights.channel", value="C0INSIGHT")
    insight_id = add(engine, "Checkout is confusing", reporter="U0ADA")
    analyse(engine, insight_id, impact=2)

    own = store.vote(engine, team_id=TEAM, insight_id=insight_id, user_id="U0ADA", now=NOW)
    assert own.outcome == "own" and not own.changed
    first = store.vote(engine, team_id=TEAM, insight_id=insight_id, user_id="U0BJORN", now=NOW)
    again = store.vote(engine, team_id=TEAM, insight_id=insight_id, user_id="U0BJORN", now=NOW)
    second = store.vote(engine, team_id=TEAM, insight_id=insight_id, user_id="U0SVEA", now=NOW)
    assert [first.outcome, again.outcome, second.outcome] == ["added", "repeat", "added"]
    assert second.card is not None
    assert (second.card.votes, second.card.priority) == (2, 2.0 + 2 + 2)
    assert (
        store.vote(engine, team_id=OTHER, insight_id=insight_id, user_id="U0X", now=NOW).outcome
        == "gone"
    )
    assert sorted(k for k in keys(engine) if ":update:" in k) == [
        f"insight:{insight_id}:update:1",
        f"insight:{insight_id}:update:2",
    ]


def test_status_changes_once_and_tells_the_reporter(engine: Engine) -> None:
    set_setting(engine, team_id=TEAM, key="insights.channel", value="C0INSIGHT")
    insight_id = add(engine, "Invoices are hard to read", reporter="U0ADA")
    analyse(engine, insight_id)

    planned = store.set_status(
        engine,
        team_id=TEAM,
        insight_id=insight_id,
        status="planned",
        user_id="U0BJORN",
        now=NOW,
        reporter_locale="nb",
    )
    double = store.set_status(
        engine, team_id=TEAM, insight_id=insight_id, status="planned", user_id="U0BJORN", now=NOW
    )
    own = store.set_status(
        engine, team_id=TEAM, insight_id=insight_id, status="done", user_id="U0ADA", now=NOW
    )
    assert (planned.changed, planned.previous, double.changed, own.changed) == (
        True,
        "new",
        False,
        True,
    )
    assert own.card is not None and (own.card.status, own.card.status_by) == ("done", "U0ADA")
    queued = keys(engine)
    assert sorted(k for k in queued if ":update:" in k) == [
        f"insight:{insight_id}:update:1",
        f"insight:{insight_id}:update:2",
    ]
    # The reporter is told when a colleague changes the status, not about their own change.
    assert [k for k in queued if ":dm:" in k] == [f"insight:{insight_id}:dm:1"]
    assert payload(engine, f"insight:{insight_id}:dm:1") == {
        "action": "dm",
        "insight_id": insight_id,
        "status": "planned",
        "by": "U0BJORN",
        "locale": "nb",
    }
    gone = store.set_status(
        engine, team_id=OTHER, insight_id=insight_id, status="done", user_id="U0X", now=NOW
    )
    assert gone == store.StatusChange(False, None)
    with pytest.raises(ValueError):
        store.set_status(
            engine, team_id=TEAM, insight_id=insight_id, status="x", user_id="U", now=NOW
        )


def test_changes_without_a_post_queue_no_update(engine: Engine) -> None:
    insight_id = add(engine, "No channel configured")
    analyse(engine, insight_id)
    store.vote(engine, team_id=TEAM, insight_id=insight_id, user_id="U0BJORN", now=NOW)
    store.set_status(
        engine, team_id=TEAM, insight_id=insight_id, status="done", user_id="U0BJORN", now=NOW
    )
    assert list(keys(engine)) == [f"insight:{insight_id}:dm:1"]


def test_post_location_follows_the_outbox(engine: Engine) -> None:
    set_setting(engine, team_id=TEAM, key="insights.channel", value="C0INSIGHT")
    insight_id = add(engine, "Where is my message?")
    assert store.post_location(engine, team_id=TEAM, insight_id=insight_id) == ("none", None)
    analyse(engine, insight_id)
    assert store.post_location(engine, team_id=TEAM, insight_id=insight_id) == ("pending", None)
    [claimed] = outbox.claim_due(engine, now=NOW + timedelta(seconds=1))
    outbox.mark_sent(engine, claimed.id, now=NOW, channel="C0INSIGHT", ts="1.000100")
    # Sent, but the after-send hook has not run yet: the outbox knows where it is.
    assert store.post_location(engine, team_id=TEAM, insight_id=insight_id) == (
        "posted",
        ("C0INSIGHT", "1.000100"),
    )
    store.record_post(
        engine, team_id=TEAM, insight_id=insight_id, channel="C0INSIGHT", ts="1.000100"
    )
    card = store.get_card(engine, team_id=TEAM, insight_id=insight_id)
    assert card is not None and (card.channel, card.ts) == ("C0INSIGHT", "1.000100")


def test_lists(engine: Engine) -> None:
    low = add(engine, "low", reporter="U0ADA")
    high = add(engine, "high", reporter="U0BJORN")
    price = add(engine, "price", reporter="U0ADA")
    done = add(engine, "done", reporter="U0ADA")
    add(engine, "elsewhere", team=OTHER, reporter="U0ADA")
    analyse(engine, low, impact=1)
    analyse(engine, high, impact=3)
    analyse(engine, price, category="price", impact=2)
    analyse(engine, done, impact=3)
    store.set_status(engine, team_id=TEAM, insight_id=done, status="done", user_id="U0B", now=NOW)

    cards, total = store.list_insights(engine, team_id=TEAM, kind="open")
    assert ([c.id for c in cards], total) == ([high, price, low], 3)
    cards, total = store.list_insights(engine, team_id=TEAM, kind="open", limit=1)
    assert ([c.id for c in cards], total) == ([high], 3)
    cards, total = store.list_insights(engine, team_id=TEAM, kind="mine", user_id="U0ADA")
    assert ([c.id for c in cards], total) == ([done, price, low], 3)
    assert cards[0].status == "done"
    cards, total = store.list_insights(engine, team_id=TEAM, kind="category", category="price")
    assert ([c.id for c in cards], total) == ([price], 1)
    with pytest.raises(ValueError):
        store.list_insights(engine, team_id=TEAM, kind="all")  # type: ignore[arg-type]


def test_search_any_case_any_language_every_word(engine: Engine) -> None:
    beer = add(engine, "Kunden savnet ØL i butikken", customer="Bryggeriet")
    parcel = add(engine, "Parcel arrived late", segment="Business", touchpoint="Delivery")
    sale = add(engine, "They want 50% off", customer="acme_corp")
    add(engine, "øl hos en annen kunde", team=OTHER)

    def found(*words: str) -> list[int]:
        cards, total = store.search(engine, team_id=TEAM, words=list(words))
        assert total == len(cards)
        return [c.id for c in cards]

    assert found("øl") == [beer]
    assert found("BRYGGERIET") == [beer]  # the customer field
    assert found("business", "LATE") == [parcel]  # segment and text, every word
    assert found("delivery") == [parcel]  # touchpoint
    assert found("late", "beer") == []
    assert found("50%") == [sale]
    assert found("%") == [sale]  # a literal percent sign, not a wildcard
    assert found("e_c") == [sale]  # a literal underscore
    assert found("   ") == []
    assert found("kunde") == [beer]  # the other team's insight is not found


def test_pending_analysis_and_config(engine: Engine) -> None:
    analysed = add(engine, "analysed")
    analyse(engine, analysed)
    waiting = add(engine, "waiting", team=OTHER)
    assert store.pending_analysis(engine, before=NOW) == [(OTHER, waiting)]
    assert store.pending_analysis(engine, before=NOW - timedelta(seconds=1)) == []

    config = store.load_config(engine, team_id=TEAM)
    assert (config.channel, config.categories) == (None, DEFAULT_CATEGORIES)
    set_setting(engine, team_id=TEAM, key="insights.categories", value="Price, Gift cards")
    assert store.load_config(engine, team_id=TEAM).categories == ("price", "gift cards")
