"""sessionary.testing: a pytest plugin for real-database integration tests.

Installed with ``pip install 'sessionary[testing]'`` and registered through the
``pytest11`` entry point: the fixtures need no import. This module exports what
a test author may want to name, for types and for an app's own factories and
matrices::

    from sessionary.testing import AuthzMatrix, Factory, FactoryContext, LoginAs

    def test_profile(login_as: LoginAs) -> None: ...

The kernel's names are imported here; those of Sessionary's feature helpers
(``sessionary/users/testing.py``…, which import the kernel) on first use, so that
either side may be imported first.
"""

from sessionary.testing._extra import check_installed

check_installed()

# ruff: noqa: E402 - the check above must come before the imports it guards
import importlib
import warnings
from typing import TYPE_CHECKING, Any

from sessionary.testing.clients import SessionaryAsyncClient, SessionaryTestClient
from sessionary.testing.clock import Clock
from sessionary.testing.factories import Factory, FactoryContext
from sessionary.testing.isolation import CommittingDatabase, IsolatedDatabase, TestProvider
from sessionary.testing.mailbox import Mailbox
from sessionary.testing.matrix import (
    ANON,
    AuthzMatrix,
    MatrixContext,
    MatrixPrincipal,
    Row,
    matrix_object,
    matrix_principal,
)
from sessionary.testing.queries import QueryCounter
from sessionary.testing.sentinel import scan_for_secrets, track_secret
from sessionary.testing.settings_override import SettingsOverride
from sessionary.testing.sync_db import SyncDB

# The feature helpers' public names and the module that defines each (a test checks both).
_HELPERS: dict[str, str] = {
    "DEFAULT_PASSWORD": "sessionary.users.testing",
    "ApiKeyClientMaker": "sessionary.api_keys.testing",
    "ApiKeyFactory": "sessionary.api_keys.testing",
    "ApiKeyPrincipal": "sessionary.api_keys.testing",
    "AsyncApiKeyClientMaker": "sessionary.api_keys.testing",
    "AsyncLoginAs": "sessionary.auth.testing",
    "AuditLog": "sessionary.audit.testing",
    "IssuedApiKey": "sessionary.api_keys.testing",
    "LoginAs": "sessionary.auth.testing",
    "NoteFactory": "sessionary.notes.testing",
    "RoleFactory": "sessionary.roles.testing",
    "RolePrincipal": "sessionary.roles.testing",
    "ThrottleHandle": "sessionary.auth.testing",
    "UserFactory": "sessionary.users.testing",
    "sessionary_matrix": "sessionary.testing.builtin_matrix",
}

if TYPE_CHECKING:
    from sessionary.api_keys.testing import (
        ApiKeyClientMaker,
        ApiKeyFactory,
        ApiKeyPrincipal,
        AsyncApiKeyClientMaker,
        IssuedApiKey,
    )
    from sessionary.audit.testing import AuditLog
    from sessionary.auth.testing import AsyncLoginAs, LoginAs, ThrottleHandle
    from sessionary.notes.testing import NoteFactory
    from sessionary.roles.testing import RoleFactory, RolePrincipal
    from sessionary.testing.builtin_matrix import sessionary_matrix
    from sessionary.users.testing import DEFAULT_PASSWORD, UserFactory

__all__ = [
    "ANON",
    "DEFAULT_PASSWORD",
    "ApiKeyClientMaker",
    "ApiKeyFactory",
    "ApiKeyPrincipal",
    "AsyncApiKeyClientMaker",
    "AsyncLoginAs",
    "AuditLog",
    "AuthzMatrix",
    "Clock",
    "CommittingDatabase",
    "Factory",
    "FactoryContext",
    "IsolatedDatabase",
    "IssuedApiKey",
    "LoginAs",
    "Mailbox",
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
    "matrix_principal",
    "scan_for_secrets",
    "sessionary_matrix",
    "track_secret",
]

# The matrix principals' names before 0.2, which read like the models Role and ApiKey.
_RENAMED = {"Role": "RolePrincipal", "ApiKey": "ApiKeyPrincipal"}


def __getattr__(name: str) -> Any:
    if name in _HELPERS:
        value = getattr(importlib.import_module(_HELPERS[name]), name)
        globals()[name] = value  # looked up once
        return value
    if name in _RENAMED:
        warnings.warn(
            f"sessionary.testing.{name} is now {_RENAMED[name]} (the old name goes in 0.3)",
            DeprecationWarning,
            stacklevel=2,
        )
        return __getattr__(_RENAMED[name])
    raise AttributeError(f"module 'sessionary.testing' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
