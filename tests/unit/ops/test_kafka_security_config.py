"""KafkaSecurity -> librdkafka properties: every mechanism, secrets from env or files, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.config import KafkaSecurity, Settings


def test_plaintext_default_is_unchanged() -> None:
    assert Settings().kafka_config() == {"bootstrap.servers": "127.0.0.1:19092",
                                         "security.protocol": "PLAINTEXT"}


def test_scram_over_tls_from_password_file(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    sec = KafkaSecurity(protocol="sasl_ssl", sasl_mechanism="scram-sha-512", sasl_username="svc",
                        sasl_password_file=pw, ssl_ca_location=tmp_path / "ca.crt")
    assert sec.client_config() == {
        "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "svc",
        "sasl.password": "s3cret", "ssl.ca.location": str(tmp_path / "ca.crt"),
        "ssl.endpoint.identification.algorithm": "https"}


def test_env_value_wins_over_file(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("from-file")
    sec = KafkaSecurity(protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-256", sasl_username="u",
                        sasl_password="from-env", sasl_password_file=pw)
    assert sec.client_config()["sasl.password"] == "from-env"


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("envfile")
    monkeypatch.setenv("DOCPIPE_KAFKA_SECURITY__PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("DOCPIPE_KAFKA_SECURITY__SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("DOCPIPE_KAFKA_SECURITY__SASL_USERNAME", "docpipe")
    monkeypatch.setenv("DOCPIPE_KAFKA_SECURITY__SASL_PASSWORD_FILE", str(pw))
    cfg = Settings().kafka_config()
    assert cfg["sasl.username"] == "docpipe" and cfg["sasl.password"] == "envfile"


def test_oauthbearer_oidc_mapping(tmp_path: Path) -> None:
    secret = tmp_path / "client-secret"
    secret.write_text("oidc-secret\n")
    sec = KafkaSecurity(protocol="SASL_SSL", sasl_mechanism="OAUTHBEARER",
                        oauth_token_endpoint="https://idp.example/oauth2/token",
                        oauth_client_id="docpipe-ocr",
                        oauth_client_secret_file=secret, oauth_scope="kafka",
                        oauth_extensions="logicalCluster=lkc-1")
    cfg = sec.client_config()
    assert cfg == {
        "security.protocol": "SASL_SSL", "sasl.mechanism": "OAUTHBEARER", "sasl.oauthbearer.method": "oidc",
        "sasl.oauthbearer.token.endpoint.url": "https://idp.example/oauth2/token",
        "sasl.oauthbearer.client.id": "docpipe-ocr", "sasl.oauthbearer.client.secret": "oidc-secret",
        "sasl.oauthbearer.scope": "kafka", "sasl.oauthbearer.extensions": "logicalCluster=lkc-1",
        "ssl.endpoint.identification.algorithm": "https"}
    assert "sasl.username" not in cfg and "sasl.password" not in cfg


def test_oauthbearer_config_is_accepted_by_librdkafka() -> None:
    """librdkafka itself validates the property names and values (no IdP is contacted at construction)."""
    from confluent_kafka import Producer

    sec = KafkaSecurity(protocol="SASL_SSL", sasl_mechanism="OAUTHBEARER",
                        oauth_token_endpoint="https://127.0.0.1:9/token", oauth_client_id="c",
                        oauth_client_secret="s", oauth_scope="kafka")
    producer = Producer({"bootstrap.servers": "127.0.0.1:9", **sec.client_config()})
    assert producer is not None


def test_mutual_tls_with_key_password(tmp_path: Path) -> None:
    sec = KafkaSecurity(protocol="SSL", ssl_ca_location=tmp_path / "ca.pem",
                        ssl_certificate_location=tmp_path / "client.pem",
                        ssl_key_location=tmp_path / "client.key",
                        ssl_key_password="kp", ssl_endpoint_identification=False)
    cfg = sec.client_config()
    assert cfg["ssl.certificate.location"] == str(tmp_path / "client.pem")
    assert cfg["ssl.key.password"] == "kp"
    assert cfg["ssl.endpoint.identification.algorithm"] == "none"
    assert "sasl.mechanism" not in cfg


@pytest.mark.parametrize(("fields", "message"), [
    ({"protocol": "TLS"}, "unknown security protocol"),
    ({"protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI"}, "unknown SASL mechanism"),
    ({"protocol": "SASL_SSL"}, "needs sasl_mechanism"),
    ({"protocol": "SSL", "sasl_mechanism": "SCRAM-SHA-512"}, "needs protocol SASL_SSL"),
    ({"protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN"}, "only allowed with SASL_SSL"),
])
def test_inconsistent_settings_are_rejected(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        KafkaSecurity(**fields)


def test_missing_secrets_fail_at_client_build(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs sasl_username and sasl_password"):
        KafkaSecurity(protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="u").client_config()
    with pytest.raises(ValueError, match="needs oauth_client_id, oauth_client_secret"):
        KafkaSecurity(protocol="SASL_SSL", sasl_mechanism="OAUTHBEARER",
                      oauth_token_endpoint="https://idp/token").client_config()
    missing = tmp_path / "nope"
    with pytest.raises(ValueError, match=f"cannot read SASL password file {missing}"):
        KafkaSecurity(protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="u",
                      sasl_password_file=missing).client_config()


def test_secrets_hidden_in_repr_str_and_dumps() -> None:
    sec = KafkaSecurity(protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="u",
                        sasl_password="pw-123456", oauth_client_secret="oauth-987",
                        ssl_key_password="key-555")
    settings = Settings(kafka_security=sec)
    for text in (repr(sec), str(sec), repr(settings), str(settings), settings.model_dump_json(),
                 str(settings.model_dump())):
        for secret in ("pw-123456", "oauth-987", "key-555"):
            assert secret not in text
