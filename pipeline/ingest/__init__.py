"""Ingestion: detect what a file is, store it content-addressed, announce it."""
