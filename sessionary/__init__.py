"""Sessionary: cookie-session authentication, users, roles and permissions for FastAPI."""

__version__ = "0.1.0"
