"""Customers' mail coming in: `receive` posts a mail that arrived (SMTP or a provider's
webhook) into its alert's thread, by the token of its reply address; a mail to an unknown
token is dropped and logged. `MailIn` is the SMTP receiver behind `cxbot mail-in`
(aiosmtpd)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, Final

from sqlalchemy.engine import Engine

from bot.services import Clock, system_clock
from core import mail as core_mail
from storage import mail as store

log = logging.getLogger("cxbot.mail")

# Larger mails are refused at DATA by `cxbot mail-in`: attachments are listed, not kept.
MAX_INBOUND_BYTES: Final = 25 * 1024 * 1024


def receive(
    engine: Engine,
    inbound: core_mail.Inbound,
    *,
    now: datetime,
    team_id: str | None = None,
) -> list[store.Received]:
    """Post a customer's mail in the thread of each alert whose reply address it was sent
    to (normally one). `team_id` (a provider webhook's workspace) limits it to that
    workspace's alerts. Unknown tokens are logged and dropped, never posted."""
    tokens = inbound.tokens()
    if not tokens:
        log.info("mail in: dropped a mail sent to no reply address (from a %s address)",
                 core_mail.domain_of(inbound.sender) or "missing")  # fmt: skip
        return []
    results = []
    for token in tokens[:5]:
        result = store.record_reply(engine, token=token, inbound=inbound, now=now, team_id=team_id)
        if result.status == "unknown":
            # The token is not logged whole: a log line must not open a thread to anyone.
            log.warning("mail in: dropped a mail to an unknown reply token %s…", token[:4])
        elif result.status == "duplicate":
            log.info("mail in: %s was received before", inbound.message_id[:80])
        else:
            log.info("mail in: reply for alert %s of %s", result.alert_id, result.team_id)
        results.append(result)
    return results


class _Handler:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        # Any well-formed reply address is taken, known or not: refusing unknown tokens here
        # would tell a sender which ones exist.
        if core_mail.token_of(address) is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            inbound = core_mail.parse_message(raw, list(envelope.rcpt_tos))
        except Exception:
            # No retry reads it better: refused for good, the sender's server says so.
            log.exception("mail in: could not read a mail")
            return "554 5.6.0 Cannot read this mail"
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: receive(self.engine, inbound, now=self.clock())
            )
        except Exception:
            log.exception("mail in: could not store a mail")
            return "451 4.3.0 Cannot take the mail now, try again later"
        return "250 2.0.0 Message accepted"


class MailIn:
    """`cxbot mail-in`: an SMTP server taking the customers' replies (reply+<token>@...)."""

    def __init__(
        self,
        engine: Engine,
        *,
        host: str = "127.0.0.1",
        port: int = 2525,
        clock: Clock = system_clock,
    ) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(
            _Handler(engine, clock),
            hostname=host,
            port=port,
            server_kwargs={"data_size_limit": MAX_INBOUND_BYTES},
        )

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> MailIn:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
