"""An app's own factory, matrix objects and kind of principal, written with the public names
only — the calls Sessionary's feature helpers (``sessionary/*/testing.py``) use too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_type

import pytest
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI

from sessionary import clock
from sessionary.notes.models import Note
from sessionary.roles.models import Role
from sessionary.runtime import runtime_of
from sessionary.testing import (
    ANON,
    ApiKeyPrincipal,
    AuthzMatrix,
    Factory,
    FactoryContext,
    MatrixContext,
    Row,
    SessionaryTestClient,
    SyncDB,
    UserFactory,
    matrix_object,
    matrix_principal,
)
from sessionary.testing.isolation import TestProvider
from sessionary.testing.loops import PortalLoop
from sessionary.testing.matrix import run_cell
from sessionary.users.models import User


class MemoFactory(Factory[Note]):
    """Notes made by hand, as an app makes rows of its own models."""

    def __init__(self, context: FactoryContext, users: UserFactory) -> None:
        super().__init__(context)
        self.users = users

    async def acreate(self, *, owner: User | None = None, title: str | None = None) -> Note:
        owner = owner or await self.users.acreate()
        now = clock.now()
        async with self.transaction() as session:
            memo = Note(
                owner_id=owner.id,
                title=title or f"memo{self.next_number()}",
                body="",
                created_at=now,
                updated_at=now,
            )
            session.add(memo)
        return memo


@pytest.fixture
def memo_factory(factory_context: FactoryContext, user_factory: UserFactory) -> MemoFactory:
    return MemoFactory(factory_context, user_factory)


@matrix_object("own_memo")
def _own_memo(context: MatrixContext) -> int:
    owner = context.user or context.fixture("user_factory")()
    memo: Note = context.fixture("memo_factory")(owner=owner)
    return memo.id


@matrix_object("other_memo")
def _other_memo(context: MatrixContext) -> int:
    memo: Note = context.fixture("memo_factory")()
    return memo.id


@dataclass(frozen=True)
class NoteReader:
    """An app's own kind of principal: a user whose custom role only reads notes."""

    def __str__(self) -> str:
        return "note reader"


@matrix_principal(NoteReader)
def _note_reader_client(context: MatrixContext) -> SessionaryTestClient:
    role: Role = context.fixture("role_factory")(permissions=["notes:read"])
    client: SessionaryTestClient = context.fixture("login_as")(role.name)
    return client


# context.user is whoever the cell's client is: the member, the API key's owner, the reader.
test_memo_access = AuthzMatrix(
    principals=[ANON, "member", ApiKeyPrincipal("notes:read"), NoteReader()],
    rows=[
        ("GET", "/notes/{own_memo}", 401, 200, 200, 200),
        ("GET", "/notes/{other_memo}", 401, 404, 404, 404),
        Row("POST", "/notes", 401, 201, 403, 403, json={"title": "t", "body": ""}),
    ],
)


class TestAFactoryOfYourOwn:
    def test_1_sync_calls_make_typed_numbered_rows_in_the_test_database(
        self, memo_factory: MemoFactory, db: SyncDB
    ) -> None:
        first = memo_factory()
        batch = memo_factory.create_batch(2, title="same")

        assert_type(first, Note)
        assert_type(batch, list[Note])
        assert first.title == "memo1"
        assert [memo.title for memo in batch] == ["same", "same"]
        assert db.count(Note) == 3

    def test_2_the_rows_went_with_the_test_and_numbering_restarts(
        self, memo_factory: MemoFactory, db: SyncDB
    ) -> None:
        assert db.count(Note) == 0
        assert memo_factory().title == "memo1"

    @pytest.mark.anyio
    async def test_3_async_tests_await_acreate(
        self, memo_factory: MemoFactory, user_factory: UserFactory
    ) -> None:
        owner = await user_factory.acreate()

        memo = await memo_factory.acreate(owner=owner)
        more = await memo_factory.acreate_batch(2)

        assert_type(memo, Note)
        assert memo.owner_id == owner.id
        assert [m.title for m in more] == ["memo2", "memo3"]


class TestTheSignatureBeforeFactoryContext:
    def test_factory_of_database_and_loop_still_works(
        self,
        sessionary_app: FastAPI,
        sessionary_portal: BlockingPortal,
        user_factory: UserFactory,
        db: SyncDB,
    ) -> None:
        class Plain(Factory[Note]):
            async def acreate(self, *, owner: User) -> Note:
                async with self.transaction() as session:
                    memo = Note(
                        owner_id=owner.id, title="t", created_at=clock.now(), updated_at=clock.now()
                    )
                    session.add(memo)
                return memo

        database = runtime_of(sessionary_app).database
        assert isinstance(database, TestProvider)
        plain = Plain(database, PortalLoop(sessionary_portal))

        plain(owner=user_factory())

        assert db.count(Note) == 1


@pytest.mark.no_db
class TestMatrixObjectNames:
    def test_a_name_is_defined_once(self) -> None:
        with pytest.raises(ValueError, match=r"matrix object \{me\} is already defined by"):
            matrix_object("me")(lambda _: 1)

    def test_a_kind_of_principal_is_defined_once(self) -> None:
        with pytest.raises(ValueError, match="matrix principal NoteReader is already defined by"):
            matrix_principal(NoteReader)(lambda _: None)

    def test_a_kind_nobody_registered_is_a_usage_error(
        self, request: pytest.FixtureRequest
    ) -> None:
        with pytest.raises(pytest.UsageError, match=r"no client for 3\.5 principals"):
            run_cell(request, Row("GET", "/users/me", 200), 3.5, 200)
