"""Follow documents to a terminal state from their status events (pure; fed by `docpipe up --demo`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.topics import APPROVED, DLQ, REJECTED

FINAL_STAGE = "review-intake"


@dataclass
class DocProgress:
    document_id: str
    stage: str = "ingest"
    state: str = "submitted"
    detail: str = ""
    outcome: str | None = None  # approved | exception | rejected | dead_lettered


@dataclass
class Tracker:
    final_stage: str = FINAL_STAGE
    docs: dict[str, DocProgress] = field(default_factory=dict)

    def expect(self, document_id: str) -> None:
        self.docs.setdefault(document_id, DocProgress(document_id))

    def observe(self, status_event: dict[str, Any]) -> None:
        doc_id = status_event["document_id"]
        if doc_id not in self.docs:
            return
        p = status_event["payload"]
        prog = self.docs[doc_id]
        if prog.outcome is not None and p["state"] == "skipped_duplicate":
            return
        prog.stage, prog.state, prog.detail = p["stage"], p["state"], p.get("detail", "")
        if p["state"] == "dead_lettered":
            prog.outcome = "dead_lettered"
        elif p["stage"] == self.final_stage and p["state"] in ("done", "exception", "approved", "rejected"):
            nxt = p.get("next_topic") or ""
            if p["state"] in ("approved", "rejected", "exception"):
                prog.outcome = p["state"]
            elif APPROVED in nxt:
                prog.outcome = "approved"
            elif REJECTED in nxt:
                prog.outcome = "rejected"
            elif DLQ in nxt:
                prog.outcome = "dead_lettered"
            else:
                prog.outcome = "exception"

    @property
    def done(self) -> bool:
        return all(p.outcome is not None for p in self.docs.values())

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.docs.values():
            key = p.outcome or f"in {p.stage}"
            out[key] = out.get(key, 0) + 1
        return out
