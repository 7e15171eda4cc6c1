"""Reference data agrees with the documents: vendors, tax ids, IBANs, and PO matches by design."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from stdnum import iban as std_iban

from tests.unit.samples.conftest import load_truths


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_csv_headers_follow_the_contract(invoice_set: Path) -> None:
    ref = invoice_set / "refdata"
    expected = {
        "vendors.csv": "vendor_id,name,aliases,country,locale,currency,tax_id,iban,active",
        "purchase_orders.csv": "po_number,vendor_id,currency,order_date,status",
        "po_lines.csv": "po_number,line_no,sku,description,quantity,unit_price,need_by_date",
        "goods_receipts.csv": "gr_number,po_number,line_no,quantity_received,received_date",
    }
    for name, header in expected.items():
        assert (ref / name).read_text(encoding="utf-8").splitlines()[0] == header


def test_invoices_match_vendor_master_and_pos(invoice_set: Path) -> None:
    ref = invoice_set / "refdata"
    vendors = {v["vendor_id"]: v for v in _csv(ref / "vendors.csv")}
    pos = {p["po_number"]: p for p in _csv(ref / "purchase_orders.csv")}
    lines = defaultdict(list)
    for ln in _csv(ref / "po_lines.csv"):
        lines[ln["po_number"]].append(ln)
    received = defaultdict(Decimal)
    for gr in _csv(ref / "goods_receipts.csv"):
        received[(gr["po_number"], gr["line_no"])] += Decimal(gr["quantity_received"])
    outcomes = set()
    for t in load_truths(invoice_set):
        f, x = t["fields"], t["extras"]
        if "unknown_vendor" in t["hard_cases"]:
            assert x["vendor_id"] is None
            assert f["vendor"]["value"] not in {v["name"] for v in vendors.values()}
            assert f["vendor_tax_id"]["value"] not in {v["tax_id"] for v in vendors.values()}
            continue
        vendor = vendors[x["vendor_id"]]
        assert vendor["active"] == ("false" if "inactive_vendor" in t["hard_cases"] else "true")
        assert f["vendor"]["value"] == vendor["name"]
        if "vendor_alias" in t["hard_cases"]:
            assert f["vendor"]["raw"] in vendor["aliases"].split("|")
        assert f["vendor_tax_id"]["value"] == vendor["tax_id"].replace("-", "")
        assert (f["currency"]["value"] != vendor["currency"]) == ("foreign_currency" in t["hard_cases"])
        if vendor["iban"] and "changed_bank_account" not in t["hard_cases"]:
            assert f["iban"]["value"] == vendor["iban"]
        match = x["po_match"]
        outcomes.add(match)
        po_number = f["po_number"]["value"]
        if match == "none":
            assert not f["po_number"]["present"]
            continue
        if match == "unknown_po":
            assert po_number not in pos
            continue
        assert pos[po_number]["vendor_id"] == vendor["vendor_id"]
        stored = [(Decimal(ln["quantity"]), Decimal(ln["unit_price"])) for ln in lines[po_number]]
        billed = [
            (Decimal(i["quantity"]["value"]), Decimal(i["unit_price"]["value"])) for i in t["line_items"]
        ]
        fully_received = all(received[(po_number, str(k + 1))] == qty for k, (qty, _) in enumerate(billed))
        if match == "match":
            assert stored == billed and fully_received
        else:
            assert stored != billed or not fully_received
    assert outcomes == {"match", "partial", "unknown_po", "none"}


def test_vendor_ibans_valid_and_unique(invoice_set: Path) -> None:
    vendors = _csv(invoice_set / "refdata" / "vendors.csv")
    ibans = [v["iban"] for v in vendors if v["iban"]]
    assert len(ibans) == len(set(ibans))
    assert all(std_iban.is_valid(i) for i in ibans)


def test_po_changes_refer_to_stored_lines(po_change_set: Path) -> None:
    ref = po_change_set / "refdata"
    stored = {(ln["po_number"], int(ln["line_no"])): ln for ln in _csv(ref / "po_lines.csv")}
    for t in load_truths(po_change_set):
        doc = json.loads((po_change_set / "documents" / f"{t['doc_id']}.json").read_text())
        assert doc["document_type"] == "po_change"
        assert doc["po_number"] == t["fields"]["po_number"]["value"]
        assert doc["lines"] == t["fields"]["changed_lines"]["value"]
        delta = Decimal(0)
        for line in doc["lines"]:
            key = (doc["po_number"], line["line_no"])
            new_value = (
                Decimal(0)
                if line["action"] == "remove"
                else Decimal(line["quantity"]) * Decimal(line["unit_price"])
            )
            if line["action"] == "add":
                assert key not in stored
                old_value = Decimal(0)
            else:
                old = stored[key]
                assert old["sku"] == line["sku"]
                old_value = Decimal(old["quantity"]) * Decimal(old["unit_price"])
            delta += new_value - old_value
        assert Decimal(t["extras"]["deltas"]["total_value_delta"]) == delta.quantize(Decimal("0.01"))
