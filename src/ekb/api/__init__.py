"""The HTTP API: thin FastAPI routes over `ekb.kb.KnowledgeBase`."""

from ekb.api.app import create_app  # noqa: I001

__all__ = ["create_app"]
