"""`docpipe bench normalize`: documents per second through the normalizer on one core (JSON result)."""

from __future__ import annotations

import typer

from pipeline.cli.output import bench_group, emit


def register(app: typer.Typer) -> None:
    grp = bench_group(app)

    @grp.command("normalize")
    def bench_normalize(
        documents: int = typer.Option(20000, "--documents", "-n", min=100, help="Documents to normalize."),
        vendors: int = typer.Option(500, help="Vendor master size (fuzzy matching cost grows with it)."),
        repeat: bool = typer.Option(False, "--repeat", help="Repeat 50 inputs (measures the value caches)."),
        rounds: int = typer.Option(3, min=1, help="Rounds (caches cleared before each unless --repeat)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Single process, single thread: the normalize stage's pure work per document."""
        from pipeline.normalize.bench import run_bench

        res = run_bench(documents, vendors, unique=not repeat, rounds=rounds)
        emit(
            res.as_dict(),
            as_json,
            f"{res.docs_per_s:,.0f} documents/s per core (CPU time, best of {res.rounds}; median "
            f"{res.docs_per_s_median:,.0f}; wall {res.wall_docs_per_s:,.0f}/s at load "
            f"{res.load_average_1m}), "
            f"{res.documents} documents, {res.vendors} vendors, unique inputs: {res.unique_inputs}",
        )
