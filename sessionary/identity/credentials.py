"""The credential resolvers a request is authenticated by, asked in order.

Each credential feature owns its query and resolver (``api_keys.credential.BearerKey``,
``sessions.credential.CookieSession``); the app's list is set at install time. The first
resolver that *claims* a request decides: a claimed request that it cannot resolve is 401,
whatever a later resolver would have said (a request with a bad API key is not
authenticated by its cookie).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from fastapi import Request

from sessionary.identity.principal import Principal


class CredentialResolver(Protocol):
    def claims(self, request: Request) -> bool:
        """Whether this credential kind is the one ``request`` presents."""
        ...

    async def resolve(self, request: Request) -> Principal | None:
        """The principal behind the claimed credential, or None for an unusable one."""
        ...


async def authenticate(
    resolvers: Sequence[CredentialResolver], request: Request
) -> Principal | None:
    for resolver in resolvers:
        if resolver.claims(request):
            return await resolver.resolve(request)
    return None
