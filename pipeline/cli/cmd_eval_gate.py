"""`docpipe eval gate FILE`: calibrate the gate's confidence threshold on labelled extractions."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.output import emit, eval_group, fail


def register(app: typer.Typer) -> None:
    grp = eval_group(app)

    @grp.command("gate")
    def eval_gate(
        file: Annotated[Path, typer.Argument(help='JSONL of {"extraction": {...}, "truth": {...}} lines.')],
        policy_path: Annotated[
            Path | None, typer.Option("--policy", help="Policy YAML (default: settings).")
        ] = None,
        locale: str | None = typer.Option(None, help="Locale for documents of unknown vendors (e.g. en_MY)."),
        today: str | None = typer.Option(None, help="YYYY-MM-DD: also check date windows against this day."),
        use_db: bool = typer.Option(
            False, "--db", help="Use reference data from the database and run every rule except duplicates."
        ),
        target: float = typer.Option(0.995, help="Precision the chosen threshold must reach."),
        limit: int | None = typer.Option(None, help="Only the first N lines."),
        plot: Annotated[
            Path | None, typer.Option(help="PNG path (default <home>/eval/gate_curve.png).")
        ] = None,
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Precision of auto-approved fields/documents and straight-through rate across thresholds."""
        from pipeline.config import get_settings
        from pipeline.gate.evaluate import INTRINSIC_RULES, plot_curve, read_jsonl, run_eval
        from pipeline.gate.policy import PolicyError, load_policy
        from pipeline.normalize.config import NormalizeConfig
        from pipeline.refdata.snapshot import RefSnapshot

        settings = get_settings()
        if not file.is_file():
            fail(f"{file}: no such file")
        try:
            policy = load_policy(policy_path or settings.gate_policy)
        except PolicyError as exc:
            fail(str(exc))
        try:
            day = date.fromisoformat(today) if today else date.today()
        except ValueError:
            fail(f"--today {today!r} is not YYYY-MM-DD")
        rules = set(INTRINSIC_RULES) | ({"dates.window"} if today else set())
        ref = RefSnapshot()
        if use_db:
            from sqlalchemy.exc import SQLAlchemyError

            from pipeline.db import make_engine
            from pipeline.refdata.repository import RefDataRepository

            try:
                ref = RefDataRepository(make_engine(settings.db_url)).snapshot()
            except SQLAlchemyError as exc:
                fail(f"reference data unavailable: {exc.__class__.__name__}")
            rules = (
                {r.rule.id for r in policy.rules}
                - {"duplicates.invoice"}
                - ({"dates.window"} if not today else set())
            )
        rows, skipped = read_jsonl(file, limit)
        if not rows:
            fail(f"{file}: no usable lines" + (f" ({skipped[0]})" if skipped else ""))
        cfg = NormalizeConfig(default_locale=locale or settings.default_locale)
        report = run_eval(rows, policy, ref, cfg, day, rules=rules, target=target)
        report.skipped = skipped
        png = plot_curve(report, plot or settings.home / "eval" / "gate_curve.png")
        data = {**report.as_dict(), "plot": str(png), "policy": policy.ref.model_dump()}
        c = report.chosen
        human = [
            f"documents: {report.documents} (skipped lines: {len(skipped)})",
            f"rules: {', '.join(report.rules)}",
        ]
        if c is None:
            human.append(
                f"no threshold reaches precision {target} on this data: keep documents with a person"
            )
        else:
            human.append(
                f"chosen threshold {c.threshold}: straight-through {c.straight_through:.1%}, "
                f"field precision {c.field_precision} (95% lower bound {c.field_precision_lower95}), "
                f"document precision {c.document_precision}, {c.auto_documents} auto-approved"
            )
        if report.field_errors:
            human.append("field errors: " + ", ".join(f"{k} {v}" for k, v in report.field_errors.items()))
        human.append(f"plot: {png}")
        emit(data, as_json, "\n".join(human))
