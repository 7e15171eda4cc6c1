"""`docpipe quality FILE`: great-expectations suite over normalized records; failures are shown, exit 0."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.output import emit, fail


def register(app: typer.Typer) -> None:
    @app.command("quality")
    def quality(
        file: Annotated[Path, typer.Argument(help="JSONL of NormalizedDocuments (or envelopes/decisions).")],
        last: int | None = typer.Option(None, help="Only the last N records (the recent window)."),
        today: str | None = typer.Option(None, help="YYYY-MM-DD for the date window (default: today)."),
        max_age_days: int | None = typer.Option(
            None, help="Oldest document date expected (default: policy)."
        ),
        metrics: Annotated[Path | None, typer.Option(help="Also write Prometheus text metrics here.")] = None,
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Null rates, ranges, formats, currency set and date windows of normalized documents."""
        from pipeline.normalize.quality import prometheus_text, read_documents, run_quality

        if not file.is_file():
            fail(f"{file}: no such file")
        try:
            day = date.fromisoformat(today) if today else date.today()
        except ValueError:
            fail(f"--today {today!r} is not YYYY-MM-DD")
        docs, skipped = read_documents(file, last)
        if not docs:
            fail(f"{file}: no NormalizedDocument records" + (f" ({skipped[0]})" if skipped else ""))
        # The currency set and the date window come from the gate policy, so both agree on "normal".
        from pipeline.config import get_settings
        from pipeline.gate.policy import PolicyError, load_policy

        try:
            policy = load_policy(get_settings().gate_policy)
        except PolicyError as exc:
            fail(str(exc))
        currencies = tuple(str(c) for c in policy.params("currency.allowed").get("allowed", []))
        age = max_age_days if max_age_days is not None else int(policy.params("dates.window")["max_age_days"])
        report = run_quality(docs, day, currencies=currencies, max_age_days=age)
        report.skipped = skipped
        if metrics:
            metrics.parent.mkdir(parents=True, exist_ok=True)
            metrics.write_text(prometheus_text(report))
        rows = [
            f"{'ok  ' if o.success else 'FAIL'} {o.expectation}({o.column or ''})  observed={o.observed}"
            + (f" unexpected={o.unexpected_percent:.1f}%" if o.unexpected_percent else "")
            for o in report.outcomes
        ]
        head = (
            f"{report.records} records, {sum(not o.success for o in report.outcomes)} of "
            f"{len(report.outcomes)} expectations failing"
            + (f", {len(skipped)} lines skipped" if skipped else "")
        )
        emit(report.as_dict(), as_json, "\n".join([head, *rows]))
