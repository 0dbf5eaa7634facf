"""The module-level ASGI app (``uvicorn sessionary.main:app``), configured from the environment."""

from sessionary.app import create_app

app = create_app()
