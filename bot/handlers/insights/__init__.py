"""Customer insights: `/insight`, its form, the message shortcut and the buttons on an
insight's card. Its parts: `listeners`, `blocks` (cards, lists, the form), `analysis`
(the analyzer and its pool, the after-ack analysis), `status` (votes and status changes),
`posting` (the `render:insight` renderer and the hook recording where a card landed),
`sweeps` (the catch-up for analyses cut short), `feature` (its registry entry)."""
