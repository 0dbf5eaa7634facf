"""The fastapi-users reference of the benchmark (SPEC §8), set up the way its documentation shows.

SQLAlchemy models (``SQLAlchemyBaseUserTable[int]``, ``SQLAlchemyBaseAccessTokenTable[int]``),
one ``DatabaseStrategy`` behind two backends — ``CookieTransport`` (cookie ``session_cookie``)
and ``BearerTransport`` — the auth, register and users routers, and ``GET /protected_data/``
guarded by ``current_user(active=True)``. It runs in its own venv (``uv sync --frozen`` of this
folder's lock), never in Sessionary's.

    BENCH_FU_DATABASE_URL=sqlite+aiosqlite:///fu.db .venv/bin/python app.py   # create the tables
    BENCH_FU_DATABASE_URL=sqlite+aiosqlite:///fu.db .venv/bin/uvicorn app:app --no-access-log

The app never creates tables at start-up: ``python app.py`` does, as a separate step.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncGenerator
from typing import Any

from fastapi import Depends, FastAPI
from fastapi_users import BaseUserManager, FastAPIUsers, IntegerIDMixin, schemas
from fastapi_users.authentication import (
    AuthenticationBackend,
    BearerTransport,
    CookieTransport,
)
from fastapi_users.authentication.strategy.db import DatabaseStrategy
from fastapi_users.db import SQLAlchemyBaseUserTable, SQLAlchemyUserDatabase
from fastapi_users_db_sqlalchemy.access_token import (
    SQLAlchemyAccessTokenDatabase,
    SQLAlchemyBaseAccessTokenTable,
)
from sqlalchemy import ForeignKey, Integer
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

DATABASE_URL = os.environ["BENCH_FU_DATABASE_URL"]
# Only reset-password and verification tokens are signed with it; neither is benchmarked.
TOKEN_SECRET = os.environ.get("BENCH_FU_SECRET") or secrets.token_urlsafe(32)
TOKEN_LIFETIME = 3600


# -- database ----------------------------------------------------------------------------


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTable[int], Base):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)


class AccessToken(SQLAlchemyBaseAccessTokenTable[int], Base):
    @declared_attr
    def user_id(cls) -> Mapped[int]:  # noqa: N805 - SQLAlchemy's declared_attr takes the class
        return mapped_column(Integer, ForeignKey("user.id", ondelete="cascade"), nullable=False)


# Sessionary's pool on PostgreSQL: 10 connections, no overflow; SQLite keeps the default.
POOL: dict[str, Any] = {}
if make_url(DATABASE_URL).get_backend_name() == "postgresql":
    POOL = {"pool_size": 10, "max_overflow": 0}
engine = create_async_engine(DATABASE_URL, **POOL)
async_session_maker = async_sessionmaker(engine, expire_on_commit=False)


async def create_db_and_tables() -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    await engine.dispose()


async def get_async_session() -> AsyncGenerator[AsyncSession, None]:
    async with async_session_maker() as session:
        yield session


async def get_user_db(
    session: AsyncSession = Depends(get_async_session),
) -> AsyncGenerator[SQLAlchemyUserDatabase[User, int], None]:
    yield SQLAlchemyUserDatabase(session, User)


async def get_access_token_db(
    session: AsyncSession = Depends(get_async_session),
) -> AsyncGenerator[SQLAlchemyAccessTokenDatabase[AccessToken], None]:
    yield SQLAlchemyAccessTokenDatabase(session, AccessToken)


# -- users -------------------------------------------------------------------------------


class UserRead(schemas.BaseUser[int]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


class UserUpdate(schemas.BaseUserUpdate):
    pass


class UserManager(IntegerIDMixin, BaseUserManager[User, int]):
    reset_password_token_secret = TOKEN_SECRET
    verification_token_secret = TOKEN_SECRET


async def get_user_manager(
    user_db: SQLAlchemyUserDatabase[User, int] = Depends(get_user_db),
) -> AsyncGenerator[UserManager, None]:
    yield UserManager(user_db)


# -- authentication ----------------------------------------------------------------------


def get_database_strategy(
    access_token_db: SQLAlchemyAccessTokenDatabase[AccessToken] = Depends(get_access_token_db),
) -> DatabaseStrategy[User, int, AccessToken]:
    return DatabaseStrategy(access_token_db, lifetime_seconds=TOKEN_LIFETIME)


cookie_backend = AuthenticationBackend(
    name="cookie",
    transport=CookieTransport(cookie_name="session_cookie", cookie_secure=False),
    get_strategy=get_database_strategy,
)
bearer_backend = AuthenticationBackend(
    name="bearer",
    transport=BearerTransport(tokenUrl="auth/bearer/login"),
    get_strategy=get_database_strategy,
)

fastapi_users = FastAPIUsers[User, int](get_user_manager, [cookie_backend, bearer_backend])
current_active_user = fastapi_users.current_user(active=True)


# -- the app -----------------------------------------------------------------------------

app = FastAPI()
app.include_router(
    fastapi_users.get_auth_router(cookie_backend), prefix="/auth/cookie", tags=["auth"]
)
app.include_router(
    fastapi_users.get_auth_router(bearer_backend), prefix="/auth/bearer", tags=["auth"]
)
app.include_router(
    fastapi_users.get_register_router(UserRead, UserCreate), prefix="/auth", tags=["auth"]
)
app.include_router(
    fastapi_users.get_users_router(UserRead, UserUpdate), prefix="/users", tags=["users"]
)


@app.get("/protected_data/")
async def protected_data(user: User = Depends(current_active_user)) -> dict[str, Any]:
    return {"user_id": user.id, "username": user.email, "email": user.email}


if __name__ == "__main__":
    asyncio.run(create_db_and_tables())
