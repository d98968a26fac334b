"""The digest and the one-page reports: `/cx digest`'s preview, the scheduled posts and
`cxbot digest`. Its parts: `compose` (a workspace's report, built and written for a
reader), `blocks` (its Block Kit), `chart` (its PNG), `posting` (the outbox: the message
and the chart sender), `sweeps` (the schedule), `cli`, `feature` (its registry entry)."""
