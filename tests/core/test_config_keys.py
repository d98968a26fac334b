"""Settings keys and values: what is accepted, how it is stored, what errors say."""

from __future__ import annotations

import pytest

from core import config_keys as ck
from core.setting_values import parse_promises, parse_schedule, parse_weights
from core.workspace_settings import WorkspaceSettings


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("alerts.channel", "C0123ABCD", ("alerts.channel", "C0123ABCD")),
        ("Alerts.Channel", " <#C0123ABCD|cx-alerts> ", ("alerts.channel", "C0123ABCD")),
        ("alerts.escalation_channel", "G01ABCDEF", ("alerts.escalation_channel", "G01ABCDEF")),
        ("alerts.route.Retail", "C0999ZZZZ", ("alerts.route.Retail", "C0999ZZZZ")),
        ("digest.monthly.channel", "C0123ABCD", ("digest.monthly.channel", "C0123ABCD")),
        ("digest.schedule", "Monday 8:00", ("digest.schedule", "mon 08:00")),
        ("digest.schedule", "fri 16:30", ("digest.schedule", "fri 16:30")),
        (
            "promises",
            " Answer within a day ;; Keep it simple; ",
            ("promises", "Answer within a day; Keep it simple"),
        ),
        ("locale", "NB", ("locale", "nb")),
        ("timezone", "Europe/Oslo", ("timezone", "Europe/Oslo")),
        ("thresholds.nps", "5", ("thresholds.nps", "5")),
        ("thresholds.csat", "1", ("thresholds.csat", "1")),
        ("thresholds.ces", " 4 ", ("thresholds.ces", "4")),
        ("alerts.sla_hours", "48", ("alerts.sla_hours", "48")),
        ("shoutouts.daily_limit", "0", ("shoutouts.daily_limit", "0")),
        ("pulse.cooldown_days", "30", ("pulse.cooldown_days", "30")),
        ("metrics.csi_weights", "2; 1; 0.5", ("metrics.csi_weights", "2,1,0.5")),
        ("metrics.churn_months", "6", ("metrics.churn_months", "6")),
        ("metrics.expected_years", "7.5", ("metrics.expected_years", "7.5")),
    ],
)
def test_valid_values_are_normalised(key: str, value: str, stored: tuple[str, str]) -> None:
    assert ck.validate(key, value) == stored


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("alerts.channel", "#general", "channel ID like C0123ABCD"),
        ("alerts.channel", "U0123ABCD", "channel ID"),
        ("digest.schedule", "monday", "'mon 08:00'"),
        ("digest.schedule", "xyz 08:00", "'mon 08:00'"),
        ("digest.schedule", "mon 25:00", "'mon 08:00'"),
        ("promises", " ; ", "separated by ';'"),
        ("locale", "fr", "one of en, nb, da, sv"),
        ("timezone", "Mars/Olympus", "IANA timezone"),
        ("timezone", "../etc/passwd", "IANA timezone"),
        ("thresholds.nps", "11", "from 0 to 10"),
        ("thresholds.csat", "0", "from 1 to 5"),
        ("thresholds.ces", "three", "from 1 to 7"),
        ("alerts.sla_hours", "0", "1 to 720"),
        ("metrics.csi_weights", "1,1", "three weights"),
        ("metrics.csi_weights", "0,0,0", "not all 0"),
        ("metrics.csi_weights", "1,-1,1", "three weights"),
        ("metrics.expected_years", "0", "above 0"),
    ],
)
def test_bad_values_say_what_is_expected(key: str, value: str, expected: str) -> None:
    with pytest.raises(ck.BadValueError) as err:
        ck.validate(key, value)
    message = str(err.value)
    assert expected in message and repr(value) in message and message.startswith(key.lower())


def test_unknown_key_lists_close_matches() -> None:
    with pytest.raises(ck.UnknownKeyError) as err:
        ck.validate("alert.channel", "C0123ABCD")
    assert "alerts.channel" in err.value.suggestions
    assert "did you mean alerts.channel" in str(err.value)
    with pytest.raises(ck.UnknownKeyError) as err:
        ck.validate("digest.shedule", "mon 08:00")
    assert err.value.suggestions[0] == "digest.schedule"
    with pytest.raises(ck.UnknownKeyError) as err:
        ck.validate("zzzz", "1")
    assert err.value.suggestions == [] and "did you mean" not in str(err.value)
    with pytest.raises(ck.UnknownKeyError):
        ck.validate("alerts.route.", "C0123ABCD")


def test_defaults_and_what_a_workspace_reads() -> None:
    defaults = {name: spec.default for name, spec in ck.KEYS.items()}
    assert defaults["digest.schedule"] == "mon 08:00"
    assert defaults["thresholds.nps"] == "6" and defaults["alerts.sla_hours"] == "24"
    assert defaults["alerts.channel"] is None and defaults["timezone"] is None
    # Every default passes its own check.
    for key, value in defaults.items():
        if value is not None:
            assert ck.validate(key, value) == (key, value)
    values = WorkspaceSettings.from_stored(
        {"alerts.channel": "C1234567", "alerts.route.retail": "C7654321", "gone.key": "x"}
    )
    assert values.alerts_channel == "C1234567"
    assert values.alert_routes == {"retail": "C7654321"}
    assert "gone.key" not in values.as_stored()
    assert values.thresholds_ces == 3
    assert values.as_stored()["alerts.route.retail"] == "C7654321"


def test_a_stored_value_that_no_longer_passes_its_check_counts_as_not_set() -> None:
    values = WorkspaceSettings.from_stored(
        {
            "timezone": "Mars/Olympus_Mons",
            "alerts.sla_hours": "48",
            "alerts.route.retail": "not a channel",
            "alerts.route.smb": "C7654321",
        }
    )
    assert values.timezone is None and values.alerts_sla_hours == 48
    assert values.alert_routes == {"smb": "C7654321"}


def test_parsers() -> None:
    assert parse_schedule("tue 10:05") == (1, 10, 5)
    assert parse_promises("a; b ;;c") == ["a", "b", "c"]
    assert parse_promises(None) == []
    assert parse_weights("1,2,3") == (1.0, 2.0, 3.0)
    with pytest.raises(ValueError):
        parse_schedule("sometime")


def test_zone_falls_back_to_the_default_for_a_missing_or_unknown_timezone() -> None:
    from zoneinfo import ZoneInfo

    from core.setting_values import zone

    assert zone("Europe/Oslo", "UTC") == ZoneInfo("Europe/Oslo")
    assert zone(" Europe/Oslo ", "UTC") == ZoneInfo("Europe/Oslo")
    assert zone(None, "Europe/Stockholm") == ZoneInfo("Europe/Stockholm")
    assert zone("", "UTC") == ZoneInfo("UTC")
    assert zone("Mars/Olympus_Mons", "UTC") == ZoneInfo("UTC")


def test_business_hours_take_a_country_for_holidays() -> None:
    stored = ck.validate("alerts.business_hours", "Mon-Fri 8:00-16:00 Europe/Oslo holidays:no")
    assert stored == (
        "alerts.business_hours",
        "mon,tue,wed,thu,fri 08:00-16:00 Europe/Oslo holidays:no",
    )
    with pytest.raises(ck.ConfigError, match="country"):
        ck.validate("alerts.business_hours", "mon-fri 08:00-16:00 holidays:xx")
