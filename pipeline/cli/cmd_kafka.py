"""`docpipe kafka check`: prove the configured cluster is usable with the configured security settings."""

from __future__ import annotations

import typer

from pipeline.cli.output import emit, fail


def register(app: typer.Typer) -> None:
    kafka = typer.Typer(help="Kafka connectivity and security checks.")
    app.add_typer(kafka, name="kafka")

    @kafka.command("check")
    def check(timeout: float = typer.Option(15.0, help="Seconds to wait for the cluster."),
              as_json: bool = typer.Option(False, "--json")) -> None:
        """Connect with the workers' settings; name the failure (auth, TLS, unreachable) in one line."""
        from pipeline.config import get_settings
        from pipeline.ops.kafka_check import KafkaConnectError, probe

        try:
            result = probe(get_settings(), timeout=timeout)
        except KafkaConnectError as exc:
            fail(f"{exc} [{exc.kind}]")
        except ValueError as exc:
            fail(f"invalid settings: {exc}")
        emit(result.__dict__, as_json,
             f"ok: {result.bootstrap} via {result.protocol}"
             f"{'/' + result.mechanism if result.mechanism else ''}; brokers {', '.join(result.brokers)}; "
             f"{result.topics} topics visible")
