"""The SQL sink's metrics on a real broker: what the dashboard shows matches what the tables hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from pipeline.config import Settings
from pipeline.erp.examples import approved_event
from pipeline.erp.sql_sink import SqlSink, SqlSinkOptions
from pipeline.observability import Metrics
from tests.integration.erp.conftest import produce, produce_raw
from tests.metrics_support import val

pytestmark = pytest.mark.kafka


def test_sql_sink_metrics_match_its_work(erp_settings: Settings, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    events = [approved_event(i, salt="metrics") for i in range(40)]
    produce(erp_settings, events + events[:5], chunk=15)  # 5 re-sent: duplicates, applied once
    produce_raw(erp_settings, [(b"bad", b"{not json")])
    opts = SqlSinkOptions(db_url=url, group="erp-sql-metrics", batch_size=16, idle_exit_s=1.5)
    m = Metrics(CollectorRegistry())
    res = SqlSink(erp_settings, opts, metrics=m).run()

    assert res.stats.inserted == 40 and res.stats.duplicates == 5 and res.dead_lettered == 1
    assert val(m, "docpipe_documents_in_total", stage="erp-sql") == 46
    assert val(m, "docpipe_sink_delivered_total", sink="erp-sql", effect="inserted") == 40
    assert val(m, "docpipe_sink_delivered_total", sink="erp-sql", effect="duplicate") == 5
    assert val(m, "docpipe_dlq_total", stage="erp-sql", error_kind="undecodable") == 1
    assert val(m, "docpipe_sink_latency_seconds_count", sink="erp-sql") == res.batches
    assert val(m, "docpipe_end_to_end_latency_seconds_count", stage="erp-sql") == 40
