"""Connect to the configured cluster once and say clearly what is wrong: credentials, TLS or reachability.

librdkafka retries silently and reports authentication failures only through its error callback;
a worker that merely times out leaves the operator guessing. This probe collects those callback
errors and classifies them. Messages name the user, mechanism and address, never a secret.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from pipeline.config import Settings


class KafkaConnectError(RuntimeError):
    """The cluster cannot be used with these settings; `kind` is auth | tls | unreachable | config."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ProbeResult:
    bootstrap: str
    protocol: str
    mechanism: str | None
    brokers: list[str]
    topics: int


_AUTH_CODES = {"_AUTHENTICATION", "SASL_AUTHENTICATION_FAILED", "TOPIC_AUTHORIZATION_FAILED",
               "CLUSTER_AUTHORIZATION_FAILED"}


def _describe(err: Any) -> tuple[str, str]:
    if hasattr(err, "name") and hasattr(err, "str"):
        return str(err.name()), str(err.str())
    return "", str(err)


def classify(errors: list[Any]) -> tuple[str, str] | None:
    """Pick the most telling (kind, reason) from librdkafka errors and log lines, or None."""
    described = [(name, _trim(text)) for name, text in map(_describe, errors)]
    for name, text in described:
        if name in _AUTH_CODES or "authentication" in text.lower():
            return "auth", text
    for name, text in described:
        low = text.lower()
        if name == "_SSL" or "ssl handshake" in low or "certificate" in low or "tls" in low:
            return "tls", text
    if described:
        return "unreachable", described[-1][1]
    return None


class _Collect(logging.Handler):
    """Receives librdkafka's log lines (the only place it explains SSL and SASL failures)."""

    def __init__(self, sink: list[Any]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.sink.append(record.getMessage())


def probe(settings: Settings, timeout: float = 15.0) -> ProbeResult:
    """Fetch cluster metadata with exactly the settings workers use; raise KafkaConnectError if that fails."""
    from confluent_kafka import KafkaException, Producer

    sec = settings.kafka_security
    who = f"user {sec.sasl_username!r} " if sec.sasl_username else ""
    mech = f"/{sec.sasl_mechanism}" if sec.sasl_mechanism else ""
    where = f"{settings.bootstrap_servers} ({sec.protocol}{mech})"
    try:
        conf = settings.kafka_config()
    except ValueError as exc:
        raise KafkaConnectError("config", f"Kafka security settings: {exc}") from None
    errors: list[Any] = []
    rdlog = logging.getLogger(f"docpipe.kafka_check.{id(errors)}")
    rdlog.propagate = False
    rdlog.addHandler(_Collect(errors))
    conf.update({"error_cb": errors.append, "logger": rdlog, "client.id": "docpipe-kafka-check"})
    try:
        client = Producer(conf)
    except (KafkaException, ValueError) as exc:  # librdkafka rejected a property (e.g. unreadable CA file)
        raise KafkaConnectError("config", f"Kafka client configuration rejected: {exc}") from None
    deadline = time.monotonic() + timeout
    md = None
    while md is None and time.monotonic() < deadline:
        try:
            md = client.list_topics(timeout=min(1.0, max(deadline - time.monotonic(), 0.1)))
        except KafkaException as exc:
            errors.append(exc.args[0])
        client.poll(0)  # serves error_cb and the log queue
        found = classify(errors)
        if found and found[0] in ("auth", "tls"):
            break
    client.poll(0)
    found = classify(errors)
    if md is None or (found and found[0] in ("auth", "tls")):
        kind, reason = found or ("unreachable", "no metadata")
        label = {"auth": f"authentication failed for {who}at {where}",
                 "tls": f"TLS handshake with {where} failed",
                 "unreachable": f"cannot reach Kafka at {where}"}[kind]
        raise KafkaConnectError(kind, f"{label}: {_trim(reason)}")
    return ProbeResult(settings.bootstrap_servers, sec.protocol, sec.sasl_mechanism,
                       sorted(f"{b.host}:{b.port}" for b in md.brokers.values()), len(md.topics))


def _trim(reason: str) -> str:
    """librdkafka log lines carry a thread/broker prefix; keep the explanation."""
    for marker in ("SASL authentication error:", "SSL handshake failed:", "Connect to"):
        idx = reason.find(marker)
        if idx >= 0:
            return reason[idx:].strip()
    return reason.strip()
