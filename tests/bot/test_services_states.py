"""Feature states are closed when the background work stops: each one, even when another
fails to close, and a state made afterwards is a fresh one."""

from __future__ import annotations

import logging

import pytest

from bot.background import stop_background
from bot.services import Services


class Broken:
    def close(self) -> None:
        raise RuntimeError("pool already gone")


class Counted:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_every_state_is_closed_even_when_one_fails(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    counted = services.state(Counted)
    services.state(Broken)  # made last, so closed first
    with caplog.at_level(logging.ERROR):
        stop_background(services)
    assert counted.closed == 1
    assert any("closing Broken failed" in r.getMessage() for r in caplog.records)
    assert services.state(Counted) is not counted
