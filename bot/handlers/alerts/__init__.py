"""Detractor alerts in Slack: the alert message with Claim / Add note / Resolve, its
reminders and escalations, and `/cx alerts`. Its parts: `listeners` (buttons, modals, the
subcommand), `blocks` (the Block Kit), `posting` (the outbox renderer and after-send hook),
`sweeps` (the SLA clock), `access` (who may resolve), `feature` (its registry entry)."""
