"""`docpipe samples generate|refdata|demo` and `docpipe bench samples`: synthetic documents + ground truth."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.output import bench_group, emit, fail


def register(app: typer.Typer) -> None:
    samples = typer.Typer(
        help="Synthetic invoices, receipts and PO changes with ground truth.", no_args_is_help=True
    )
    app.add_typer(samples, name="samples")

    @samples.command("generate")
    def generate_cmd(
        out: Annotated[
            Path, typer.Option(help="Output folder: documents/, truth/, refdata/, manifest.json.")
        ],
        kind: str = typer.Option(..., help="invoice | receipt | po-change"),
        count: int = typer.Option(10, min=0, help="Number of documents."),
        seed: int = typer.Option(1, help="Same seed, byte-identical output."),
        render: str = typer.Option("pdf", help="pdf | scan | photo | tiff | mixed"),
        layouts: str | None = typer.Option(
            None, help="Comma-separated layout ids (default: all of the kind)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the manifest summary as JSON."),
        overwrite: bool = typer.Option(False, help="Replace the documents of a previous run in OUT."),
    ) -> None:
        """Generate documents, ground-truth JSON per document and the matching reference data."""
        from pipeline.samples.generate import SampleError, generate

        chosen = [s.strip() for s in layouts.split(",") if s.strip()] if layouts else None
        try:
            manifest = generate(kind.replace("_", "-"), count, seed, out, render, chosen, overwrite=overwrite)
        except SampleError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"cannot write to {out}: {exc.strerror or exc}")
        docs = manifest["documents"]
        summary = {
            "out": str(out),
            "documents": len({d["doc_id"] for d in docs}),
            "files": len(docs),
            "by_render": dict(Counter(d["render"] for d in docs)),
            "by_layout": dict(Counter(d["layout"] for d in docs)),
            "hard_cases": dict(Counter(h for d in docs for h in d["hard_cases"])),
            "refdata": str(out / "refdata"),
        }
        emit(
            summary,
            as_json,
            f"wrote {summary['documents']} {kind} document(s), {summary['files']} file(s) to "
            f"{out}/documents, ground truth in {out}/truth, reference data in {out}/refdata",
        )

    @samples.command("refdata")
    def refdata_cmd(
        out: Annotated[Path, typer.Option(help="Folder for vendors.csv, purchase_orders.csv, po_lines.csv")],
        seed: int = typer.Option(1, help="Use the seed of the documents this reference data must match."),
        invoices: int = typer.Option(
            0, min=0, help="Also store the POs that `generate --kind invoice --count N` uses."
        ),
        po_changes: int = typer.Option(
            0, min=0, help="Also store the POs that N PO-change documents change."
        ),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Write reference data (vendor master, POs, goods receipts) without rendering any document."""
        from pipeline.samples.generate import reference_world
        from pipeline.samples.refdata import write_refdata

        world = reference_world(seed, invoices, po_changes)
        try:
            paths = write_refdata(world, out)
        except OSError as exc:
            fail(f"cannot write to {out}: {exc.strerror or exc}")
        data = {
            "out": str(out),
            "files": [str(p) for p in paths],
            "vendors": len(world.vendors),
            "purchase_orders": len(world.purchase_orders),
            "goods_receipts": len(world.goods_receipts),
        }
        emit(data, as_json, f"wrote {data['vendors']} vendors, {data['purchase_orders']} POs to {out}")

    @samples.command("demo")
    def demo_cmd(
        out: Annotated[Path, typer.Option(help="Output folder.")],
        seed: int = typer.Option(7),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Write the fixed demo set (PDFs, scans, TIFF, photos, PO change JSON) + refdata."""
        from pipeline.samples.demo import generate_demo_set

        try:
            paths = generate_demo_set(out, seed=seed)
        except OSError as exc:
            fail(f"cannot write to {out}: {exc.strerror or exc}")
        emit(
            {"out": str(out), "files": [str(p) for p in paths]}, as_json, f"wrote {len(paths)} files to {out}"
        )

    bench = bench_group(app)

    @bench.command("samples")
    def bench_samples(
        count: int = typer.Option(300, min=10, help="Born-digital documents per kind (rasters: a tenth)."),
        seed: int = typer.Option(1),
    ) -> None:
        """Documents per CPU-second for each kind and render mode (JSON)."""
        from pipeline.samples.bench import run_bench

        typer.echo(json.dumps(run_bench(count, seed), indent=2))
