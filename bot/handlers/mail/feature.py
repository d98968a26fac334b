"""Mail with the customer's registry entry."""

from __future__ import annotations

from bot.feature import Feature
from bot.handlers.mail import listeners, posting
from storage.mail import SEND_PREFIX

FEATURE = Feature(
    name="mail",
    listeners=listeners.register,
    renderers={"mail": posting.render_mail},
    senders={"mail": posting.send_mail},
    sent_hooks={SEND_PREFIX: posting.after_send},
)
