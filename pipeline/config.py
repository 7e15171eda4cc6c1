"""Settings from environment (DOCPIPE_*) or a YAML file named by DOCPIPE_CONFIG; one place for all."""

from __future__ import annotations

import os
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.ocr.settings import OcrSettings

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")


def _secret(value: SecretStr | None, file: Path | None, what: str) -> str | None:
    """A secret from its env value or, failing that, its file; the error names the file, never the value."""
    if value is not None:
        return value.get_secret_value()
    if file is None:
        return None
    try:
        return file.read_text().strip()
    except OSError as exc:
        raise ValueError(f"cannot read {what} file {file}: {exc.strerror}") from None


class KafkaSecurity(BaseModel):
    """Client security; secrets come from env or files only and are never logged.

    Secrets are SecretStr: repr, str and model_dump show '**********'. Env example:
    DOCPIPE_KAFKA_SECURITY__PROTOCOL=SASL_SSL, DOCPIPE_KAFKA_SECURITY__SASL_MECHANISM=SCRAM-SHA-512,
    DOCPIPE_KAFKA_SECURITY__SASL_USERNAME=docpipe,
    DOCPIPE_KAFKA_SECURITY__SASL_PASSWORD_FILE=/run/secrets/kafka.
    """

    protocol: str = "PLAINTEXT"  # PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    sasl_mechanism: str | None = None  # SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER (PLAIN only over TLS)
    sasl_username: str | None = None
    sasl_password: SecretStr | None = Field(default=None, repr=False)
    sasl_password_file: Path | None = None
    ssl_ca_location: Path | None = None
    ssl_certificate_location: Path | None = None
    ssl_key_location: Path | None = None
    ssl_key_password: SecretStr | None = Field(default=None, repr=False)
    ssl_key_password_file: Path | None = None
    ssl_endpoint_identification: bool = Field(
        default=True, description="Verify the broker host name against its certificate (keep on).")
    oauth_token_endpoint: str | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: SecretStr | None = Field(default=None, repr=False)
    oauth_client_secret_file: Path | None = None
    oauth_scope: str | None = None
    oauth_extensions: str | None = Field(default=None, description="key=value,... sent to the broker (e.g. "
                                         "logicalCluster=lkc-1,identityPoolId=pool-2).")

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, v: str) -> str:
        v = v.upper()
        if v not in SECURITY_PROTOCOLS:
            raise ValueError(f"unknown security protocol {v!r}; one of {', '.join(SECURITY_PROTOCOLS)}")
        return v

    @field_validator("sasl_mechanism")
    @classmethod
    def _known_mechanism(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        v = v.upper()
        if v not in SASL_MECHANISMS:
            raise ValueError(f"unknown SASL mechanism {v!r}; one of {', '.join(SASL_MECHANISMS)}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSecurity:
        sasl = self.protocol.startswith("SASL_")
        if sasl and not self.sasl_mechanism:
            raise ValueError(f"security protocol {self.protocol} needs sasl_mechanism")
        if self.sasl_mechanism and not sasl:
            raise ValueError(f"sasl_mechanism {self.sasl_mechanism} needs protocol SASL_SSL or "
                             "SASL_PLAINTEXT")
        if self.sasl_mechanism == "PLAIN" and self.protocol != "SASL_SSL":
            raise ValueError("SASL/PLAIN sends the password in clear: only allowed with SASL_SSL")
        return self

    def client_config(self) -> dict[str, Any]:
        """librdkafka (confluent-kafka) properties; raises ValueError when a required secret is missing."""
        cfg: dict[str, Any] = {"security.protocol": self.protocol}
        if self.sasl_mechanism:
            cfg["sasl.mechanism"] = self.sasl_mechanism
            if self.sasl_mechanism == "OAUTHBEARER":
                secret = _secret(self.oauth_client_secret, self.oauth_client_secret_file,
                                 "OAuth client secret")
                missing = [name for name, val in (("oauth_token_endpoint", self.oauth_token_endpoint),
                                                  ("oauth_client_id", self.oauth_client_id),
                                                  ("oauth_client_secret", secret)) if not val]
                if missing:
                    raise ValueError(f"SASL/OAUTHBEARER (OIDC client credentials) needs {', '.join(missing)}")
                cfg["sasl.oauthbearer.method"] = "oidc"
                cfg["sasl.oauthbearer.token.endpoint.url"] = self.oauth_token_endpoint
                cfg["sasl.oauthbearer.client.id"] = self.oauth_client_id
                cfg["sasl.oauthbearer.client.secret"] = secret
                if self.oauth_scope:
                    cfg["sasl.oauthbearer.scope"] = self.oauth_scope
                if self.oauth_extensions:
                    cfg["sasl.oauthbearer.extensions"] = self.oauth_extensions
            else:
                password = _secret(self.sasl_password, self.sasl_password_file, "SASL password")
                if not self.sasl_username or not password:
                    raise ValueError(f"SASL/{self.sasl_mechanism} needs sasl_username and sasl_password "
                                     "(or sasl_password_file)")
                cfg["sasl.username"] = self.sasl_username
                cfg["sasl.password"] = password
        if self.protocol in ("SSL", "SASL_SSL"):
            for key, val in (
                ("ssl.ca.location", self.ssl_ca_location),
                ("ssl.certificate.location", self.ssl_certificate_location),
                ("ssl.key.location", self.ssl_key_location),
            ):
                if val:
                    cfg[key] = str(val)
            key_password = _secret(self.ssl_key_password, self.ssl_key_password_file, "TLS key password")
            if key_password:
                cfg["ssl.key.password"] = key_password
            verify = "https" if self.ssl_endpoint_identification else "none"
            cfg["ssl.endpoint.identification.algorithm"] = verify
        return cfg


class InferenceSettings(BaseModel):
    """Model serving: execution provider, session tuning and the dynamic micro-batcher.

    Defaults were measured with `docpipe bench extract` (docs/inference.md).
    """

    provider: Literal["auto", "tensorrt", "cuda", "cpu"] = Field(
        default="auto", description="auto = TensorRT, else CUDA, else CPU, by availability.")
    device_id: int = 0
    fp16: bool = Field(default=True, description="TensorRT fp16 kernels (GPU only).")
    trt_engine_cache_dir: Path | None = Field(default=None, description="Default <home>/trt-engines.")
    trt_workspace_bytes: int = 2 * 1024**3
    intra_op_threads: int | None = Field(default=None, description="Default: CPU cores available to us.")
    inter_op_threads: int = 1
    intra_op_spinning: bool = Field(
        default=False, description="Busy-wait ORT threads; off measured faster on a shared, busy CPU.")
    graph_optimization: Literal["disable", "basic", "extended", "all"] = "all"
    io_binding: bool = Field(default=True, description="Bind inputs/outputs to device memory (GPU only).")
    warmup: bool = True
    sessions: int = Field(default=1, ge=1, description="Model sessions (batch runners) per process.")
    max_batch_size: int = Field(default=8, ge=1, description="8 measured on CPU; raise on GPUs (32-64).")
    max_queue_delay_ms: float = Field(default=10.0, ge=0.0)
    bucketing: bool = True
    max_padding: float = Field(
        default=0.5, ge=0.0, le=1.0,
        description="Largest padded share of a batch's tokens (bucketing); 1 = no cap (GPUs, where padding is cheap).")
    max_batch_tokens: int | None = Field(
        default=256, ge=1,
        description="Largest padded batch (sequences x longest) with bucketing; CPU time per sequence only "
                    "falls with batch size for short windows on a CPU (measured); None = no cap (GPUs).")
    queue_high_watermark: int = Field(
        default=256, ge=1, description="Queued sequences that pause consumption.")
    queue_low_watermark: int = Field(default=64, ge=0, description="Resume consumption at or below this.")
    max_seq_len: int = Field(default=384, ge=32)
    doc_stride: int = Field(default=128, ge=0)
    document_model: str = Field(
        default="pipeline.inference.extractor_model:extractor_model",
        description="module:function(settings, session_factory) -> DocumentModel (prepare/infer/finish); "
                    "default the extract stage's Extractor (same events as the generic extract stage).")
    model_path: Path | None = Field(
        default=None, description="Model folder; default: extract_model (the packaged registry model).")
    commit_interval_ms: float = Field(default=100.0, gt=0, description="Batching worker transaction cadence.")


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
    ocr: OcrSettings = Field(default_factory=OcrSettings, description="OCR stage: engine, mode, limits.")

    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default sqlite:///<home>/docpipe.db")

    # normalization and gate
    default_locale: str | None = Field(
        default=None, description="Locale for documents whose vendor is unknown (e.g. en_MY); None flags "
                                  "day/month-ambiguous dates instead of guessing.")
    po_number_patterns: list[str] | None = Field(
        default=None, description="Regexes with a named group 'id' for PO numbers; default: built-in ones.")
    refdata_ttl_s: float = Field(default=60.0, description="How long stages cache reference data snapshots.")
    gate_policy: Path | None = Field(default=None, description="Policy YAML; default pipeline/gate/policies/"
                                                               "default.v1.yaml.")

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
    transient_retries: int = 8
    retry_backoff_s: float = 0.2
    retry_backoff_max_s: float = 5.0
    metrics_port: int | None = None

    inference: InferenceSettings = Field(default_factory=InferenceSettings)

    # review (human exception queue, pipeline/review)
    review_secret_key: str | None = Field(
        default=None, repr=False,
        description="Signs session cookies; default: a random key kept in <home>/review-secret (0600).",
    )
    review_session_ttl_s: int = 8 * 3600
    review_cookie_secure: bool = Field(default=False, description="Set on HTTPS deployments.")
    review_claim_ttl_s: int = Field(default=15 * 60, description="An abandoned claim expires after this.")
    review_dual_threshold: Decimal = Field(
        default=Decimal("10000"), description="Totals above this need a second, different approver."
    )
    review_sla_hours: float = Field(default=48.0, description="An exception should be closed within this.")
    review_max_body_bytes: int = Field(default=64 * 1024, description="Larger form posts are refused (413).")
    review_login_max_failures: int = 5
    review_login_window_s: int = 15 * 60
    review_page_size: int = 50
    review_pdf_dpi: float = Field(
        default=200.0,
        description="DPI at which OCR rendered PDF pages (provenance boxes are in those pixels).",
    )

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
