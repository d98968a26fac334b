"""The fidelity suite runs the real app the bot tests run (tests/bot/conftest.py): a local
Slack, the real Bolt app behind the real WSGI server, the real database."""

from tests.bot.conftest import (  # noqa: F401  (fixtures, found by name)
    bolt_app,
    bot_settings,
    localslack,
    server,
    services,
    slack,
)
