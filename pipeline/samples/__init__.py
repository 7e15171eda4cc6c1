"""Synthetic AP documents (invoices, receipts, PO changes) with ground truth and matching reference data.

Entry points: `generate.generate` (CLI `docpipe samples generate`), `demo.generate_demo_set`,
`bench.run_bench` (CLI `docpipe bench samples`).
"""
