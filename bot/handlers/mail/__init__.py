"""Mail with the customer behind an alert: Reply to customer, their replies back into the
alert's thread, the follow-up rating and the opt-out. Its parts: `listeners` (the button,
the form and its submission), `blocks` (the form and the thread's posts), `posting` (the
outbox's sender, renderer and after-send hook), `inbound` (mail coming in, and the SMTP
server of `cxbot mail-in`), `pages` (the webhook, rating and unsubscribe routes of
bot/web.py), `cli` (`cxbot mail-in`), `feature` (its registry entry)."""
