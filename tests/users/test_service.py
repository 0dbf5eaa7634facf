"""Account creation rules: usernames (NFKC, case-folded uniqueness, 1-64 of a small alphabet),
emails (unique case-insensitively), roles, the password policy and UTC timestamps."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary.core.password_policy import MAX_LENGTH, MIN_LENGTH, policy_violation
from sessionary.errors import Conflict, InvalidInput, NotFound
from sessionary.roles.models import UserRole
from sessionary.roles.permissions import MEMBER
from sessionary.runtime import runtime_of
from sessionary.testing import Clock, SyncDB
from sessionary.users import service as users_service
from sessionary.users.models import User
from sessionary.users.service import WeakPassword
from sessionary.users.usernames import USERNAME_MAX

GOOD_PASSWORD = "plum-orbit-lantern-42"

CreateUser = Callable[..., User]


@pytest.fixture
def create_user(db: SyncDB, sessionary_app: FastAPI) -> CreateUser:
    """``create_user(username, email=…, password=…, roles=…)`` through the real service."""
    hasher = runtime_of(sessionary_app).hasher

    def create(
        username: str,
        *,
        email: str | None = None,
        password: str = GOOD_PASSWORD,
        roles: Iterable[str] = (MEMBER,),
    ) -> User:
        address = f"{username.encode().hex()}@example.com" if email is None else email
        return db.run(
            lambda session: users_service.create_user(
                session,
                hasher,
                username=username,
                email=address,
                password=password,
                roles=list(roles),
            )
        )

    return create


def user_count(db: SyncDB) -> int:
    return db.count(User)


class TestUsernameUniqueness:
    def test_different_case_is_a_conflict(self, create_user: CreateUser, db: SyncDB) -> None:
        create_user("alice")

        with pytest.raises(Conflict, match="Username already taken"):
            create_user("Alice")
        assert user_count(db) == 1

    def test_full_width_form_is_a_conflict(self, create_user: CreateUser, db: SyncDB) -> None:
        create_user("alice")

        with pytest.raises(Conflict):
            create_user("ａｌｉｃｅ")  # noqa: RUF001 - full-width on purpose
        with pytest.raises(Conflict):
            create_user("ＡＬＩＣＥ")  # noqa: RUF001
        assert user_count(db) == 1

    def test_casefold_not_just_lower(self, create_user: CreateUser) -> None:
        create_user("strasse")

        with pytest.raises(Conflict):
            create_user("STRAßE")  # ß casefolds to "ss"

    def test_distinct_names_coexist(self, create_user: CreateUser, db: SyncDB) -> None:
        create_user("alice")
        create_user("alice2")

        assert user_count(db) == 2

    def test_the_unique_constraint_catches_a_concurrent_twin(
        self, db: SyncDB, sessionary_app: FastAPI, create_user: CreateUser
    ) -> None:
        create_user("alice")
        hasher = runtime_of(sessionary_app).hasher

        async def racing(session: AsyncSession) -> User:
            # The twin's existence check ran before "alice" committed: it sees nobody.
            async def nobody(*_args: Any, **_kwargs: Any) -> int:
                return 0

            session.scalar = nobody  # type: ignore[method-assign, assignment]
            return await users_service.create_user(
                session, hasher, username="ALICE", email="twin@example.com", password=GOOD_PASSWORD
            )

        with pytest.raises(Conflict):
            db.run(racing)
        # The failed flush did not poison the test's transaction.
        assert user_count(db) == 1


class TestUsernameShape:
    def test_shown_as_entered_after_nfkc(self, create_user: CreateUser, db: SyncDB) -> None:
        mixed = create_user("Alice.Smith")
        wide = create_user("ＢＯＢ")  # noqa: RUF001

        assert mixed.username == "Alice.Smith"
        assert wide.username == "BOB"
        assert db.scalar(select(User.username).where(User.id == wide.id)) == "BOB"

    @pytest.mark.parametrize("name", ["a", "a" * USERNAME_MAX, "dots.dash-under_at@plus+", "Zoë"])
    def test_valid_names(self, create_user: CreateUser, name: str) -> None:
        assert create_user(name).username == name

    @pytest.mark.parametrize(
        "name",
        [
            pytest.param("", id="empty"),
            pytest.param("a" * (USERNAME_MAX + 1), id="65-chars"),
            pytest.param("ﬁ" * 33, id="66-chars-after-nfkc"),
            pytest.param("with space", id="space"),
            pytest.param("slash/name", id="slash"),
            pytest.param("quote'name", id="quote"),
            pytest.param("tab\tname", id="control"),
            pytest.param("emoji😀", id="emoji"),
        ],
    )
    def test_invalid_names_are_invalid_input(
        self, create_user: CreateUser, db: SyncDB, name: str
    ) -> None:
        with pytest.raises(InvalidInput, match="Username"):
            create_user(name)
        assert user_count(db) == 0


class TestEmails:
    def test_unique_case_insensitively(self, create_user: CreateUser, db: SyncDB) -> None:
        create_user("alice", email="Alice@Example.com")

        with pytest.raises(Conflict, match="Email already in use"):
            create_user("bob", email="alice@example.COM")
        assert user_count(db) == 1

    def test_kept_as_given(self, create_user: CreateUser) -> None:
        assert create_user("alice", email="Alice@Example.com").email == "Alice@Example.com"

    @pytest.mark.parametrize("email", ["", "   ", "a" * 243 + "@example.com"])
    def test_empty_or_over_254_is_invalid_input(self, create_user: CreateUser, email: str) -> None:
        with pytest.raises(InvalidInput, match="Email"):
            create_user("alice", email=email)


class TestRoles:
    def test_new_users_are_members(self, create_user: CreateUser, db: SyncDB) -> None:
        alice = create_user("alice")

        assert db.count(UserRole, UserRole.user_id == alice.id) == 1
        assert db.scalar(select(UserRole.role_name).where(UserRole.user_id == alice.id)) == MEMBER

    def test_unknown_role_is_not_found_naming_it(self, create_user: CreateUser, db: SyncDB) -> None:
        with pytest.raises(NotFound, match="wizard"):
            create_user("alice", roles=["member", "wizard"])
        assert user_count(db) == 0


class TestPasswordPolicy:
    def test_good_password_passes(self) -> None:
        assert policy_violation(GOOD_PASSWORD, username="alice") is None

    def test_too_short(self) -> None:
        assert policy_violation("x7#kq2!") == f"Password must be at least {MIN_LENGTH} characters"
        assert policy_violation("x7#kq2!z") is None

    def test_too_long_counts_code_points(self) -> None:
        assert policy_violation("😀" * MAX_LENGTH) is None  # 128 code points, 512 UTF-8 bytes
        assert policy_violation("😀" * (MAX_LENGTH + 1)) == (
            f"Password must be at most {MAX_LENGTH} characters"
        )

    def test_nfkc_applies_before_length(self) -> None:
        # U+FB03 "ﬃ" is one code point that NFKC expands to "ffi".
        assert policy_violation("ﬃ" * 3) is None  # 3 entered, 9 after NFKC
        assert policy_violation("ﬃ" * 43) is not None  # 43 entered, 129 after NFKC

    @pytest.mark.parametrize(
        "password",
        ["password", "PASSWORD", "Password1", "iloveyou", "ｐａｓｓｗｏｒｄ"],  # noqa: RUF001
    )
    def test_common_passwords_are_refused(self, password: str) -> None:
        assert policy_violation(password) == "Password is too common"

    def test_the_common_list_is_the_big_one(self) -> None:
        from zxcvbn.frequency_lists import FREQUENCY_LISTS

        common = FREQUENCY_LISTS["passwords"]
        assert len(common) >= 30_000
        long_enough = [word for word in common if len(word) >= MIN_LENGTH]
        assert all(policy_violation(word) == "Password is too common" for word in long_enough)

    def test_equal_to_username_is_refused(self) -> None:
        assert policy_violation("AliceSmith77", username="alicesmith77") == (
            "Password must not be the username"
        )
        assert policy_violation("alicesmith77", username="ＡｌｉｃｅＳｍｉｔｈ７７") is not None  # noqa: RUF001

    def test_no_composition_rules(self) -> None:
        assert policy_violation("all lowercase words here") is None

    def test_create_user_enforces_it(self, create_user: CreateUser, db: SyncDB) -> None:
        with pytest.raises(WeakPassword, match="too common"):
            create_user("alice", password="password1")
        with pytest.raises(WeakPassword, match="username"):
            create_user("carol-the-admin", password="Carol-The-Admin")
        assert user_count(db) == 0


class TestTimestamps:
    def test_come_back_timezone_aware_utc(self, create_user: CreateUser, db: SyncDB) -> None:
        alice = create_user("alice")

        stored = db.get(User, alice.id)

        assert stored is not None
        assert stored.created_at.utcoffset() == timedelta(0)
        assert stored.updated_at.utcoffset() == timedelta(0)

    def test_store_the_clock_instant(
        self, create_user: CreateUser, db: SyncDB, clock: Clock
    ) -> None:
        clock.set(datetime(2031, 5, 6, 23, 30, tzinfo=timezone(timedelta(hours=-7))))

        alice = create_user("alice")

        stored = db.scalar(select(User.created_at).where(User.id == alice.id))
        assert stored == datetime(2031, 5, 7, 6, 30, tzinfo=UTC)
        assert stored.tzinfo is not None
        assert stored.utcoffset() == timedelta(0)

    def test_stored_wall_time_is_utc(
        self, create_user: CreateUser, db: SyncDB, clock: Clock, sessionary_app: FastAPI
    ) -> None:
        clock.set(datetime(2031, 5, 7, 6, 30, tzinfo=UTC))
        alice = create_user("alice")

        if runtime_of(sessionary_app).settings.is_sqlite:
            raw = db.scalar(text("SELECT created_at FROM users WHERE id = :id"), {"id": alice.id})
            assert str(raw).startswith("2031-05-07 06:30:00")
        else:
            raw = db.scalar(
                text(
                    "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') "
                    "FROM users WHERE id = :id"
                ),
                {"id": alice.id},
            )
            assert raw == "2031-05-07 06:30"


class TestEmailShape:
    @pytest.mark.parametrize("email", ["not-an-email", "a@", "@b", "a b@c.d", "a@b@c"])
    def test_malformed_email_is_invalid_input(
        self, db: SyncDB, sessionary_app: FastAPI, email: str
    ) -> None:
        hasher = runtime_of(sessionary_app).hasher
        with pytest.raises(InvalidInput, match="Email must look like"):
            db.run(
                lambda session: users_service.create_user(
                    session, hasher, username="eve", email=email, password="long-enough-pw"
                )
            )
