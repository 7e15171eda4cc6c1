"""Clients built only from Settings talk to a broker that requires SASL/SCRAM-SHA-512 over TLS.

The broker is `infra/kafka/kafka.sh start-secure` (own CA, keystore/truststore, SCRAM users). Set
DOCPIPE_TEST_SECURE_HOME and DOCPIPE_TEST_SECURE_PORT to reuse a running one; otherwise one is started
for this module on free ports and stopped afterwards.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.config import KafkaSecurity, Settings
from pipeline.observability import configure_logging, consumer_lag
from pipeline.ops.kafka_check import KafkaConnectError, probe

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[3]
KAFKA_SH = ROOT / "infra" / "kafka" / "kafka.sh"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SecureBroker:
    home: Path
    port: int
    tls_port: int

    @property
    def material(self) -> Path:
        return self.home / f"secure-{self.port}"

    def settings(self, *, password_file: Path | None = None, ca: Path | None = None,
                 protocol: str = "SASL_SSL", **extra: object) -> Settings:
        port = self.tls_port if protocol == "SASL_SSL" else self.port
        fields: dict[str, object] = {
            "sasl_password_file": password_file or self.material / "docpipe.password"}
        fields.update(extra)
        sec = KafkaSecurity(protocol=protocol, sasl_mechanism="SCRAM-SHA-512", sasl_username="docpipe",
                            ssl_ca_location=ca or self.material / "ca.crt", **fields)  # type: ignore[arg-type]
        return Settings(KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}", kafka_security=sec)  # type: ignore[call-arg]


def _run(broker: SecureBroker, action: str, cport: int) -> None:
    env = dict(os.environ, DOCPIPE_KAFKA_HOME=str(broker.home), DOCPIPE_KAFKA_PORT=str(broker.port),
               DOCPIPE_KAFKA_CONTROLLER_PORT=str(cport), DOCPIPE_KAFKA_TLS_PORT=str(broker.tls_port),
               DOCPIPE_KAFKA_HEAP=os.environ.get("DOCPIPE_KAFKA_HEAP", "-Xmx512m"))
    subprocess.run(["bash", str(KAFKA_SH), action], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=300)


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    if os.environ.get("DOCPIPE_TEST_SECURE_HOME"):
        port = int(os.environ.get("DOCPIPE_TEST_SECURE_PORT", "19292"))
        broker = SecureBroker(Path(os.environ["DOCPIPE_TEST_SECURE_HOME"]), port, port + 2)
        _run(broker, "start-secure", port + 1)  # idempotent: "already running"
        yield broker
        return
    home = tmp_path_factory.mktemp("kafka-secure")
    shared = Path(os.environ.get("DOCPIPE_KAFKA_HOME", Path.home() / ".cache/docpipe/kafka"))
    for lib in shared.glob("lib-*"):  # reuse the jar cache instead of resolving jars again
        (home / lib.name).symlink_to(lib)
    broker = SecureBroker(home, _free_port(), _free_port())
    cport = _free_port()
    _run(broker, "start-secure", cport)
    try:
        yield broker
    finally:
        _run(broker, "stop", cport)


def _admin(settings: Settings):
    from confluent_kafka.admin import AdminClient

    return AdminClient(settings.kafka_config())


def _create_topic(settings: Settings, name: str) -> None:
    from confluent_kafka.admin import NewTopic

    admin = _admin(settings)  # keep the handle alive until the future resolves
    futures = admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    futures[name].result(timeout=30)


def test_round_trip_over_sasl_ssl_scram(secure_broker: SecureBroker) -> None:
    from confluent_kafka import Consumer, Producer

    settings = secure_broker.settings()
    topic = f"ops.secure.{uuid.uuid4().hex[:8]}"
    _create_topic(settings, topic)
    producer = Producer(settings.kafka_config())
    for i in range(5):
        producer.produce(topic, key=b"k", value=f"hello-{i}".encode())
    assert producer.flush(30) == 0

    consumer = Consumer(settings.kafka_config() | {"group.id": f"docpipe.ops-test.{topic}",
                                                   "auto.offset.reset": "earliest",
                                                   "enable.auto.commit": False})
    consumer.subscribe([topic])
    got: list[bytes] = []
    try:
        for _ in range(60):
            msg = consumer.poll(1.0)
            if msg is None or msg.error():
                continue
            got.append(msg.value())
            if len(got) == 2:
                consumer.commit(msg, asynchronous=False)
                # lag helper against the real client: 3 of 5 left, by position and by commit
                assert consumer_lag(consumer) == {(topic, 0): 3}
                assert consumer_lag(consumer, committed=True) == {(topic, 0): 3}
            if len(got) == 5:
                break
    finally:
        consumer.close()
    assert got == [f"hello-{i}".encode() for i in range(5)]


def test_probe_reports_ok_on_both_listeners(secure_broker: SecureBroker) -> None:
    tls = probe(secure_broker.settings(), timeout=20)
    assert tls.protocol == "SASL_SSL" and tls.brokers == [f"127.0.0.1:{secure_broker.tls_port}"]
    plain = probe(secure_broker.settings(protocol="SASL_PLAINTEXT"), timeout=20)
    assert plain.mechanism == "SCRAM-SHA-512"


def test_wrong_password_fails_clearly(secure_broker: SecureBroker, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password\n")
    with pytest.raises(KafkaConnectError) as info:
        probe(secure_broker.settings(password_file=wrong), timeout=20)
    assert info.value.kind == "auth"
    assert "authentication failed for user 'docpipe'" in str(info.value)
    assert "invalid credentials" in str(info.value)
    assert "not-the-password" not in str(info.value)


def test_untrusted_broker_certificate_is_refused(secure_broker: SecureBroker, tmp_path: Path) -> None:
    other_ca = tmp_path / "other-ca.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=someone-else", "-keyout", str(tmp_path / "k"), "-out", str(other_ca)],
                   check=True, capture_output=True)
    with pytest.raises(KafkaConnectError) as info:
        probe(secure_broker.settings(ca=other_ca), timeout=20)
    assert info.value.kind == "tls" and "certificate verify failed" in str(info.value)


def test_plaintext_client_cannot_use_the_secure_broker(secure_broker: SecureBroker) -> None:
    settings = Settings(KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{secure_broker.tls_port}")  # type: ignore[call-arg]
    with pytest.raises(KafkaConnectError):
        probe(settings, timeout=5)


def test_secrets_never_in_logs_or_repr(secure_broker: SecureBroker) -> None:
    from confluent_kafka import Producer

    secret = (secure_broker.material / "docpipe.password").read_text().strip()
    # the secret as an env-style value (not a file) is the riskier path: it lives in the settings object
    settings = secure_broker.settings(sasl_password=secret, sasl_password_file=None)
    stream = io.StringIO()
    handler = configure_logging("DEBUG", stream=stream)
    try:
        log = logging.getLogger("docpipe.test.security")
        # librdkafka's own debug output (config dump, SASL handshake) through our redacting handler
        rd = logging.getLogger("docpipe.test.rdkafka")
        producer = Producer(settings.kafka_config() | {"debug": "security,conf,broker", "logger": rd})
        producer.list_topics(timeout=20)
        producer.poll(0.5)
        log.info("settings %r", settings)
        log.info("settings %s", settings)
        log.info("dump %s", settings.model_dump_json())
        log.info("client config %s", settings.kafka_config())
        log.debug("client config", extra={"config": settings.kafka_config()})
    finally:
        logging.getLogger().removeHandler(handler)
    out = stream.getvalue()
    assert "SASL" in out or "sasl" in out  # librdkafka did log its handshake through us
    assert secret not in out
    for text in (repr(settings), str(settings), settings.model_dump_json(), repr(settings.kafka_security)):
        assert secret not in text
