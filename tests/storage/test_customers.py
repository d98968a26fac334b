"""Storing customer records (storage.customers) on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.ingest import read_customers
from storage.customers import CustomerImportResult, upsert_customers
from storage.models import Customer

TEAM = "T0TEST"
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "customers_sample.csv"


def frame_of(source: Path | str) -> pd.DataFrame:
    stream = source if isinstance(source, Path) else io.BytesIO(source.encode())
    frames = []
    for frame, rejected in read_customers(stream):
        assert rejected == []
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def stored(engine: Engine, team: str = TEAM) -> dict[str, Customer]:
    with Session(engine) as session:
        rows = session.exec(select(Customer).where(Customer.team_id == team))
        return {c.customer_id: c for c in rows}


def test_sample_inserts_then_reimport_changes_nothing(engine: Engine) -> None:
    frame = frame_of(SAMPLE)
    assert upsert_customers(engine, team_id=TEAM, frame=frame) == CustomerImportResult(6, 0, 0)
    before = stored(engine)
    assert upsert_customers(engine, team_id=TEAM, frame=frame) == CustomerImportResult(0, 0, 6)
    after = stored(engine)
    assert {k: v.updated_at for k, v in after.items()} == {
        k: v.updated_at for k, v in before.items()
    }
    kari = after["C1001"]
    assert kari.name == "Kari Nordmann"
    assert kari.started_at == date(2023, 1, 15) and kari.ended_at is None
    assert kari.annual_revenue == Decimal("1000.00")
    assert kari.acquisition_cost == Decimal("1000.00")
    assert after["C1003"].ended_at == date(2026, 3, 31)
    assert after["C1004"].annual_revenue == Decimal("36500.00")
    assert after["C1005"].annual_revenue == Decimal("1250000.00")
    assert after["C1006"].annual_revenue == Decimal("900.50")
    assert after["C1006"].started_at == date(2025, 2, 15)


def test_changes_update_and_missing_columns_stay(engine: Engine) -> None:
    upsert_customers(engine, team_id=TEAM, frame=frame_of(SAMPLE))
    changes = (
        "customer_id,started_at,ended_at,segment\n"
        "C1001,2023-01-15,2026-10-31,Private\n"  # churned
        "C1003,2021-03-01,,SMB\n"  # came back: ended_at cleared
        "C1004,2024-09-10,,SMB\n"  # unchanged
        "C2000,2026-11-01,,Enterprise\n"  # new
    )
    result = upsert_customers(engine, team_id=TEAM, frame=frame_of(changes))
    assert result == CustomerImportResult(inserted=1, updated=2, unchanged=1)
    after = stored(engine)
    assert after["C1001"].ended_at == date(2026, 10, 31)
    assert after["C1003"].ended_at is None
    # columns the second file did not have keep their values
    assert after["C1001"].annual_revenue == Decimal("1000.00")
    assert after["C1001"].name == "Kari Nordmann"
    assert after["C2000"].annual_revenue is None
    assert len(after) == 7


def test_teams_are_kept_apart(engine: Engine) -> None:
    frame = frame_of(SAMPLE)
    upsert_customers(engine, team_id=TEAM, frame=frame)
    assert upsert_customers(engine, team_id="T0OTHER", frame=frame).inserted == 6
    assert len(stored(engine)) == 6 and len(stored(engine, "T0OTHER")) == 6


def test_repeated_customer_in_a_hand_built_frame_last_wins(engine: Engine) -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["C1", "C1"],
            "started_at": [date(2024, 1, 1), date(2024, 2, 1)],
            "annual_revenue": [Decimal("10"), Decimal("20.5")],
        }
    )
    assert upsert_customers(engine, team_id=TEAM, frame=frame) == CustomerImportResult(1, 0, 0)
    c1 = stored(engine)["C1"]
    assert (c1.started_at, c1.annual_revenue) == (date(2024, 2, 1), Decimal("20.50"))


def test_many_customers_in_one_frame(engine: Engine) -> None:
    n = 2_500  # more than one lookup batch
    text = "customer_id,started_at,annual_revenue\n" + "".join(
        f"C{i},2024-01-01,{i}\n" for i in range(n)
    )
    assert upsert_customers(engine, team_id=TEAM, frame=frame_of(text)).inserted == n
    changed = text.replace("C7,2024-01-01,7", "C7,2024-01-01,8")
    result = upsert_customers(engine, team_id=TEAM, frame=frame_of(changed))
    assert result == CustomerImportResult(0, 1, n - 1)
    assert stored(engine)["C7"].annual_revenue == Decimal("8.00")


def test_empty_frame(engine: Engine) -> None:
    empty = frame_of(SAMPLE).iloc[:0]
    assert upsert_customers(engine, team_id=TEAM, frame=empty) == CustomerImportResult(0, 0, 0)
