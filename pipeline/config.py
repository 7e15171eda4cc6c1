"""Settings from environment (DOCPIPE_*) or a YAML file named by DOCPIPE_CONFIG; one place for all."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSecurity(BaseModel):
    """Client security; secrets come from env or files only and are never logged."""

    protocol: str = "PLAINTEXT"  # PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    sasl_mechanism: str | None = None  # SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER
    sasl_username: str | None = None
    sasl_password: str | None = Field(default=None, repr=False)
    sasl_password_file: Path | None = None
    ssl_ca_location: Path | None = None
    ssl_certificate_location: Path | None = None
    ssl_key_location: Path | None = None
    oauth_token_endpoint: str | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = Field(default=None, repr=False)

    def client_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"security.protocol": self.protocol}
        if self.sasl_mechanism:
            cfg["sasl.mechanism"] = self.sasl_mechanism
            if self.sasl_mechanism == "OAUTHBEARER":
                cfg["sasl.oauthbearer.method"] = "oidc"
                if self.oauth_token_endpoint:
                    cfg["sasl.oauthbearer.token.endpoint.url"] = self.oauth_token_endpoint
                if self.oauth_client_id:
                    cfg["sasl.oauthbearer.client.id"] = self.oauth_client_id
                if self.oauth_client_secret:
                    cfg["sasl.oauthbearer.client.secret"] = self.oauth_client_secret
            else:
                password = self.sasl_password
                if password is None and self.sasl_password_file:
                    password = self.sasl_password_file.read_text().strip()
                cfg["sasl.username"] = self.sasl_username or ""
                cfg["sasl.password"] = password or ""
        for key, val in (
            ("ssl.ca.location", self.ssl_ca_location),
            ("ssl.certificate.location", self.ssl_certificate_location),
            ("ssl.key.location", self.ssl_key_location),
        ):
            if val:
                cfg[key] = str(val)
        return cfg


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOCPIPE_", env_nested_delimiter="__", extra="ignore")

    bootstrap_servers: str = Field(
        default="127.0.0.1:19092", validation_alias="KAFKA_BOOTSTRAP_SERVERS",
        description="Kafka bootstrap servers; when unset, `docpipe up` starts a local broker here.",
    )
    topic_prefix: str = ""
    partitions: int = 6
    tenant: str = "default"
    kafka_security: KafkaSecurity = Field(default_factory=KafkaSecurity)

    home: Path = Field(default=Path(".docpipe"), description="Local state: blobs, databases, models cache.")
    blob_uri: str | None = Field(default=None, description="Blob store root; default <home>/blobs.")
    max_document_bytes: int = 50 * 1024 * 1024
    max_pages: int = 200

    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default sqlite:///<home>/docpipe.db")

    # extraction
    extract_model: str = Field(
        default="minilm-qa",
        description="Model name[:version] in the packaged registry, or a local model folder "
        "(model.onnx + tokenizer.json + model_card.json).",
    )
    extract_threads: int | None = Field(default=None, description="onnxruntime intra-op threads.")

    # runtime
    max_batch: int = 64
    poll_timeout_s: float = 0.5
    transient_retries: int = 5
    retry_backoff_s: float = 0.2
    retry_backoff_max_s: float = 5.0
    metrics_port: int | None = None

    @property
    def blob_root(self) -> str:
        return self.blob_uri or (self.home / "blobs").resolve().as_uri()

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'docpipe.db').resolve()}"

    def topic(self, logical: str) -> str:
        return f"{self.topic_prefix}{logical}"

    def kafka_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"bootstrap.servers": self.bootstrap_servers}
        cfg.update(self.kafka_security.client_config())
        return cfg


def _from_file() -> dict[str, Any]:
    path = os.environ.get("DOCPIPE_CONFIG")
    if not path:
        return {}
    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: config file must be a mapping")
    return data


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(**_from_file())
