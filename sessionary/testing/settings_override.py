"""The object behind the ``settings`` fixture: one test's change to the app's settings."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from sessionary.config import Settings
from sessionary.runtime import runtime_of


class SettingsOverride:
    """``settings.name = value`` replaces the app's settings with a validated copy (the
    isolation fixture puts the originals back after the test)."""

    def __init__(self, app: FastAPI) -> None:
        object.__setattr__(self, "_app", app)

    def __getattr__(self, name: str) -> Any:
        return getattr(runtime_of(self._app).settings, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self.set(**{name: value})

    def set(self, **changes: Any) -> Settings:
        current: Settings = runtime_of(self._app).settings
        unknown = set(changes) - set(type(current).model_fields)
        if unknown:
            raise AttributeError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        updated = type(current).model_validate({**current.model_dump(), **changes})
        runtime_of(self._app).settings = updated
        return updated
