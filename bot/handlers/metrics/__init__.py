"""Metrics reporting: NPS, CSAT, CES, CSI and the customer figures of a period, for
`/cx metrics`, `cxbot metrics`, App Home and the digest. Its parts: `report` (one call
from a period to the metrics JSON), `blocks` (its Block Kit and wording), `cli`
(`cxbot metrics`, `cxbot export`, `cxbot config`), `feature` (its registry entry)."""
