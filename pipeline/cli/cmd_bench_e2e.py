"""`docpipe bench e2e`: whole-pipeline throughput and latency on the real broker."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pipeline.cli.output import bench_group, fail
from pipeline.config import get_settings
from pipeline.datasets import SROIE_ROOT

SROIE = SROIE_ROOT


def _workers(spec: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in filter(None, spec.split(",")):
        name, _, n = part.partition("=")
        out[name.strip()] = int(n or 1)
    return out


def register(app: typer.Typer) -> None:
    bench = bench_group(app)

    @bench.command("e2e")
    def e2e(
        invoices: int = typer.Option(100, help="Generated born-digital invoices."),
        render: str = typer.Option("pdf", help="pdf | scan | mixed for the generated invoices."),
        sroie: int = typer.Option(0, help="SROIE validation receipts (400+) to add, from ../shared."),
        sroie_dir: Path = typer.Option(SROIE, help="SROIE folder."),
        workers: str = typer.Option("", help="Processes per stage, e.g. 'ocr=2,extract=1'."),
        seed: int = typer.Option(11),
        timeout: float = typer.Option(1800.0),
        out: Path | None = typer.Option(None, help="Write the JSON result here too."),
    ) -> None:
        """Generate documents, start every stage, submit, and time each document to its decision."""
        from pipeline.bench.e2e import E2EPlan, run_e2e
        from pipeline.local.broker import reachable, start_local
        from pipeline.samples.generate import generate

        base = get_settings()
        if not reachable(base.bootstrap_servers):
            start_local(int(base.bootstrap_servers.rpartition(":")[2]))
        work = (base.home / "bench-e2e").resolve()
        files: list[Path] = []
        refdata = None
        if invoices:
            generate(kind="invoice", count=invoices, seed=seed, out_dir=work / "invoices", render=render,
                     overwrite=True)
            files += sorted((work / "invoices" / "documents").iterdir())
            refdata = work / "invoices" / "refdata"
        if sroie:
            imgs = sorted((sroie_dir / "img").glob("4*.jpg"))[:sroie]
            if len(imgs) < sroie:
                fail(f"only {len(imgs)} SROIE validation images in {sroie_dir}")
            files += imgs
        if not files:
            fail("nothing to run: set --invoices and/or --sroie")
        label = f"{invoices} invoices ({render})" + (f" + {sroie} SROIE receipts" if sroie else "")
        result = run_e2e(base, E2EPlan(files=files, refdata=refdata, workers=_workers(workers),
                                       timeout_s=timeout, label=label))
        text = json.dumps(result, indent=2, default=str)
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text + "\n")
        typer.echo(text)
