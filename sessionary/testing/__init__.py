"""sessionary.testing: a pytest plugin for real-database integration tests.

Installed with ``pip install 'sessionary[testing]'`` and registered through the
``pytest11`` entry point: the fixtures need no import. This module exports what
a test author may want to name, for types and for an app's own factories and
matrices::

    from sessionary.testing import AuthzMatrix, Factory, FactoryContext, LoginAs

    def test_profile(login_as: LoginAs) -> None: ...
"""

from sessionary.testing._extra import check_installed

check_installed()

# ruff: noqa: E402 - the check above must come before the imports it guards
import warnings
from typing import Any

from sessionary.testing.api_keys import (
    ApiKeyClientMaker,
    ApiKeyFactory,
    AsyncApiKeyClientMaker,
    IssuedApiKey,
)
from sessionary.testing.builtin_matrix import sessionary_matrix
from sessionary.testing.clients import SessionaryAsyncClient, SessionaryTestClient
from sessionary.testing.clock import Clock
from sessionary.testing.factories import (
    DEFAULT_PASSWORD,
    Factory,
    FactoryContext,
    RoleFactory,
    UserFactory,
)
from sessionary.testing.handles import AsyncLoginAs, LoginAs, SettingsOverride, SyncDB
from sessionary.testing.isolation import CommittingDatabase, IsolatedDatabase, TestProvider
from sessionary.testing.matrix import (
    ANON,
    ApiKeyPrincipal,
    AuthzMatrix,
    MatrixContext,
    MatrixPrincipal,
    RolePrincipal,
    Row,
    matrix_object,
)
from sessionary.testing.notes import NoteFactory
from sessionary.testing.queries import QueryCounter
from sessionary.testing.throttling import ThrottleHandle

__all__ = [
    "ANON",
    "DEFAULT_PASSWORD",
    "ApiKeyClientMaker",
    "ApiKeyFactory",
    "ApiKeyPrincipal",
    "AsyncApiKeyClientMaker",
    "AsyncLoginAs",
    "AuthzMatrix",
    "Clock",
    "CommittingDatabase",
    "Factory",
    "FactoryContext",
    "IsolatedDatabase",
    "IssuedApiKey",
    "LoginAs",
    "MatrixContext",
    "MatrixPrincipal",
    "NoteFactory",
    "QueryCounter",
    "RoleFactory",
    "RolePrincipal",
    "Row",
    "SessionaryAsyncClient",
    "SessionaryTestClient",
    "SettingsOverride",
    "SyncDB",
    "TestProvider",
    "ThrottleHandle",
    "UserFactory",
    "matrix_object",
    "sessionary_matrix",
]

# The matrix principals' names before 0.2, which read like the models Role and ApiKey.
_RENAMED = {"Role": RolePrincipal, "ApiKey": ApiKeyPrincipal}


def __getattr__(name: str) -> Any:
    if name in _RENAMED:
        new = _RENAMED[name]
        warnings.warn(
            f"sessionary.testing.{name} is now {new.__name__} (the old name goes in 0.3)",
            DeprecationWarning,
            stacklevel=2,
        )
        return new
    raise AttributeError(f"module 'sessionary.testing' has no attribute {name!r}")
