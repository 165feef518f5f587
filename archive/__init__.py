"""News article archive with near-duplicate detection on ingest."""

__version__ = "0.1.0"
