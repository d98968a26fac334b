"""The demo workspace: people in four languages, the bot, and the channels cxbot uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.localslack.workspace import Workspace

# (id, name, real name, locale, timezone, admin)
DEMO_USERS = (
    ("U0ADA", "ada", "Ada Lovelace", "en-US", "Europe/Oslo", True),
    ("U0BJORN", "bjorn", "Bjørn Hansen", "nb-NO", "Europe/Oslo", False),
    ("U0FREJA", "freja", "Freja Nielsen", "da-DK", "Europe/Copenhagen", False),
    ("U0SVEA", "svea", "Svea Lindqvist", "sv-SE", "Europe/Stockholm", False),
    ("U0GRACE", "grace", "Grace Hopper", "en-GB", "Europe/London", False),
    ("U0KARI", "kari", "Kari Nordmann", "nb-NO", "Europe/Oslo", False),
    ("U0MADS", "mads", "Mads Jensen", "da-DK", "Europe/Copenhagen", False),
    ("U0OLLE", "olle", "Olle Svensson", "sv-SE", "Europe/Stockholm", False),
)
DEACTIVATED_USER = "U0GONE"
OTHER_BOT = "U0OTHERBOT"

DEMO_CHANNELS = (
    ("C0GENERAL", "general"),
    ("C0ALERTS", "cx-alerts"),
    ("C0ESCAL", "cx-escalations"),
    ("C0DIGEST", "cx-digest"),
    ("C0INSIGHT", "cx-insights"),
    ("C0SHOUT", "shoutouts"),
)
CUSTOMER_CHANNEL = ("C0CUSTOMER", "ext-acme")

DEMO_USERGROUPS = (
    ("S0CXTEAM", "cx-team", ("U0ADA", "U0BJORN", "U0FREJA", "U0SVEA")),
    ("S0LEADS", "leaders", ("U0ADA", "U0GRACE")),
    ("S0ALL", "everyone", tuple(u[0] for u in DEMO_USERS)),
)


def populate(ws: Workspace) -> None:
    """Fills an empty workspace with the demo people, channels and user groups."""
    for user_id, name, real_name, locale, tz, admin in DEMO_USERS:
        ws.add_user(
            user_id,
            name,
            real_name=real_name,
            locale=locale,
            tz=tz,
            is_admin=admin,
            email=f"{name}@example.com",
        )
    ws.add_user(
        DEACTIVATED_USER,
        "former",
        real_name="Former Colleague",
        deleted=True,
        email="former@example.com",
    )
    ws.add_user(OTHER_BOT, "otherbot", real_name="Other Bot", is_bot=True, tz="UTC")
    everyone = [u[0] for u in DEMO_USERS]
    for channel_id, name in DEMO_CHANNELS:
        ws.add_channel(channel_id, name, members=everyone)
    ws.add_channel(
        CUSTOMER_CHANNEL[0],
        CUSTOMER_CHANNEL[1],
        members=["U0ADA", "U0BJORN", "U0GRACE"],
        is_ext_shared=True,
    )
    for group_id, handle, users in DEMO_USERGROUPS:
        ws.add_usergroup(group_id, handle, users)
