"""ekb: a graph-based enterprise knowledge base."""

__version__ = "0.1.0"
