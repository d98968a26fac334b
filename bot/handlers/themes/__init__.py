"""Comment themes: what customers' comments were about in a period, for `/cx themes`, the
App Home, the digest and the insight cards. Its parts: `report` (a period's themes from the
database, with the model's checked summaries), `blocks` (themes as Slack text), `feature`
(the `/cx themes` subcommand)."""
