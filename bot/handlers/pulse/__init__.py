"""Pulse surveys: short surveys of colleagues (or a shared channel's customers) by DM, in
rounds, with anonymous results. Its parts: `listeners` (`/pulse`, the answer buttons and
modals), `blocks` (the DM, modals, results), `audience` (who a round asks), `rounds`
(opening, closing, the create modal's definition), `posting` (the results renderer),
`sweeps` (scheduled rounds, reminders, closing), `cli` (`cxbot pulse`), `feature` (its
registry entry)."""
