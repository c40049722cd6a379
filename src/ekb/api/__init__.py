"""The HTTP API: thin FastAPI routes over `ekb.kb.KnowledgeBase`."""

from ekb.api.app import create_app

__all__ = ["create_app"]
