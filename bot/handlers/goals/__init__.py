"""Metric goals (`/cx goal`): a target for NPS, CSAT, CES or CSI by a deadline, and how far
each has come. Its parts: `feature` (its registry entry), `command` (the subcommand),
`progress` (`workspace_goals`: every goal's progress, for any screen), `blocks` (the reply,
and `goal_lines` / `goals_section` for the digest, App Home and `cxbot metrics`)."""
