"""A Slack-compatible Web API server on this machine, for the sandbox and the tests.

    with LocalSlack.demo(rate_limits=False) as slack:
        client = WebClient(base_url=slack.base_url, token=slack.bot_token)
        client.chat_postMessage(channel="C0GENERAL", text="hi")
        slack.wait_for(lambda: slack.messages("C0GENERAL"))

What it offers besides the Web API (all thread-safe):
- set-up: add_user, add_channel, add_usergroup, set_member, LocalSlack.demo()
- what an interaction carries: response_url(channel, user, message_ts=None),
  new_trigger_id(user), open_dm(user), close_view(view_id)
- what the app did: calls / calls_to(method), messages(channel), ephemerals(user),
  responses(), home_views(), open_views(), files(), reactions(), users(), channels()
- waiting and watching: wait_for(predicate, timeout), subscribe(callback(kind, item))
- trouble on demand: rate limits (rate_limits, rate_scale), set_faults(rate, statuses, methods)

Readers get copies. messages(), ephemerals() and open_views() leave out what was
deleted or closed, so their length can shrink; use subscribe() to follow everything.
"""

from bot.localslack.server import LocalSlack
from bot.localslack.validation import ApiError
from bot.localslack.workspace import KINDS, Call

__all__ = ["KINDS", "ApiError", "Call", "LocalSlack"]
