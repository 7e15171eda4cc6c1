"""The SQL sink's database side: apply a batch of approved events and its offsets in ONE transaction.

Why this gives "exactly once in effect":
- rows and the consumed position (erp_offsets) commit or roll back together, so after any crash
  the sink resumes exactly after the last batch whose rows are in the tables;
- every event is recorded by event_id (erp_applied_events) in that transaction, so a replay or a
  re-delivered batch is recognised and skipped without touching the rows;
- the final state does not depend on arrival order: per (document, version) the event with the
  greatest (created_at, event_id) wins, and `is_current` marks the highest version, so a lower
  document_version never overwrites a higher one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, delete, event, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from pipeline.contracts import ApprovedDocument, Envelope
from pipeline.db import make_engine
from pipeline.erp import mapping
from pipeline.erp.tables import erp_applied_events, erp_document_lines, erp_documents, erp_offsets

CHUNK = 500  # bound on IN (...) list sizes


@dataclass(frozen=True)
class Position:
    topic: str
    partition: int
    offset: int


@dataclass
class ApplyStats:
    inserted: int = 0
    updated: int = 0
    superseded: int = 0
    stale: int = 0
    duplicates: int = 0
    skipped: int = 0  # dead-lettered or otherwise not applicable; only the offset moves
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    effects: dict[str, str] = field(default_factory=dict)  # event id -> effect, for events applied now

    def add(self, other: ApplyStats) -> None:
        for name in ("inserted", "updated", "superseded", "stale", "duplicates", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.offsets.update(other.offsets)  # effects are per batch only (not accumulated)

    def as_dict(self) -> dict[str, int]:
        return {n: getattr(self, n) for n in ("inserted", "updated", "superseded", "stale", "duplicates", "skipped")}


def sink_engine(url: str) -> Engine:
    """Engine for the sink. On SQLite every transaction is BEGIN IMMEDIATE: the write lock is taken
    up front, so two sink processes serialise instead of failing on a read->write lock upgrade."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _no_implicit_tx(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class ErpStore:
    def __init__(self, engine: Engine, group: str) -> None:
        self.engine = engine
        self.group = group

    def stored_offsets(self, topic: str) -> dict[int, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(erp_offsets.c.partition, erp_offsets.c.next_offset).where(
                    erp_offsets.c.consumer_group == self.group, erp_offsets.c.topic == topic
                )
            ).all()
        return {int(p): int(o) for p, o in rows}

    def apply(self, batch: Sequence[tuple[Position, Envelope[ApprovedDocument] | None]]) -> ApplyStats:
        """Apply events (None = consumed but not applicable, e.g. dead-lettered) and advance offsets."""
        stats = ApplyStats()
        if not batch:
            return stats
        with self.engine.begin() as conn:
            tps = sorted({(pos.topic, pos.partition) for pos, _ in batch})
            stored = self._lock_offsets(conn, tps)
            stats.skipped = sum(1 for _, env in batch if env is None)
            self._apply_events(conn, [(pos, env) for pos, env in batch if env is not None], stats)
            now = _now()
            for tp in tps:
                nxt = max(pos.offset for pos, _ in batch if (pos.topic, pos.partition) == tp) + 1
                if nxt > stored[tp]:  # offsets only move forward (a replay never rewinds them)
                    conn.execute(
                        update(erp_offsets)
                        .where(
                            erp_offsets.c.consumer_group == self.group,
                            erp_offsets.c.topic == tp[0],
                            erp_offsets.c.partition == tp[1],
                        )
                        .values(next_offset=nxt, updated_at=now)
                    )
                    stats.offsets[tp] = nxt
                else:
                    stats.offsets[tp] = stored[tp]
        return stats

    def advance(self, positions: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        """Move stored offsets forward to consumer positions reached without records (transaction
        markers, aborted records), so a caught-up sink shows zero lag. Never moves backwards."""
        moved: dict[tuple[str, int], int] = {}
        if not positions:
            return moved
        with self.engine.begin() as conn:
            stored = self._lock_offsets(conn, sorted(positions))
            for (topic, part), pos in positions.items():
                if pos > stored[(topic, part)]:
                    conn.execute(
                        update(erp_offsets)
                        .where(
                            erp_offsets.c.consumer_group == self.group,
                            erp_offsets.c.topic == topic,
                            erp_offsets.c.partition == part,
                        )
                        .values(next_offset=pos, updated_at=_now())
                    )
                    moved[(topic, part)] = pos
        return moved

    def _lock_offsets(self, conn: Connection, tps: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Lock this group's offset rows (sorted, so concurrent sinks cannot deadlock).

        All events of a document share one partition, so this lock also serialises any two sink
        instances (e.g. a zombie after a rebalance) that touch the same document.
        """
        out: dict[tuple[str, int], int] = {}
        for topic, part in tps:
            cond = and_(
                erp_offsets.c.consumer_group == self.group,
                erp_offsets.c.topic == topic,
                erp_offsets.c.partition == part,
            )
            row = conn.execute(select(erp_offsets.c.next_offset).where(cond).with_for_update()).first()
            if row is None:
                conn.execute(
                    insert(erp_offsets).values(
                        consumer_group=self.group,
                        topic=topic,
                        partition=part,
                        next_offset=0,
                        updated_at=_now(),
                    )
                )
                out[(topic, part)] = 0
            else:
                out[(topic, part)] = int(row[0])
        return out

    def _apply_events(
        self, conn: Connection, events: list[tuple[Position, Envelope[ApprovedDocument]]], stats: ApplyStats
    ) -> None:
        """Decide every event's effect in memory against the rows read once, then write in bulk."""
        if not events:
            return
        seen = self._existing_event_ids(conn, [env.event_id for _, env in events])
        versions = self._existing_versions(conn, sorted({env.document_id for _, env in events}))
        inserts: dict[tuple[str, int], Envelope[ApprovedDocument]] = {}
        updates: dict[tuple[str, int], Envelope[ApprovedDocument]] = {}
        applied: list[dict[str, Any]] = []
        touched: set[str] = set()
        now = _now()
        for pos, env in events:
            if env.event_id in seen:
                stats.duplicates += 1
                continue
            seen.add(env.event_id)
            doc_id, version = env.document_id, env.payload.document_version
            known = versions.setdefault(doc_id, {})
            order_key = (mapping.utc_naive(env.created_at), env.event_id)
            current = known.get(version)
            if current is None:
                effect = "superseded" if any(v > version for v in known) else "inserted"
                inserts[(doc_id, version)] = env
            elif order_key > current:
                effect = "updated"
                (inserts if (doc_id, version) in inserts else updates)[(doc_id, version)] = env
            else:
                effect = "stale"  # an older event of a version already stored: recorded, rows untouched
            if effect != "stale":
                known[version] = order_key
                touched.add(doc_id)
            setattr(stats, effect, getattr(stats, effect) + 1)
            stats.effects[env.event_id] = effect
            applied.append(
                {
                    "event_id": env.event_id,
                    "document_id": doc_id,
                    "document_version": version,
                    "topic": pos.topic,
                    "partition": pos.partition,
                    "offset": pos.offset,
                    "effect": effect,
                    "applied_at": now,
                }
            )
        if inserts:
            rows = [
                dict(mapping.document_row(env), applied_at=now, is_current=ver == max(versions[doc]))
                for (doc, ver), env in inserts.items()
            ]
            conn.execute(insert(erp_documents), rows)
            lines = [ln for env in inserts.values() for ln in mapping.line_rows(env)]
            if lines:
                conn.execute(insert(erp_document_lines), lines)
        for env in updates.values():
            self._rewrite(conn, env, now)
        for doc_id in sorted(touched):
            if len(versions[doc_id]) > 1:
                self._refresh_current(conn, doc_id)
        if applied:
            conn.execute(insert(erp_applied_events), applied)

    @staticmethod
    def _existing_event_ids(conn: Connection, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), CHUNK):
            found.update(
                conn.execute(
                    select(erp_applied_events.c.event_id).where(erp_applied_events.c.event_id.in_(ids[i : i + CHUNK]))
                ).scalars()
            )
        return found

    @staticmethod
    def _existing_versions(conn: Connection, doc_ids: list[str]) -> dict[str, dict[int, tuple[datetime, str]]]:
        out: dict[str, dict[int, tuple[datetime, str]]] = {}
        cols = (
            erp_documents.c.document_id,
            erp_documents.c.document_version,
            erp_documents.c.event_created_at,
            erp_documents.c.event_id,
        )
        for i in range(0, len(doc_ids), CHUNK):
            for doc, ver, created, ev in conn.execute(
                select(*cols).where(erp_documents.c.document_id.in_(doc_ids[i : i + CHUNK]))
            ):
                out.setdefault(doc, {})[int(ver)] = (mapping.utc_naive(created), ev)
        return out

    @staticmethod
    def _rewrite(conn: Connection, env: Envelope[ApprovedDocument], now: datetime) -> None:
        """A newer event of a stored version replaces that version's row and lines."""
        row = mapping.document_row(env)
        doc_id, version = row.pop("document_id"), row.pop("document_version")
        conn.execute(
            update(erp_documents)
            .where(
                erp_documents.c.document_id == doc_id,
                erp_documents.c.document_version == version,
            )
            .values(**row, applied_at=now)
        )
        conn.execute(
            delete(erp_document_lines).where(
                erp_document_lines.c.document_id == doc_id, erp_document_lines.c.document_version == version
            )
        )
        lines = mapping.line_rows(env)
        if lines:
            conn.execute(insert(erp_document_lines), lines)

    @staticmethod
    def _refresh_current(conn: Connection, doc_id: str) -> None:
        top = (
            select(func.max(erp_documents.c.document_version))
            .where(erp_documents.c.document_id == doc_id)
            .scalar_subquery()
        )
        conn.execute(
            update(erp_documents)
            .where(erp_documents.c.document_id == doc_id)
            .values(is_current=case((erp_documents.c.document_version == top, True), else_=False))
        )
