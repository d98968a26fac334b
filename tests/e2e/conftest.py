"""What the end-to-end tests share: the local Slack the `cxbot serve` processes talk to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.localslack import LocalSlack


@pytest.fixture
def localslack() -> Iterator[LocalSlack]:
    with LocalSlack.demo(rate_limits=False) as slack:
        yield slack
