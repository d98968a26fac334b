"""The follow-up rating page in a real headless Chromium (Debian's package), scripts off:
the customer clicks a score once, the answer is kept, a second visit cannot change it.

Skipped with its reason where no Chromium is installed, except in CI (.ci/run installs it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.localslack import LocalSlack
from bot.services import Services
from core import mail as core_mail
from storage import mail as store
from tests.bot.browser import Browser, chromium_path
from tests.bot.conftest import RunningServer
from tests.bot.slackkit import SlackKit
from tests.bot.test_mail import DOMAIN, TEAM, Sink, configure, raise_alert, sink

__all__ = ["sink"]  # a fixture shared with test_mail

pytestmark = [
    pytest.mark.real_time,
    pytest.mark.skipif(
        chromium_path() is None and not os.environ.get("CI"),
        reason="no Chromium installed (apt-get install chromium); CI installs it",
    ),
]


def test_rating_page_in_a_browser(
    slack: SlackKit,
    localslack: LocalSlack,
    services: Services,
    server: RunningServer,
    sink: tuple[Sink, int],
    tmp_path: Path,
) -> None:
    configure(services, server, sink[1])
    alert_id, _ = raise_alert(slack, localslack)
    queued = store.queue_reply(
        services.engine,
        team_id=TEAM,
        alert_id=alert_id,
        user_id="U0ADA",
        subject="Om tilbakemeldingen din",
        body="Hei Kari, vi har ordnet det.",
        locale="nb",
        reply_domain=DOMAIN,
        now=services.clock(),
    )
    assert queued.mail_id is not None
    row = store.get_mail(services.engine, team_id=TEAM, mail_id=queued.mail_id)
    assert row is not None
    token = core_mail.sign(queued.mail_id, str(row["rating_key"]), "rate")
    url = core_mail.link(server.url, "/mail/rate", token) + "&score=4"

    with Browser() as browser:
        # The page's own scripts are off: what it does, it does as plain HTML.
        browser.call("Emulation.setScriptExecutionDisabled", value=True)
        browser.open(url)
        page = browser.html()
        assert 'lang="nb"' in page and "Hvordan opplever du det nå?" in page
        assert "<script" not in page and 'class="r4 picked"' in page
        shot = Path(os.environ.get("CXBOT_SCREENSHOT") or tmp_path / "rating.png")
        browser.screenshot(str(shot))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        browser.click('button[value="4"]')
        assert "Takk! Svaret ditt er lagret." in browser.html()
        browser.open(url)
        assert "Takk, vi har allerede svaret ditt." in browser.html()
        browser.open(core_mail.link(server.url, "/mail/rate", token + "0"))
        assert "Denne lenken" not in browser.html() and "not valid" in browser.html()

    kept = store.get_mail(services.engine, team_id=TEAM, mail_id=queued.mail_id)
    assert kept is not None and kept["rating"] == 4
