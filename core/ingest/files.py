"""A file, CSV or JSON, as chunks of rows in the product's columns (values not checked yet)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO

from core.ingest.columns import Spec
from core.ingest.csv_reader import csv_chunks
from core.ingest.decoding import binary, open_text
from core.ingest.json_reader import json_chunks
from core.ingest.records import Chunk, FileError


def read_chunks(source: Path | str | IO[bytes], spec: Spec, chunk_rows: int) -> Iterator[Chunk]:
    """The rows of a CSV or JSON file (told apart by its first characters), chunk by chunk."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    with binary(source) as stream:
        try:
            text = open_text(stream)
        except OSError as exc:
            raise FileError(f"cannot read the file: {exc}") from None
        if text.kind == "json":
            yield from json_chunks(text, spec, chunk_rows)
        else:
            yield from csv_chunks(text, spec, chunk_rows)
