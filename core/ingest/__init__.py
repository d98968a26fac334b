"""Reading survey answers and customer records from CSV and JSON files, and checking them.

Pure: nothing here touches a database. Files are read in chunks so that a file
larger than memory imports, and every row keeps its physical line number (the
header is line 1) so a rejected row can be found in the file again.

What is read:
- CSV separated by commas, semicolons or tabs (sniffed from the header line); UTF-8
  with or without a byte-order mark, UTF-16 with one, and older single-byte
  encodings (cp1252 and relatives) recognised per file. In a UTF-8 file a line
  whose bytes are not valid UTF-8 rejects its row instead of the whole file.
- JSON: an array of objects, JSON lines, or objects one after another.

Header names are case-insensitive and may use the aliases in
`core.ingest.columns` (English, Norwegian, Danish and Swedish spellings).

The rest of the product imports from here; the modules of this package are how it
is done:
    columns      the product's columns and the header names that mean them
    records      rows as read (Chunk), Rejected, FileError
    decoding     bytes to text: encodings, byte-order marks, line by line
    csv_blocks   plain CSV blocks read in C
    csv_reader   CSV: separator, header, records, quotes left open
    objects      an object (JSON item, webhook answer) as a row
    json_reader  JSON: arrays, JSON lines, objects one after another
    files        a file as chunks, CSV or JSON
    checks       reasons per row, per-distinct-value column work
    moments      timestamps and dates
    answers      answers checked into RESPONSE_COLUMNS
    customers    customer records checked, amounts of money
"""

from core.ingest.answers import (
    check_answers,
    read_responses,
    response_keys,
    validate_response_objects,
)
from core.ingest.columns import (
    CONTACT_COLUMNS,
    CUSTOMER_COLUMNS,
    CUSTOMER_REQUIRED,
    ID_PREFIX,
    RESPONSE_COLUMNS,
    RESPONSE_REQUIRED,
    response_header_map,
)
from core.ingest.csv_reader import sniff_delimiter
from core.ingest.customers import parse_money, read_customers
from core.ingest.decoding import decode_bytes
from core.ingest.json_reader import json_array_items
from core.ingest.objects import TOO_DEEP_REASON
from core.ingest.records import FileError, Rejected

__all__ = [
    "CONTACT_COLUMNS",
    "CUSTOMER_COLUMNS",
    "CUSTOMER_REQUIRED",
    "ID_PREFIX",
    "RESPONSE_COLUMNS",
    "RESPONSE_REQUIRED",
    "TOO_DEEP_REASON",
    "FileError",
    "Rejected",
    "check_answers",
    "decode_bytes",
    "json_array_items",
    "parse_money",
    "read_customers",
    "read_responses",
    "response_header_map",
    "response_keys",
    "sniff_delimiter",
    "validate_response_objects",
]
