"""Benchmarks that span the whole pipeline (stage benchmarks live next to their stage)."""
