"""Login sessions in tests: a real session row for ``login_as``, and the ``{own_session}`` /
``{other_session}`` matrix objects.

A feature helper of ``sessionary.testing``, written with the calls an app uses for its own
(:func:`~sessionary.testing.matrix_object`) and loaded by the plugin from its list of helpers.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from sessionary import clock
from sessionary.config import Settings
from sessionary.sessions import service as sessions_service
from sessionary.sessions.models import LoginSession
from sessionary.testing.isolation import TestProvider
from sessionary.testing.matrix import MatrixContext, matrix_object
from sessionary.users.models import User


async def open_test_session(
    database: TestProvider, settings: Settings, user: User, *, fresh: bool
) -> str:
    """A real session row for ``user``, its token returned; ``fresh=False`` puts it past the
    re-auth window."""
    authenticated_at = clock.now()
    if not fresh:
        authenticated_at -= timedelta(seconds=settings.reauth_window + 1)
    with database.queries.paused():
        async with database.write() as session:
            issued = await sessions_service.open_session(
                session,
                settings,
                user_id=user.id,
                username=user.username,
                authenticated_at=authenticated_at,
            )
            await session.commit()
    return issued.token


def _latest_session_of(context: MatrixContext, user_id: int) -> int | None:
    """None for a user without a session (an API key's owner: its answer is 403 first)."""
    latest = select(func.max(LoginSession.id)).where(LoginSession.user_id == user_id)
    found: int | None = context.fixture("db").scalar(latest)
    return found


@matrix_object("own_session")
def _own_session(context: MatrixContext) -> int | None:
    if context.user is None:  # anonymous: any id will do, the answer is 401
        return 1
    return _latest_session_of(context, context.user.id)


@matrix_object("other_session")
def _other_session(context: MatrixContext) -> int | None:
    other: User = context.fixture("user_factory")()
    context.fixture("login_as")(other)
    return _latest_session_of(context, other.id)
