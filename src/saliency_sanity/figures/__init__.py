"""Figures: drawn from saved results only (never trains or attributes). matplotlib is imported
lazily, with the Agg backend, so the library imports without a display."""
