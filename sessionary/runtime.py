"""What Sessionary keeps for one app (``app.state.sessionary``), put there by ``install``.

One object instead of several ``app.state`` attributes; a unit of work sees it through
:class:`sessionary.context.Context`. It lives here, beside ``app.py``, because it holds
objects of features (the login throttle); ``core`` reads it through
:class:`sessionary.core.runtime.CoreRuntime`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage

from starlette.applications import Starlette

from sessionary.audit import service as audit
from sessionary.audit.service import EventType
from sessionary.auth.throttle import LoginThrottle
from sessionary.config import Settings
from sessionary.core.db import Database
from sessionary.core.runtime import installed
from sessionary.core.security import PasswordHasher
from sessionary.identity.credentials import CredentialResolver
from sessionary.mail.mailers import DeliveryFailed
from sessionary.mail.service import Mail


@dataclass(eq=False)
class Runtime:
    """Sessionary's objects for one app. Mutable on purpose: the test toolkit swaps the
    settings and the database for one test and puts them back."""

    settings: Settings
    database: Database
    hasher: PasswordHasher
    throttle: LoginThrottle
    # The mailer (``mail.mailer``), the templates and deliveries in flight (sessionary.mail).
    mail: Mail
    # Asked in order; the first that claims a request decides (identity.credentials).
    credentials: tuple[CredentialResolver, ...] = ()
    # Where Sessionary's routes are mounted ("" or "/api"), and which router groups.
    prefix: str = ""
    routers: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        hash_threads: int | None = None,
        credentials: tuple[CredentialResolver, ...] = (),
        prefix: str = "",
        routers: frozenset[str] = frozenset(),
    ) -> Runtime:
        """The runtime ``settings`` describe. Nothing connects yet: the database starts in the
        app's lifespan (or on first use), the throttle's storage on its first attempt.
        ``hash_threads`` overrides ``password_hash_threads`` (one command hashes once)."""
        runtime = cls(
            settings=settings,
            database=Database(settings),
            hasher=PasswordHasher(
                memory_cost=settings.password_memory_cost,
                time_cost=settings.password_time_cost,
                parallelism=settings.password_parallelism,
                threads=hash_threads or settings.password_hash_threads,
            ),
            throttle=LoginThrottle(settings),
            mail=Mail.from_settings(settings),
            credentials=credentials,
            prefix=prefix,
            routers=routers,
        )
        runtime.mail.on_failure = runtime.audit_mail_failure
        return runtime

    async def audit_mail_failure(self, message: EmailMessage, failure: DeliveryFailed) -> None:
        """A mail that never went is an audit event (``mail.failed``), besides the log line."""
        await audit.record_event_now(
            self.database,
            EventType.MAIL_FAILED,
            detail={"to": message["To"], "subject": message["Subject"], "error": str(failure)},
        )

    async def close(self) -> None:
        """Release what the runtime holds: mail still being delivered (a few seconds' grace,
        before the database, which a failure hook may use), pools, the throttle's storage,
        hashing threads."""
        try:
            await self.mail.drain()
            await self.database.stop()
        finally:
            await self.throttle.close()
            self.hasher.close()


def runtime_of(app: Starlette) -> Runtime:
    """``app``'s runtime (:class:`~sessionary.core.runtime.NotInstalled` without one)."""
    runtime: Runtime = installed(app)
    return runtime
