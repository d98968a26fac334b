"""Shout-outs: colleagues praising each other for what they did for a customer, and
customers' praise of the people they name. Its parts: `listeners` (`/shoutout`, its form,
reactions as seconds), `blocks` (the post, the DM, the form, the receipt), `giving`
(receivers and promise checked, the shout-out stored), `directory` (who the members are,
its hourly sweep), `praise` (customer praise after a webhook), `posting` (the outbox's
renderer and hooks), `feature` (its registry entry)."""
