"""The product's columns for answers and customers, and the header names that mean them.

Header names are case-insensitive and may use the aliases in `RESPONSE_ALIASES` and
`CUSTOMER_ALIASES` (English, Norwegian, Danish and Swedish spellings).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

RESPONSE_COLUMNS = [
    "response_key",
    "responded_at",
    "local_day",
    "metric",
    "score",
    "customer_id",
    "segment",
    "touchpoint",
    "comment",
    "employee",
]
# A customer frame holds the required columns plus the optional ones the file had:
# storage leaves a column the file did not mention as it was.
CUSTOMER_COLUMNS = [
    "customer_id",
    "name",
    "started_at",
    "ended_at",
    "segment",
    "annual_revenue",
    "acquisition_cost",
]
# Optional contact details of the customer (personal data: storage.mail). A frame carries
# them only when its source had them, so frames built without them keep RESPONSE_COLUMNS.
CONTACT_COLUMNS = ["customer_email", "customer_name"]
RESPONSE_REQUIRED = ("responded_at", "metric", "score")
CUSTOMER_REQUIRED = ("customer_id", "started_at")

# Width of the short text columns in storage; longer values would fail on PostgreSQL.
MAX_TEXT = 200
ID_PREFIX = "id:"
HASH_PREFIX = "h:"

RESPONSE_ALIASES: dict[str, tuple[str, ...]] = {
    "responded_at": (
        "responded_at", "date", "timestamp", "created_at", "time", "datetime", "answered_at",
        "submitted_at", "dato", "datum", "tidspunkt", "tidpunkt", "tid", "svartid",
    ),
    "metric": (
        "metric", "type", "question", "survey", "metrikk", "metrik", "måling", "måltall",
        "spørsmål", "spørgsmål", "fråga", "mått", "undersøkelse", "undersøgelse",
    ),
    "score": (
        "score", "rating", "value", "answer", "karakter", "poeng", "point", "poäng", "verdi",
        "værdi", "värde", "betyg", "svar", "vurdering", "bedømmelse",
    ),
    "response_id": ("response_id", "id", "answer_id", "svar_id", "svarid"),
    "customer_id": (
        "customer_id", "customer", "customer_no", "customer_number", "kunde", "kunde_id",
        "kundeid", "kundenummer", "kundenr", "kund", "kund_id", "kundid", "kundnummer", "kundnr",
    ),
    "segment": ("segment", "customer_segment", "kundesegment", "kundsegment"),
    "touchpoint": (
        "touchpoint", "touch_point", "kontaktpunkt", "berøringspunkt", "beröringspunkt",
        "kontaktpunkter",
    ),
    "comment": (
        "comment", "comments", "feedback", "text", "kommentar", "kommentarer", "tekst",
        "fritekst", "fritext", "begrunnelse", "begrundelse", "motivering",
    ),
    "employee": (
        "employee", "agent", "ansatt", "medarbeider", "medarbejder", "medarbetare", "ansat",
        "anställd", "saksbehandler", "handläggare",
    ),
    "customer_email": (
        "customer_email", "email", "e_mail", "epost", "e_post", "kunde_epost", "kund_epost",
        "kunde_e_mail", "kund_e_post", "mejl",
    ),
    "customer_name": ("customer_name", "kundenavn", "kundenavn_fullt", "kundnamn"),
}  # fmt: skip

CUSTOMER_ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": RESPONSE_ALIASES["customer_id"] + ("id",),
    "name": ("name", "customer_name", "navn", "namn", "kundenavn", "kundnamn"),
    "started_at": (
        "started_at", "start", "start_date", "started", "since", "customer_since", "created_at",
        "startdato", "startdatum", "kunde_siden", "kunde_fra", "kund_sedan", "fra", "från",
    ),
    "ended_at": (
        "ended_at", "end", "end_date", "ended", "churned_at", "cancelled_at", "canceled_at",
        "sluttdato", "slutdato", "slutdatum", "opphørt", "ophørt", "avslutad", "til", "till",
    ),
    "segment": RESPONSE_ALIASES["segment"],
    "annual_revenue": (
        "annual_revenue", "revenue", "yearly_revenue", "omsetning", "årlig_omsetning",
        "årsomsetning", "omsætning", "årlig_omsætning", "omsättning", "årlig_omsättning",
        "årsomsättning",
    ),
    "acquisition_cost": (
        "acquisition_cost", "cac", "customer_acquisition_cost", "anskaffelseskostnad",
        "anskaffelsesomkostning", "anskaffelsesomkostninger", "anskaffningskostnad",
        "förvärvskostnad", "kundeanskaffelseskostnad",
    ),
}  # fmt: skip


def normalise_name(name: str) -> str:
    """A header name as compared with the aliases: trimmed, lower case, `_` between words."""
    name = unicodedata.normalize("NFC", name).replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-./#]+", "_", name).strip("_")


def _alias_table(aliases: Mapping[str, Sequence[str]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, names in aliases.items():
        for name in names:
            table.setdefault(normalise_name(name), canonical)
    return table


_RESPONSE_TABLE = _alias_table(RESPONSE_ALIASES)
_CUSTOMER_TABLE = _alias_table(CUSTOMER_ALIASES)


@dataclass(frozen=True)
class Spec:
    """What one kind of file holds: its header names (normalised) -> columns, and the
    columns it must have."""

    table: dict[str, str]
    required: tuple[str, ...]


RESPONSES = Spec(_RESPONSE_TABLE, RESPONSE_REQUIRED)
CUSTOMERS = Spec(_CUSTOMER_TABLE, CUSTOMER_REQUIRED)


def response_header_map(names: Sequence[str]) -> dict[str, int]:
    """The product's columns a header names (by the aliases), first occurrence each."""
    where: dict[str, int] = {}
    for pos, name in enumerate(names):
        canonical = _RESPONSE_TABLE.get(normalise_name(name))
        if canonical is not None:
            where.setdefault(canonical, pos)
    return where
