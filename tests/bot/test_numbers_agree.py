"""Numbers that agree: `/cx metrics` and `/cx digest` of the same quarter show the same
change (rounded once, in core.metrics.shown_change), with one minus sign everywhere."""

from __future__ import annotations

from bot.i18n import translator
from core.metrics import shown_change
from tests.bot.slackkit import SlackKit
from tests.bot.test_cx import ephemeral_reply, store_answers

MINUS = "\u2212"


def test_shown_change_rounds_the_shown_values() -> None:
    # 33.33... and 66.66... are shown as 33.3 and 66.7: the change that adds up is −33.4.
    assert shown_change(100 / 3, 200 / 3, 1) == -33.4
    assert shown_change(1.0, None, 1) is None
    assert str(shown_change(0.01, 0.04, 1)) == "0.0"


def test_metrics_and_digest_of_a_quarter_show_the_same_change(
    slack: SlackKit, services: object
) -> None:
    # Q3 2026 (the last complete quarter at the test clock's 2026-11-23): one promoter of
    # three, NPS 33.3...; Q2: two of three, 66.6... Unrounded the change is −33.3.
    answers = [("2026-08-12", "nps", s) for s in (10, 8, 8)]
    answers += [("2026-05-12", "nps", s) for s in (10, 10, 8)]
    store_answers(services.engine, answers)  # type: ignore[attr-defined]

    metrics = ephemeral_reply(slack, slack.command("/cx", "metrics quarter"))
    assert "*NPS*  33.3" in metrics and f"({MINUS}33.4)" in metrics

    r = slack.command("/cx", "digest quarter")
    assert r.status == 200
    digest = slack.wait_reply(r, timeout=10)
    shown = str(digest)
    assert f"{MINUS}33.4" in shown and f"{MINUS}33.3" not in shown
    assert "-33." not in shown


def test_one_minus_sign_in_every_language() -> None:
    for locale in ("en", "nb", "da", "sv"):
        t = translator(locale)
        for text in (t.number(-7.0), t.signed(-7.0), t.percent(-7.0)):
            assert text.startswith(MINUS + "7"), (locale, text)
        assert t.number(-0.04) in ("0.0", "0,0")  # rounded to zero: no sign at all
