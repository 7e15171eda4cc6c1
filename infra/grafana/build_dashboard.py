"""Dashboard as code: writes infra/grafana/dashboards/docpipe.json from the panel list below.

    python infra/grafana/build_dashboard.py          (re)write the JSON
    python infra/grafana/build_dashboard.py --check  exit 1 if the committed JSON is stale

Every expression uses only metric names from pipeline/observability/metrics.py (a unit test checks).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards" / "docpipe.json"
DS = {"type": "prometheus", "uid": "${datasource}"}
STAGE = 'stage=~"$stage"'


def target(expr: str, legend: str, fmt: str = "time_series", instant: bool = False) -> dict[str, Any]:
    return {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": "A", "range": not instant,
            "instant": instant, "format": fmt}


def panel(title: str, targets: list[dict[str, Any]], *, kind: str = "timeseries", unit: str = "short",
          w: int = 12, h: int = 8, description: str = "", **options: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "type": kind, "title": title, "description": description, "datasource": DS,
        "gridPos": {"w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [dict(t, refId=chr(ord("A") + i)) for i, t in enumerate(targets)],
        "options": options or {},
    }
    return p


def row(title: str) -> dict[str, Any]:
    return {"type": "row", "title": title, "collapsed": False, "gridPos": {"w": 24, "h": 1}, "panels": []}


def q(quantile: float, metric: str, by: str = "stage", window: str = "5m", sel: str = STAGE) -> str:
    return f"histogram_quantile({quantile}, sum by (le, {by}) (rate({metric}_bucket{{{sel}}}[{window}])))"


PANELS: list[dict[str, Any]] = [
    row("Flow"),
    panel("Straight-through rate (1h)", [target(
        'sum(increase(docpipe_decisions_total{outcome="auto_approved"}[1h])) / '
        "clamp_min(sum(increase(docpipe_decisions_total[1h])), 1)", "straight-through", instant=True)],
        kind="stat", unit="percentunit", w=6, h=5,
        description="Share of gate decisions approved without a person, all instances."),
    panel("Documents decided (1h)",
          [target("sum(increase(docpipe_decisions_total[1h]))", "decided", instant=True)],
          kind="stat", w=6, h=5),
    panel("Dead-lettered (24h)", [target("sum(increase(docpipe_dlq_total[24h]))", "DLQ", instant=True)],
          kind="stat", w=6, h=5, description="Poison messages; `docpipe dlq list` shows them."),
    panel("Workers exporting", [target("count by (stage) (docpipe_worker_info)", "{{stage}}", instant=True)],
          kind="stat", w=6, h=5),
    panel("Consumed per stage", [target(f"sum by (stage) (rate(docpipe_documents_in_total{{{STAGE}}}[5m]))",
                                        "{{stage}}")], unit="reqps"),
    panel("Produced per topic", [target(f"sum by (topic) (rate(docpipe_documents_out_total{{{STAGE}}}[5m]))",
                                        "{{topic}}")], unit="reqps"),
    panel("Consumer lag per stage",
          [target(f"sum by (stage) (max by (stage, topic, partition) (docpipe_consumer_lag{{{STAGE}}}))",
                  "{{stage}}")],
          description="Messages not yet handled by the group (every replica reports the group-wide "
                      "value, hence max by partition); KEDA scales workers on the same quantity."),
    panel("Consumer lag per partition", [target(
        f"max by (stage, topic, partition) (docpipe_consumer_lag{{{STAGE}}})", "{{stage}} p{{partition}}")]),
    row("Latency"),
    panel("Stage handling time p50 / p95", [
        target(q(0.5, "docpipe_stage_latency_seconds"), "p50 {{stage}}"),
        target(q(0.95, "docpipe_stage_latency_seconds"), "p95 {{stage}}")], unit="s",
        description="Per message: batch time divided by batch size."),
    panel("Submit-to-stage latency p50 / p95", [
        target(q(0.5, "docpipe_end_to_end_latency_seconds"), "p50 {{stage}}"),
        target(q(0.95, "docpipe_end_to_end_latency_seconds"), "p95 {{stage}}")], unit="s",
        description="From submission to this stage's output; gate = submit-to-decision."),
    panel("Batch time p95", [target(q(0.95, "docpipe_batch_latency_seconds"), "{{stage}}")], unit="s"),
    panel("Mean batch size", [target(
        f"sum by (stage) (rate(docpipe_batch_size_sum{{{STAGE}}}[5m])) / "
        f"clamp_min(sum by (stage) (rate(docpipe_batch_size_count{{{STAGE}}}[5m])), 1e-9)", "{{stage}}")]),
    row("Errors"),
    panel("Errors by kind", [target(f"sum by (stage, kind) (rate(docpipe_errors_total{{{STAGE}}}[5m]))",
                                    "{{stage}} {{kind}}")], unit="reqps"),
    panel("Dead letters by cause (1h)", [target(
        f"sum by (stage, error_kind) (increase(docpipe_dlq_total{{{STAGE}}}[1h]))",
        "{{stage}} {{error_kind}}", instant=True)],
        kind="bargauge", displayMode="basic", orientation="horizontal"),
    panel("Duplicates skipped", [target(
        f"sum by (stage) (rate(docpipe_duplicates_skipped_total{{{STAGE}}}[5m]))", "{{stage}}")],
        unit="reqps",
        description="Redeliveries recognised by the idempotency ledger (after restarts/rebalances)."),
    row("Quality"),
    panel("Decisions by outcome (1h)", [target("sum by (outcome) (increase(docpipe_decisions_total[1h]))",
                                               "{{outcome}}", instant=True)],
          kind="bargauge", displayMode="basic", orientation="horizontal"),
    panel("Straight-through rate by kind", [target(
        'sum by (kind) (rate(docpipe_decisions_total{outcome="auto_approved"}[1h])) / '
        "clamp_min(sum by (kind) (rate(docpipe_decisions_total[1h])), 1e-9)", "{{kind}}"),
        target("avg(docpipe_straight_through_ratio)", "recent window (per instance avg)")],
        unit="percentunit"),
    panel("Field confidence distribution (extract)", [target(
        'sum by (le) (increase(docpipe_field_confidence_bucket{stage="extract"}[10m]))', "{{le}}",
        "heatmap")],
        kind="heatmap", w=12, calculate=False, yAxis={"unit": "percentunit"}),
    panel("Share of fields below 0.8 confidence", [target(
        'sum by (field) (rate(docpipe_field_confidence_bucket{stage="extract",le="0.8"}[30m])) / '
        'clamp_min(sum by (field) (rate(docpipe_field_confidence_count{stage="extract"}[30m])), 1e-9)',
        "{{field}}")], unit="percentunit"),
    panel("Weakest field per document, p10 / p50", [
        target(q(0.1, "docpipe_document_confidence", by="kind", window="30m", sel='stage="extract"'),
               "p10 {{kind}}"),
        target(q(0.5, "docpipe_document_confidence", by="kind", window="30m", sel='stage="extract"'),
               "p50 {{kind}}")], unit="percentunit",
        description="What the gate keys on: a drop here precedes a straight-through drop."),
]


SINK = 'stage=~"erp-.*"'
PANELS += [
    row("ERP sinks"),
    panel("Delivered to the ERP by effect", [target(
        "sum by (sink, effect) (rate(docpipe_sink_delivered_total[5m]))", "{{sink}} {{effect}}")],
        unit="reqps", description="SQL: inserted/updated/superseded/stale rows, duplicate = event already "
                                  "applied (a replay); webhook: delivered."),
    panel("Submit-to-ERP latency p50 / p95", [
        target(q(0.5, "docpipe_end_to_end_latency_seconds", sel=SINK), "p50 {{stage}}"),
        target(q(0.95, "docpipe_end_to_end_latency_seconds", sel=SINK), "p95 {{stage}}")], unit="s",
        description="From document submission to its rows in the ERP tables / its webhook delivery."),
    panel("Sink batch / delivery time p95", [target(
        "histogram_quantile(0.95, sum by (le, sink) (rate(docpipe_sink_latency_seconds_bucket[5m])))",
        "{{sink}}")], unit="s"),
    panel("Sink retries and dead letters", [
        target("sum by (sink, cause) (rate(docpipe_sink_retries_total[5m]))", "retry {{sink}} {{cause}}"),
        target(f"sum by (stage, error_kind) (rate(docpipe_dlq_total{{{SINK}}}[5m]))",
               "DLQ {{stage}} {{error_kind}}")], unit="reqps",
        description="database: a transaction rolled back and retried (nothing written); http: a webhook "
                    "re-sent. A steady rate points at the ERP database or endpoint."),
    panel("Sink backlog (consumer lag)", [target(
        f"sum by (stage) (max by (stage, topic, partition) (docpipe_consumer_lag{{{SINK}}}))", "{{stage}}")]),
    row("Review"),
    panel("Open exceptions by reason", [target("max by (reason) (docpipe_review_open_items) > 0", "{{reason}}")],
          description="The review queue depth (every review replica reports the same value)."),
    panel("Queue health", [
        target("max(docpipe_review_overdue_items)", "past SLA"),
        target("max(docpipe_review_claimed_items)", "claimed"),
        target("max(docpipe_outbox_pending)", "outbox pending")]),
    panel("Oldest open item / oldest unpublished decision", [
        target("max(docpipe_review_oldest_open_age_seconds)", "oldest open item"),
        target("max(docpipe_outbox_oldest_pending_age_seconds)", "oldest outbox event")], unit="s",
        description="A growing outbox age means the relay is down or cannot reach Kafka."),
    panel("Reviewer actions", [target(
        "sum by (action, result) (rate(docpipe_review_actions_total[5m]))", "{{action}} {{result}}")],
        unit="reqps", description="claims, edits and decisions; refused = conflict, validation or dual "
                                  "control said no."),
    panel("Review app latency p95 by route", [target(
        'histogram_quantile(0.95, sum by (le, route) (rate(docpipe_http_request_duration_seconds_bucket'
        '{app="review"}[5m])))', "{{route}}")], unit="s"),
    panel("Relay published / retries", [
        target("sum by (topic) (rate(docpipe_relay_published_total[5m]))", "{{topic}}"),
        target("sum by (cause) (rate(docpipe_relay_retries_total[5m]))", "retry {{cause}}")], unit="reqps"),
]


def layout(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flow layout on Grafana's 24-column grid; ids in order."""
    x = y = row_h = 0
    out = []
    for i, p in enumerate(panels, start=1):
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if p["type"] == "row" or x + w > 24:
            y += row_h
            x, row_h = 0, 0
        p = dict(p, id=i, gridPos={"x": x, "y": y, "w": w, "h": h})
        out.append(p)
        if p["type"] == "row":
            y += h
        else:
            x += w
            row_h = max(row_h, h)
    return out


def dashboard() -> dict[str, Any]:
    return {
        "uid": "docpipe-overview",
        "title": "docpipe — pipeline overview",
        "description": "Throughput, lag, latency, errors and extraction quality of every docpipe stage, "
                       "the ERP sinks and the review queue.",
        "tags": ["docpipe"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source",
             "current": {"text": "Prometheus", "value": "docpipe-prometheus"}},
            {"name": "stage", "type": "query", "datasource": DS, "label": "Stage", "multi": True,
             "includeAll": True, "allValue": ".*", "current": {"text": "All", "value": "$__all"},
             "query": {"query": "label_values(docpipe_documents_in_total, stage)", "refId": "stage"},
             "definition": "label_values(docpipe_documents_in_total, stage)", "refresh": 2, "sort": 1},
        ]},
        "annotations": {"list": []},
        "panels": layout(PANELS),
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: run python {Path(__file__).name}", file=sys.stderr)
            sys.exit(1)
        sys.exit(0)
    OUT.write_text(text)
    print(f"wrote {OUT}")
