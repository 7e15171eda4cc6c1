"""Observability for every worker: Prometheus metrics, the /metrics exporter, consumer lag, and
structured JSON logs with correlation ids and redaction of document content and secrets."""

from pipeline.observability.exporter import MetricsServer, start_from_settings, start_metrics_server
from pipeline.observability.lag import consumer_lag, lag_from_offsets, partition_lag
from pipeline.observability.logging import bind_event, configure_logging, current_context, log_context
from pipeline.observability.metrics import METRICS, Metrics, exported_names
from pipeline.observability.redact import redact_value, scrub_text

__all__ = [
    "METRICS",
    "Metrics",
    "MetricsServer",
    "bind_event",
    "configure_logging",
    "consumer_lag",
    "current_context",
    "exported_names",
    "lag_from_offsets",
    "log_context",
    "partition_lag",
    "redact_value",
    "scrub_text",
    "start_from_settings",
    "start_metrics_server",
]
