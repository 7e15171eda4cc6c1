import random
from pathlib import Path

import pytest
from sqlalchemy import text

from pipeline.db import migrate
from pipeline.db.base import alembic_config
from pipeline.erp.examples import approved_event
from pipeline.erp.store import ErpStore, Position, sink_engine

T = "docs.approved"


@pytest.fixture
def store(tmp_path: Path) -> ErpStore:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    migrate(url)
    return ErpStore(sink_engine(url), "g")


def state(store: ErpStore) -> dict[str, list[tuple]]:
    with store.engine.connect() as c:
        return {
            "docs": [
                tuple(r)
                for r in c.execute(
                    text(
                        "SELECT document_id, document_version, event_id, total, is_current "
                        "FROM erp_documents ORDER BY 1, 2"
                    )
                )
            ],
            "lines": [
                tuple(r)
                for r in c.execute(
                    text(
                        "SELECT document_id, document_version, line_no, amount FROM erp_document_lines "
                        "ORDER BY 1, 2, 3"
                    )
                )
            ],
        }


def test_insert_dedupe_and_offsets(store: ErpStore) -> None:
    evs = [approved_event(i) for i in range(20)]
    batch = [(Position(T, i % 2, i // 2), e) for i, e in enumerate(evs)]
    st = store.apply(batch)
    assert st.inserted == 20 and st.offsets == {(T, 0): 10, (T, 1): 10}
    again = store.apply(batch)
    assert again.duplicates == 20 and again.inserted == 0
    assert store.stored_offsets(T) == {0: 10, 1: 10}
    assert len(state(store)["docs"]) == 20


def test_offsets_never_move_backwards(store: ErpStore) -> None:
    store.apply([(Position(T, 0, 50), approved_event(1))])
    st = store.apply([(Position(T, 0, 3), approved_event(2))])  # a replay from the beginning
    assert st.offsets == {(T, 0): 51} and store.stored_offsets(T) == {0: 51}
    assert store.advance({(T, 0): 40}) == {} and store.advance({(T, 0): 55}) == {(T, 0): 55}
    assert store.stored_offsets(T) == {0: 55}


def test_dead_lettered_records_only_move_the_offset(store: ErpStore) -> None:
    st = store.apply([(Position(T, 2, 7), None)])
    assert st.skipped == 1 and store.stored_offsets(T) == {2: 8} and state(store)["docs"] == []


def test_lower_version_never_overwrites_higher(store: ErpStore) -> None:
    v1, v2, v3 = (approved_event(4, version=v) for v in (1, 2, 3))
    store.apply([(Position(T, 0, 0), v3)])
    st = store.apply([(Position(T, 0, 1), v1), (Position(T, 0, 2), v2)])
    assert st.superseded == 2
    docs = state(store)["docs"]
    assert [(d[1], d[4]) for d in docs] == [(1, False), (2, False), (3, True)]
    assert docs[2][3] == str(v3.payload.total)


def test_same_version_latest_event_wins_and_lines_are_replaced(store: ErpStore) -> None:
    old = approved_event(6, lines=3)
    new = approved_event(6, lines=1)
    new.event_id = "fixed-newer-event"
    new.created_at = old.created_at.replace(year=old.created_at.year + 1)
    store.apply([(Position(T, 0, 0), new)])
    st = store.apply([(Position(T, 0, 1), old)])
    assert st.stale == 1
    s = state(store)
    assert s["docs"][0][2] == "fixed-newer-event" and len(s["lines"]) == 1
    # and in the other arrival order the newer event replaces the row and its lines
    other = approved_event(7, lines=3)
    newer = approved_event(7, lines=1)
    newer.event_id, newer.created_at = "newer-7", other.created_at.replace(year=other.created_at.year + 1)
    store.apply([(Position(T, 0, 2), other)])
    assert store.apply([(Position(T, 0, 3), newer)]).updated == 1
    s = state(store)
    assert [d[2] for d in s["docs"] if d[0] == newer.document_id] == ["newer-7"]
    assert len([ln for ln in s["lines"] if ln[0] == newer.document_id]) == 1


def test_final_state_is_independent_of_arrival_order(tmp_path: Path) -> None:
    events = []
    for i in range(8):
        events += [approved_event(i, version=v) for v in range(1, 1 + i % 3 + 1)]
    events += events[:5]  # duplicates
    states = []
    for seed in range(4):
        url = f"sqlite:///{tmp_path / f'o{seed}.db'}"
        migrate(url)
        st = ErpStore(sink_engine(url), "g")
        shuffled = events[:]
        random.Random(seed).shuffle(shuffled)
        for k in range(0, len(shuffled), 3):  # several transactions
            st.apply([(Position(T, 0, k + j), e) for j, e in enumerate(shuffled[k : k + 3])])
        states.append(state(st))
    assert all(s == states[0] for s in states)
    assert sum(1 for d in states[0]["docs"] if d[4]) == 8


def test_migration_downgrade_and_upgrade(tmp_path: Path) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate(url)
    command.downgrade(alembic_config(url), "0002_review")
    migrate(url)
    st = ErpStore(sink_engine(url), "g")
    assert st.apply([(Position(T, 0, 0), approved_event(1))]).inserted == 1
