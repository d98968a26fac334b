"""The App Home: its queries on SQLite and PostgreSQL, and the published view end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.home_queries import has_responses, open_alerts, recent_insights, recent_shoutouts
from storage.models import Alert, Insight, Response, Shoutout, ShoutoutReceiver
from tests.bot.test_cx import TEAM, last_week_answers, store_answers

OTHER = "T0OTHER"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def add_response(session: Session, team: str, key: str, score: int = 2) -> Response:
    row = Response(team_id=team, response_key=key, responded_at=T0, local_day=T0.date(),
                   metric="nps", score=score, customer_id=f"C-{key}", segment="Private",
                   comment=f"comment {key}", batch_id="b1")  # fmt: skip
    session.add(row)
    session.flush()
    return row


def populate(engine: Engine) -> None:
    """Ada's rows in TEAM, plus look-alikes in another team and for other people."""
    with Session(engine) as s:
        for team in (TEAM, OTHER):
            for i in range(7):
                s.add(Insight(team_id=team, reporter="U0ADA", text=f"{team} insight {i}",
                              created_at=T0 + timedelta(hours=i), status="new"))  # fmt: skip
            s.add(Insight(team_id=team, reporter="U0BJORN", text="not Ada's", created_at=T0))
            given = Shoutout(team_id=team, giver="U0ADA", text=f"{team} given", created_at=T0)
            got = Shoutout(team_id=team, giver="U0BJORN", text=f"{team} received",
                           created_at=T0 + timedelta(days=1))  # fmt: skip
            unrelated = Shoutout(team_id=team, giver="U0SVEA", text="unrelated", created_at=T0)
            s.add_all([given, got, unrelated])
            s.flush()
            s.add_all([
                ShoutoutReceiver(shoutout_id=given.id, user_id="U0BJORN", team_id=team),
                ShoutoutReceiver(shoutout_id=given.id, user_id="U0FREJA", team_id=team),
                ShoutoutReceiver(shoutout_id=got.id, user_id="U0ADA", team_id=team),
                ShoutoutReceiver(shoutout_id=unrelated.id, user_id="U0KARI", team_id=team),
            ])  # fmt: skip
            for key, owner, status, due in [
                ("a1", "U0ADA", "claimed", T0 + timedelta(hours=30)),
                ("a2", "U0ADA", "claimed", T0 + timedelta(hours=5)),
                ("a3", "U0ADA", "resolved", T0),
                ("a4", "U0BJORN", "claimed", T0),
            ]:
                response = add_response(s, team, f"{team}-{key}")
                s.add(Alert(team_id=team, response_id=response.id, owner=owner, status=status,
                            due_at=due, channel="C0ALERTS", ts="1.000001"))  # fmt: skip
        s.commit()


def test_home_queries_keep_to_the_person_and_team(engine: Engine) -> None:
    populate(engine)
    insights = recent_insights(engine, team_id=TEAM, user_id="U0ADA")
    assert [i.text for i in insights] == [f"{TEAM} insight {i}" for i in (6, 5, 4, 3, 2)]
    assert recent_insights(engine, team_id=TEAM, user_id="U0ADA", limit=2)[0].created_at == T0 + (
        timedelta(hours=6)
    )
    shouts = recent_shoutouts(engine, team_id=TEAM, user_id="U0ADA")
    assert [(s.text, s.giver, s.receivers) for s in shouts] == [
        (f"{TEAM} received", "U0BJORN", ("U0ADA",)),
        (f"{TEAM} given", "U0ADA", ("U0BJORN", "U0FREJA")),
    ]
    alerts = open_alerts(engine, team_id=TEAM, owner="U0ADA")
    assert [a.customer_id for a in alerts] == [f"C-{TEAM}-a2", f"C-{TEAM}-a1"]  # soonest due first
    assert alerts[0].metric == "nps" and alerts[0].score == 2 and alerts[0].status == "claimed"
    assert alerts[0].due_at.tzinfo is not None
    assert open_alerts(engine, team_id=TEAM, owner="U0SVEA") == []
    assert recent_insights(engine, team_id="T0NONE", user_id="U0ADA") == []
    assert has_responses(engine, team_id=TEAM)
    assert not has_responses(engine, team_id="T0NONE")


def open_home(slack: Any, localslack: Any, user: str) -> dict[str, Any]:
    before = localslack.home_views().get(user, {}).get("hash")
    result = slack.event({"type": "app_home_opened", "user": user, "tab": "home",
                          "channel": "D" + user[1:]})  # fmt: skip
    assert result.status == 200

    def published() -> dict[str, Any] | None:
        view = localslack.home_views().get(user)
        return view if view and view.get("hash") != before else None

    view: dict[str, Any] = localslack.wait_for(published, timeout=10)
    return view


def test_app_home_shows_metrics_insights_shoutouts_and_alerts(
    slack: Any, localslack: Any, services: Any
) -> None:
    store_answers(services.engine, last_week_answers())
    populate(services.engine)
    view = open_home(slack, localslack, "U0ADA")
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 100
    text = json.dumps(view["blocks"], ensure_ascii=False)
    assert "Your customer dashboard" in text
    assert "Week 47, 2026" in text
    assert "*NPS*\\n25.0" in text and "40 answers" in text
    assert f"{TEAM} insight 6" in text and f"{TEAM} insight 1" not in text  # the five newest
    assert OTHER not in text  # nothing from the other workspace
    assert "From <@U0BJORN> to <@U0ADA>" in text
    assert f"C-{TEAM}-a2" in text and f"C-{TEAM}-a3" not in text  # resolved alerts are gone
    assert "overdue since" in text  # due 2026-11-20 14:00, the clock says 2026-11-23
    assert "/cx help" in text


def test_app_home_in_danish_and_refresh(
    slack: Any, localslack: Any, services: Any, clock: Any
) -> None:
    first = open_home(slack, localslack, "U0FREJA")
    text = json.dumps(first["blocks"], ensure_ascii=False)
    assert "Dit kundedashboard" in text
    assert "Ingen svar i den uge" in text
    assert "Du har ikke noteret nogen indsigter endnu" in text

    with Session(services.engine) as s:
        s.add(Insight(team_id=TEAM, reporter="U0FREJA", text="Kunden savner sporing",
                      created_at=clock.now - timedelta(hours=1)))  # fmt: skip
        s.commit()
    result = slack.block_action("home_refresh", "refresh", user="U0FREJA", view=first)
    assert result.status == 200

    def refreshed() -> dict[str, Any] | None:
        view = localslack.home_views().get("U0FREJA")
        return view if view and view["hash"] != first["hash"] else None

    again = localslack.wait_for(refreshed, timeout=10)
    assert "Kunden savner sporing" in json.dumps(again["blocks"], ensure_ascii=False)


def test_messages_tab_publishes_nothing(slack: Any, localslack: Any) -> None:
    result = slack.event({"type": "app_home_opened", "user": "U0ADA", "tab": "messages",
                          "channel": "D0ADA"})  # fmt: skip
    assert result.status == 200
    with pytest.raises(TimeoutError):
        localslack.wait_for(lambda: localslack.home_views().get("U0ADA"), timeout=0.7)
