"""`/cx config`: admins show, set and unset workspace settings from Slack, with the same
checks as `cxbot config` (core.workspace_settings). Parts: `command`, `feature`."""
