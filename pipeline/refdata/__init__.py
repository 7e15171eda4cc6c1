"""Reference data: vendor master, purchase orders, goods receipts, document index (models, loader, repository)."""
