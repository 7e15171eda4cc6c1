"""docpipe: event-driven accounts-payable document pipeline."""

__version__ = "0.1.0"
