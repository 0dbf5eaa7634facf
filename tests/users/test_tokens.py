"""Single-use mailed tokens (sessionary/users/tokens.py): issued, redeemed once, expired by the
clock, replaced by a newer one, and gone after a password change, a deactivation or deletion."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select

from sessionary.runtime import runtime_of
from sessionary.testing import Clock, SyncDB, UserFactory
from sessionary.users import service as users_service
from sessionary.users import tokens
from sessionary.users.models import AccountToken, User
from sessionary.users.tokens import Purpose, Redeemed

RESET = Purpose.PASSWORD_RESET
VERIFY = Purpose.VERIFY_EMAIL
TTL = timedelta(minutes=30)


def issue(db: SyncDB, user: User, purpose: Purpose = RESET, email: str | None = None) -> str:
    return db.run(lambda session: tokens.issue(session, user.id, purpose, TTL, email=email))


def redeem(db: SyncDB, token: str, purpose: Purpose = RESET) -> Redeemed | None:
    return db.run(lambda session: tokens.redeem(session, token, purpose))


class TestRedeem:
    def test_a_token_proves_its_user_once(self, db: SyncDB, user: User) -> None:
        token = issue(db, user)

        assert redeem(db, token) == Redeemed(user.id, None)
        assert redeem(db, token) is None

    def test_only_the_hash_is_stored(self, db: SyncDB, user: User) -> None:
        token = issue(db, user)

        (stored,) = db.execute(select(AccountToken.token_hash))
        assert stored.token_hash == hashlib.sha256(token.encode()).digest()

    def test_a_verification_token_carries_its_address(self, db: SyncDB, user: User) -> None:
        token = issue(db, user, VERIFY, email="new@example.com")

        assert redeem(db, token, VERIFY) == Redeemed(user.id, "new@example.com")

    def test_expired_at_its_deadline(self, db: SyncDB, user: User, clock: Clock) -> None:
        token = issue(db, user)
        clock.advance(minutes=30)

        assert redeem(db, token) is None

    def test_valid_until_then(self, db: SyncDB, user: User, clock: Clock) -> None:
        token = issue(db, user)
        clock.advance(minutes=29, seconds=59)

        assert redeem(db, token) == Redeemed(user.id, None)

    def test_another_purposes_token_does_not_count(self, db: SyncDB, user: User) -> None:
        token = issue(db, user, VERIFY, email="new@example.com")

        assert redeem(db, token, RESET) is None

    @pytest.mark.parametrize("token", ["", "short", "x" * 43 + "!", "a" * 44, "é" * 43])
    def test_malformed_or_unknown_is_none(self, db: SyncDB, user: User, token: str) -> None:
        issue(db, user)

        assert redeem(db, token) is None
        assert redeem(db, "A" * 43) is None


class TestReplacedAndForgotten:
    def test_a_newer_token_replaces_the_older(self, db: SyncDB, user: User) -> None:
        older = issue(db, user)
        newer = issue(db, user)

        assert redeem(db, older) is None
        assert redeem(db, newer) == Redeemed(user.id, None)

    def test_a_newer_token_of_another_purpose_leaves_it(self, db: SyncDB, user: User) -> None:
        reset = issue(db, user)
        issue(db, user, VERIFY, email="new@example.com")

        assert redeem(db, reset) == Redeemed(user.id, None)

    def test_another_users_token_is_untouched(self, db: SyncDB, user_factory: UserFactory) -> None:
        alice, bob = user_factory(), user_factory()
        token = issue(db, alice)
        issue(db, bob)

        assert redeem(db, token) == Redeemed(alice.id, None)

    def test_a_password_change_forgets_every_token(
        self, db: SyncDB, user: User, sessionary_app: FastAPI
    ) -> None:
        reset, verify = issue(db, user), issue(db, user, VERIFY, email="new@example.com")
        hasher = runtime_of(sessionary_app).hasher

        db.run(
            lambda session: users_service.store_password(
                session, hasher, user.id, "a-new-long-passphrase"
            )
        )

        assert redeem(db, reset) is None
        assert redeem(db, verify, VERIFY) is None

    def test_deactivation_forgets_every_token(
        self, db: SyncDB, user: User, sessionary_app: FastAPI
    ) -> None:
        token = issue(db, user)
        settings = runtime_of(sessionary_app).settings

        db.run(lambda session: users_service.deactivate(session, settings, user))

        assert redeem(db, token) is None

    def test_deleting_the_user_deletes_their_tokens(self, db: SyncDB, user: User) -> None:
        issue(db, user)

        db.execute(delete(User).where(User.id == user.id))

        assert db.count(AccountToken) == 0

    def test_purge_deletes_only_expired_tokens(
        self, db: SyncDB, user_factory: UserFactory, clock: Clock
    ) -> None:
        issue(db, user_factory())
        clock.advance(minutes=20)
        fresh = issue(db, user_factory())
        clock.advance(minutes=15)

        assert db.run(tokens.purge) == 1
        assert redeem(db, fresh) is not None
