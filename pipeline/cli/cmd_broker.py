"""`docpipe broker start|stop|status`: the local single-node KRaft broker."""

from __future__ import annotations

import typer

from pipeline.cli.output import fail
from pipeline.config import get_settings


def register(app: typer.Typer) -> None:
    broker = typer.Typer(help="Local Apache Kafka broker (KRaft, loopback) for development and the demo.")
    app.add_typer(broker, name="broker")

    def _port() -> int:
        return int(get_settings().bootstrap_servers.split(",")[0].rpartition(":")[2])

    @broker.command("start")
    def start() -> None:
        from pipeline.local.broker import start_local

        try:
            typer.echo(start_local(_port()))
        except (RuntimeError, FileNotFoundError) as exc:
            fail(str(exc))

    @broker.command("stop")
    def stop() -> None:
        from pipeline.local.broker import stop_local

        stop_local(_port())
        typer.echo("stopped")

    @broker.command("status")
    def status() -> None:
        from pipeline.local.broker import reachable

        bootstrap = get_settings().bootstrap_servers
        if not reachable(bootstrap):
            fail(f"no broker at {bootstrap}", code=3)
        typer.echo(f"broker reachable at {bootstrap}")
