"""Rare hard cases need more documents than the shared set: injection, duplicates, changed IBAN, credit notes,
"total due" labels. Content and truth only (born-digital PDFs are fast)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from stdnum import iban as std_iban

from pipeline.samples.generate import Request, iter_documents
from pipeline.samples.world import World


def test_rare_hard_cases_are_generated_and_consistent() -> None:
    world = World(4)
    docs = [d.truth for d in iter_documents(Request("invoice", 120, 4, "pdf"), world)]
    tags = Counter(h for t in docs for h in t["hard_cases"])
    for tag in (
        "prompt_injection",
        "duplicate",
        "changed_bank_account",
        "credit_note",
        "subtotal_vs_total_due",
        "prepayment_balance_due",
        "vendor_alias",
        "ambiguous_date",
        "foreign_currency",
    ):
        assert tags[tag] > 0, (tag, tags)
    by_id = {t["doc_id"]: t for t in docs}
    for t in docs:
        f, x = t["fields"], t["extras"]
        if "prompt_injection" in t["hard_cases"]:
            assert any(r["text"] == x["injection"] for r in t["runs"])
        if "duplicate" in t["hard_cases"]:
            original = by_id[x["duplicate_of"]]
            assert original["doc_id"] < t["doc_id"]
            for name in ("vendor", "invoice_number", "invoice_date", "total"):
                assert f[name]["value"] == original["fields"][name]["value"]
        if "changed_bank_account" in t["hard_cases"]:
            assert f["iban"]["value"] != x["vendor_master_iban"]
            assert std_iban.is_valid(f["iban"]["value"])
        elif f["iban"]["present"]:
            assert f["iban"]["value"] == x["vendor_master_iban"]
        if "credit_note" in t["hard_cases"]:
            assert Decimal(f["total"]["value"]) < 0
        if "subtotal_vs_total_due" in t["hard_cases"]:
            labels = [r["text"] for r in t["runs"]]
            assert f["subtotal"]["present"] and f["total"]["present"]
            assert any(
                lbl in labels
                for lbl in (
                    "Total Due",
                    "Amount Due",
                    "Balance Due",
                    "TOTAL DUE",
                    "Zahlbetrag",
                    "Offener Betrag",
                    "Zu zahlen",
                    "Net à payer",
                    "Reste à payer",
                    "Montant dû",
                    "Total a pagar",
                    "Importe pendiente",
                    "Te betalen",
                    "Openstaand bedrag",
                )
            )
        if "prepayment_balance_due" in t["hard_cases"]:
            assert Decimal(x["amount_due"]) < Decimal(f["total"]["value"])
