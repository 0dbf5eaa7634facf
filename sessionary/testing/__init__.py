"""sessionary.testing: a pytest plugin for real-database integration tests.

Registered through the ``pytest11`` entry point: the fixtures need no import.
This module exports what a test author may want to name, mostly for types::

    from sessionary.testing import LoginAs, UserFactory

    def test_profile(login_as: LoginAs, user_factory: UserFactory) -> None: ...
"""

from sessionary.testing.clock import Clock
from sessionary.testing.factories import DEFAULT_PASSWORD, Factory, UserFactory
from sessionary.testing.handles import LoginAs, SettingsOverride, SyncDB
from sessionary.testing.isolation import IsolatedDatabase, Isolation
from sessionary.testing.queries import QueryCounter

__all__ = [
    "DEFAULT_PASSWORD",
    "Clock",
    "Factory",
    "IsolatedDatabase",
    "Isolation",
    "LoginAs",
    "QueryCounter",
    "SettingsOverride",
    "SyncDB",
    "UserFactory",
]
