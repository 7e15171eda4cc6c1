"""Write the generated world as the reference-data CSVs the gate loads (`docpipe refdata load DIR`)."""

from __future__ import annotations

import csv
from pathlib import Path

from pipeline.samples.truth import dec
from pipeline.samples.world import World

REFDATA_FILES = ("vendors.csv", "purchase_orders.csv", "po_lines.csv", "goods_receipts.csv")


def write_refdata(world: World, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / name for name in REFDATA_FILES]
    with paths[0].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(
            ["vendor_id", "name", "aliases", "country", "locale", "currency", "tax_id", "iban", "active"]
        )
        for v in world.vendors:
            w.writerow(
                [
                    v.vendor_id,
                    v.name,
                    "|".join(v.aliases),
                    v.country,
                    v.locale,
                    v.currency,
                    v.tax_id,
                    v.iban,
                    "true" if v.active else "false",
                ]
            )
    pos = sorted(world.purchase_orders.values(), key=lambda po: po.po_number)
    with paths[1].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["po_number", "vendor_id", "currency", "order_date", "status"])
        for po in pos:
            w.writerow([po.po_number, po.vendor_id, po.currency, po.order_date.isoformat(), po.status])
    with paths[2].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["po_number", "line_no", "sku", "description", "quantity", "unit_price", "need_by_date"])
        for po in pos:
            for ln in po.lines:
                w.writerow(
                    [
                        po.po_number,
                        ln.line_no,
                        ln.sku,
                        ln.description,
                        dec(ln.quantity),
                        str(ln.unit_price),
                        ln.need_by.isoformat(),
                    ]
                )
    with paths[3].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["gr_number", "po_number", "line_no", "quantity_received", "received_date"])
        for gr in world.goods_receipts:
            w.writerow([gr.gr_number, gr.po_number, gr.line_no, dec(gr.quantity), gr.received.isoformat()])
    return paths
