"""Structured logs: JSON lines, correlation ids from context, and nothing personal or secret in them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import BaseModel, ValidationError

from pipeline.config import KafkaSecurity, Settings
from pipeline.observability import bind_event, configure_logging, log_context, redact_value, scrub_text
from pipeline.observability.redact import REDACTED

IBAN = "DE89370400440532013000"
CARD = "4111 1111 1111 1111"
DOC_ID = "9f" * 32


@pytest.fixture
def logs() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = configure_logging("DEBUG", json=True, stream=stream)
    yield logging.getLogger("docpipe.test"), stream
    logging.getLogger().removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_context_ids(logs) -> None:
    log, stream = logs
    with log_context(correlation_id="corr-1", document_id=DOC_ID, stage="ocr"):
        log.info("handled %d pages", 3)
        with log_context(event_id="ev-9"):
            log.warning("nested")
    log.info("outside")
    first, nested, outside = lines(stream)
    assert first["message"] == "handled 3 pages" and first["level"] == "info"
    assert first["correlation_id"] == "corr-1" and first["document_id"] == DOC_ID and first["stage"] == "ocr"
    assert nested["event_id"] == "ev-9" and nested["correlation_id"] == "corr-1"
    assert "correlation_id" not in outside


def test_bind_event_uses_the_envelope_ids(logs) -> None:
    log, stream = logs

    class Ev:
        correlation_id, document_id, event_id = "c-7", DOC_ID, "e-7"

    with bind_event(Ev(), stage="gate"):
        log.info("decided")
    (rec,) = lines(stream)
    got = (rec["correlation_id"], rec["document_id"], rec["event_id"], rec["stage"])
    assert got == ("c-7", DOC_ID, "e-7", "gate")


def test_personal_data_in_messages_is_scrubbed(logs) -> None:
    log, stream = logs
    log.info("vendor bank %s, contact %s, card %s", IBAN, "ap@acme-example.com", CARD)
    (rec,) = lines(stream)
    out = json.dumps(rec)
    assert IBAN not in out and "ap@acme-example.com" not in out and "4111" not in out
    assert "[iban]" in rec["message"] and "[email]" in rec["message"] and "[card]" in rec["message"]


def test_content_fields_in_extras_are_dropped(logs) -> None:
    log, stream = logs
    log.info("extracted", extra={"text": "ACME GmbH Invoice 4711", "value": "1,234.00",
                                 "source_text": "Total 1,234.00", "raw": "x", "field": "total",
                                 "fields": {"total": {"value": "9.99", "confidence": 0.9}}, "pages": 2})
    (rec,) = lines(stream)
    assert rec["text"] == rec["value"] == rec["source_text"] == rec["raw"] == REDACTED
    assert rec["fields"]["total"] == {"value": REDACTED, "confidence": 0.9}
    assert rec["field"] == "total" and rec["pages"] == 2
    assert "ACME" not in json.dumps(rec)


def test_exception_text_is_scrubbed_but_kept(logs) -> None:
    log, stream = logs

    class Inv(BaseModel):
        total: float

    content = "ACME GmbH owes 12"  # document text that reaches a validation error
    try:
        Inv(total=content)  # type: ignore[arg-type]
    except ValidationError:
        log.exception("schema invalid for %s", DOC_ID)
    (rec,) = lines(stream)
    assert rec["exc_type"] == "ValidationError"
    assert "input_value=[redacted]" in rec["exception"]
    assert content not in json.dumps(rec)
    assert DOC_ID in rec["message"]  # document ids are what operators need: kept


def test_secrets_never_reach_the_log(logs, tmp_path) -> None:
    log, stream = logs
    sec = KafkaSecurity(protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="svc",
                        sasl_password="hunter2-very-secret", oauth_client_secret="oauth-s3cret")
    settings = Settings(kafka_security=sec)
    log.info("kafka config %s", settings.kafka_config())
    log.info("settings %r", settings)
    log.info("security %s", sec)
    log.info("connecting", extra={"config": settings.kafka_config(), "sasl_password": "hunter2-very-secret"})
    log.debug("header Authorization: Bearer eyJhbGciOi.payload.sig")
    out = stream.getvalue()
    assert "hunter2" not in out and "oauth-s3cret" not in out and "eyJhbGciOi" not in out
    assert "svc" in out  # the user name is not a secret and helps debugging


def test_plain_text_mode_is_redacted_too() -> None:
    stream = io.StringIO()
    handler = configure_logging("INFO", json=False, stream=stream)
    try:
        with log_context(correlation_id="c-1"):
            logging.getLogger("x").info("iban %s", IBAN)
    finally:
        logging.getLogger().removeHandler(handler)
    assert "[c-1]" in stream.getvalue() and IBAN not in stream.getvalue()


def test_configure_logging_is_idempotent() -> None:
    before = len(logging.getLogger().handlers)
    h1 = configure_logging("INFO", stream=io.StringIO())
    h2 = configure_logging("INFO", stream=io.StringIO())
    try:
        assert len(logging.getLogger().handlers) == before + 1
        assert h1 not in logging.getLogger().handlers
    finally:
        logging.getLogger().removeHandler(h2)


@pytest.mark.parametrize(("text", "keep"), [
    ("offset 1795425869631 of docs.ocr partition 3", "1795425869631"),  # not Luhn-valid: a timestamp
    ("topic docs.extracted p=2 off=104", "docs.extracted p=2 off=104"),
    (f"document {DOC_ID}", DOC_ID),
    ("max_new_tokens=256 batch=8", "max_new_tokens=256"),
    ("amount 1234.56 EUR", "1234.56"),
])
def test_operational_text_survives(text: str, keep: str) -> None:
    assert keep in scrub_text(text)


@pytest.mark.parametrize(("text", "gone"), [
    ("iban DE89 3704 0044 0532 0130 00 here", "3704 0044"),
    ("GB29NWBK60161331926819", "NWBK6016"),
    ("card 5500-0000-0000-0004 used", "5500-0000"),
    ("sasl.password=topsecret", "topsecret"),
    ('{"client_secret": "abc123"}', "abc123"),
    ("mail first.last+ap@sub.example.co.uk", "first.last"),
    ("orig " + "QUJD" * 60, "QUJDQUJD"),
])
def test_sensitive_text_is_removed(text: str, gone: str) -> None:
    assert gone not in scrub_text(text)


def test_redact_value_walks_nested_structures() -> None:
    data = {"lines": ["a", "b"], "meta": {"iban": IBAN, "pages": 3, "note": f"to {IBAN}"},
            "items": [{"description": "Widget", "token": "t0k"}]}
    out = redact_value(data)
    assert out["lines"] == REDACTED
    assert out["meta"] == {"iban": REDACTED, "pages": 3, "note": "to [iban]"}
    assert out["items"][0]["token"] == REDACTED
