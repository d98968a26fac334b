"""A Slack-compatible Web API server on this machine, for the sandbox and the tests.

    with LocalSlack.demo(rate_limits=False) as slack:
        client = WebClient(base_url=slack.base_url, token=slack.bot_token)
        client.chat_postMessage(channel="C0GENERAL", text="hi")
        slack.wait_for(lambda: slack.messages("C0GENERAL"))

What it offers besides the Web API (all thread-safe):
- set-up: add_user, add_channel, add_usergroup, set_member, LocalSlack.demo()
- what an interaction carries: response_url(channel, user, message_ts=None),
  new_trigger_id(user), open_dm(user) (the D id; messages(user) reads it), close_view(view_id)
- what the app did: calls / calls_to(method), messages(channel), ephemerals(user),
  responses(), home_views(), open_views(), files(), reactions(), users(), channels()
- waiting and watching: wait_for(predicate, timeout), subscribe(callback(kind, item))
- trouble on demand: rate limits (rate_limits, rate_scale), set_faults(rate, statuses,
  methods, count=, after_effect=), uncertain_sends(count) (stored, then 500 or DROP)
- Slack Connect: add_external_user(user, name, team_id=...) for a partner organisation's member
- what Slack sends the app: command_text(text, should_escape), stored_text(text),
  interaction_identity(user) (the team/user/enterprise fields of an interaction payload)

Readers get copies. messages(), ephemerals() and open_views() leave out what was
deleted or closed, so their length can shrink; use subscribe() to follow everything.
"""

from bot.localslack.server import DROP, LocalSlack
from bot.localslack.validation import ApiError
from bot.localslack.workspace import KINDS, Call

__all__ = ["DROP", "KINDS", "ApiError", "Call", "LocalSlack"]
