"""SQL sink against a real broker: replays change nothing; kill -9 never loses or doubles a document."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from pipeline.config import Settings
from pipeline.erp.examples import approved_event
from pipeline.erp.sql_sink import SqlSink, SqlSinkOptions
from pipeline.topics import APPROVED, DLQ, STATUS
from tests.integration.erp.conftest import end_offsets, produce, produce_raw, read_all
from tests.kafka_harness import Pipeline

pytestmark = pytest.mark.kafka
ROOT = Path(__file__).resolve().parents[3]
TABLES = {
    "erp_documents": "document_id, document_version",
    "erp_document_lines": "document_id, document_version, line_no",
    "erp_applied_events": "event_id",
    "erp_offsets": "consumer_group, topic, partition",
}


def dump(url: str, tables: dict[str, str] = TABLES) -> dict[str, list[tuple]]:
    eng = create_engine(url)
    with eng.connect() as conn:
        out = {
            t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY {order}"))]
            for t, order in tables.items()
        }
    eng.dispose()
    return out


def test_replay_from_beginning_changes_nothing(erp_settings: Settings, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    events = [approved_event(i, salt="replay") for i in range(300)]
    corrections = [approved_event(i, version=2, salt="replay") for i in range(0, 300, 10)]
    late_v1 = [approved_event(i, salt="replay") for i in range(0, 300, 20)]  # re-sent v1 after v2
    ghosts = [approved_event(10_000 + i, salt="replay") for i in range(5)]
    produce(erp_settings, events + corrections + late_v1, chunk=40, abort_every=2, aborted=ghosts)
    produce_raw(erp_settings, [(b"not-a-doc", b"{not json"), (None, b'{"schema_version": "9.0"}')])

    opts = SqlSinkOptions(db_url=url, group="erp-sql-replay", batch_size=64, idle_exit_s=1.5)
    first = SqlSink(erp_settings, opts).run()
    before = dump(url)
    docs = before["erp_documents"]
    assert len(docs) == 300 + len(corrections)
    assert first.stats.inserted == 330 and first.stats.duplicates == len(late_v1)
    assert first.dead_lettered == 2
    ghost_ids = {g.document_id for g in ghosts}
    assert not ghost_ids & {d[0] for d in docs}, "an aborted transaction reached the ERP tables"
    current = {(d[0], d[1]) for d in dump(url, {"erp_documents": "document_id"})["erp_documents"]}
    assert len(current) == 330
    eng = create_engine(url)
    with eng.connect() as conn:
        cur = dict(
            conn.execute(
                text(
                    "SELECT document_id, max(document_version) FROM erp_documents "
                    "WHERE is_current GROUP BY document_id"
                )
            ).all()
        )
    eng.dispose()
    assert len(cur) == 300 and sum(1 for v in cur.values() if v == 2) == len(corrections)

    replay = SqlSink(
        erp_settings,
        SqlSinkOptions(
            db_url=url, group="erp-sql-replay", batch_size=64, from_beginning=True, idle_exit_s=1.5
        ),
    ).run()
    assert replay.stats.duplicates == len(events) + len(corrections) + len(late_v1)
    assert replay.stats.inserted == replay.stats.updated == replay.stats.superseded == 0
    assert dump(url) == before, "replaying the topic from the beginning changed the ERP tables"
    statuses = [json.loads(v) for v in read_all(erp_settings, erp_settings.topic(STATUS))]
    states = [s["payload"]["state"] for s in statuses if s["producer"]["stage"] == "erp-sql"]
    assert sorted(set(states)) == ["dead_lettered", "done"]
    assert states.count("done") == 330 and states.count("dead_lettered") == 2, "one status per effect"
    assert len(read_all(erp_settings, erp_settings.topic(DLQ))) == 2, "a replay dead-lettered again"

    # A different consumer group (no stored offsets at all) replays everything: still no change.
    SqlSink(erp_settings, SqlSinkOptions(db_url=url, group="erp-sql-other", idle_exit_s=1.5)).run()
    rows = {t: o for t, o in TABLES.items() if t != "erp_offsets"}
    assert dump(url, rows) == {t: before[t] for t in rows}
    letters = read_all(erp_settings, erp_settings.topic(DLQ))
    assert len({json.loads(v)["event_id"] for v in letters}) == 2  # another group: same dead-letter ids


def _start_sink(env: Pipeline, url: str) -> subprocess.Popen[bytes]:
    return env.spawn(
        "erp",
        "sql",
        "--db",
        url,
        "--group",
        "erp-sql-kill",
        "--batch",
        "40",
        "--instance-id",
        "erp-sql-kill-0",
        log_name="erp-sql",
    )


def _applied(url: str) -> int:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM erp_applied_events")).scalar() or 0)
    except Exception:  # tables not migrated yet
        return 0
    finally:
        eng.dispose()


def _stored_offsets(url: str, group: str) -> dict[int, int]:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return {
                int(p): int(o)
                for p, o in conn.execute(
                    text("SELECT partition, next_offset FROM erp_offsets WHERE consumer_group = :g"),
                    {"g": group},
                )
            }
    except Exception:
        return {}
    finally:
        eng.dispose()


@pytest.mark.slow
def test_kill_9_during_2000_documents_applies_each_exactly_once(
    pipeline_env: Pipeline, erp_settings: Settings, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    rng = random.Random(8)
    n_docs = 2000
    events = [approved_event(i, salt="kill") for i in range(n_docs)]
    resent = [events[i] for i in rng.sample(range(n_docs), 150)]  # upstream re-sends (same event ids)
    stream = events + resent
    rng.shuffle(stream)

    producer = threading.Thread(
        target=lambda: [
            (produce(erp_settings, stream[i : i + 200], chunk=25), time.sleep(0.4))
            for i in range(0, len(stream), 200)
        ]
    )
    producer.start()
    kills = 0
    proc = _start_sink(pipeline_env, url)
    time.sleep(rng.uniform(0.2, 1.5))  # an extra kill while starting (migration, group join, first fetch)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc = _start_sink(pipeline_env, url)
    try:
        while kills < 4:
            seen = _applied(url)
            deadline = time.monotonic() + 60
            while _applied(url) <= seen:  # wait until this incarnation is applying batches
                pipeline_env.check_alive()
                assert time.monotonic() < deadline, "sink made no progress"
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 0.6))
            if _applied(url) >= n_docs:
                break
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
            proc = _start_sink(pipeline_env, url)
        producer.join(120)
        ends = end_offsets(erp_settings, erp_settings.topic(APPROVED))
        deadline = time.monotonic() + 90
        while _stored_offsets(url, "erp-sql-kill") != ends:
            pipeline_env.check_alive()
            assert time.monotonic() < deadline, (
                f"not caught up: {_stored_offsets(url, 'erp-sql-kill')} vs {ends}"
            )
            time.sleep(0.2)
    finally:
        pipeline_env.stop_all()
        producer.join(5)

    assert kills >= 3, f"only {kills} kills happened before the sink caught up"
    eng = create_engine(url)
    with eng.connect() as conn:
        q = lambda sql: conn.execute(text(sql)).scalar()  # noqa: E731
        assert q("SELECT count(*) FROM erp_documents") == n_docs
        assert q("SELECT count(DISTINCT document_id) FROM erp_documents") == n_docs
        assert q("SELECT count(*) FROM erp_applied_events") == n_docs
        assert q("SELECT count(*) FROM erp_applied_events WHERE effect != 'inserted'") == 0
        assert q("SELECT count(*) FROM erp_document_lines") == sum(len(e.payload.line_items) for e in events)
        assert (
            q(
                "SELECT count(*) FROM (SELECT document_id, document_version, line_no FROM erp_document_lines "
                "GROUP BY 1, 2, 3 HAVING count(*) > 1) AS d"
            )
            == 0
        )
        totals = dict(conn.execute(text("SELECT document_id, total FROM erp_documents")).all())
    eng.dispose()
    assert all(str(e.payload.total) == totals[e.document_id] for e in events)
