"""Saliency-method sanity checks: a reference replication (see README.md)."""

__version__ = "0.1.0"
