"""Reference data: vendor master, POs, goods receipts, document index (models, loader, repository)."""
