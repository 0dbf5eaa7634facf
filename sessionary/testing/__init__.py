"""sessionary.testing: a pytest plugin for real-database integration tests.

Registered through the ``pytest11`` entry point: the fixtures need no import.
This module exports what a test author may want to name, mostly for types::

    from sessionary.testing import LoginAs, UserFactory

    def test_profile(login_as: LoginAs, user_factory: UserFactory) -> None: ...
"""

from sessionary.testing.api_keys import (
    ApiKeyClientMaker,
    ApiKeyFactory,
    AsyncApiKeyClientMaker,
    IssuedApiKey,
)
from sessionary.testing.clients import SessionaryAsyncClient, SessionaryTestClient
from sessionary.testing.clock import Clock
from sessionary.testing.factories import DEFAULT_PASSWORD, Factory, RoleFactory, UserFactory
from sessionary.testing.handles import AsyncLoginAs, LoginAs, SettingsOverride, SyncDB
from sessionary.testing.isolation import CommittingDatabase, IsolatedDatabase, TestProvider
from sessionary.testing.matrix import ANON, ApiKey, AuthzMatrix, Role, Row, matrix_object
from sessionary.testing.notes import NoteFactory
from sessionary.testing.queries import QueryCounter
from sessionary.testing.throttling import ThrottleHandle

__all__ = [
    "ANON",
    "DEFAULT_PASSWORD",
    "ApiKey",
    "ApiKeyClientMaker",
    "ApiKeyFactory",
    "AsyncApiKeyClientMaker",
    "AsyncLoginAs",
    "AuthzMatrix",
    "Clock",
    "CommittingDatabase",
    "Factory",
    "IsolatedDatabase",
    "IssuedApiKey",
    "LoginAs",
    "NoteFactory",
    "QueryCounter",
    "Role",
    "RoleFactory",
    "Row",
    "SessionaryAsyncClient",
    "SessionaryTestClient",
    "SettingsOverride",
    "SyncDB",
    "TestProvider",
    "ThrottleHandle",
    "UserFactory",
    "matrix_object",
]
