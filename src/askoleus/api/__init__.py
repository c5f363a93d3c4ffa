"""HTTP API: the app factory and its routes."""

from askoleus.api.app import create_app

__all__ = ["create_app"]
