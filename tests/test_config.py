"""Settings: read from ``SESSIONARY_`` variables (and ``.env``), list forms, validation,
defaults, and settings passed into ``create_app`` rather than read from a global."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from sessionary import migrations
from sessionary.app import create_app
from sessionary.config import DEFAULT_DATABASE_URL, LogFormat, Settings
from sessionary.core.db import Database
from sessionary.core.security import PasswordHasher
from sessionary.runtime import runtime_of
from sessionary.testing import DEFAULT_PASSWORD
from sessionary.users import service as users_service
from sessionary.users.testing import cached_hash

pytestmark = [pytest.mark.no_db, pytest.mark.usefixtures("no_sessionary_env")]


def load(**kwargs: Any) -> Settings:
    return Settings(**kwargs)


class TestEnvironment:
    def test_reads_prefixed_variables(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SESSIONARY_DATABASE_URL", "sqlite+aiosqlite:///./other.db")
        monkeypatch.setenv("SESSIONARY_SESSION_COOKIE_NAME", "sid")
        monkeypatch.setenv("SESSIONARY_SESSION_COOKIE_SECURE", "false")
        monkeypatch.setenv("SESSIONARY_SESSION_IDLE_TIMEOUT", "600")
        monkeypatch.setenv("SESSIONARY_ALLOW_REGISTRATION", "true")
        monkeypatch.setenv("SESSIONARY_LOG_FORMAT", "json")

        settings = load()

        assert settings.database_url == "sqlite+aiosqlite:///./other.db"
        assert settings.session_cookie_name == "sid"
        assert settings.session_cookie_secure is False
        assert settings.session_idle_timeout == 600
        assert settings.allow_registration is True
        assert settings.log_format is LogFormat.JSON

    def test_unprefixed_variables_are_ignored(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SESSION_COOKIE_NAME", "sid")
        monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1/prod")

        settings = load()

        assert settings.session_cookie_name == "session_cookie"
        assert settings.database_url == DEFAULT_DATABASE_URL

    def test_reads_dot_env_in_the_working_directory(self, tmp_path: Path) -> None:
        (tmp_path / ".env").write_text("SESSIONARY_SESSION_COOKIE_NAME=from_dotenv\n")

        assert load().session_cookie_name == "from_dotenv"

    def test_environment_beats_dot_env(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        (tmp_path / ".env").write_text("SESSIONARY_SESSION_COOKIE_NAME=from_dotenv\n")
        monkeypatch.setenv("SESSIONARY_SESSION_COOKIE_NAME", "from_env")

        assert load().session_cookie_name == "from_env"

    def test_settings_are_immutable(self) -> None:
        settings = load()

        with pytest.raises(ValidationError):
            settings.session_cookie_name = "changed"  # type: ignore[misc]


class TestListSettings:
    @pytest.mark.parametrize(
        "raw",
        [
            pytest.param("https://a.example, https://b.example", id="comma"),
            pytest.param("https://a.example,https://b.example,", id="comma-trailing"),
            pytest.param('["https://a.example", "https://b.example"]', id="json"),
            pytest.param(' [ "https://a.example","https://b.example" ] ', id="json-spaced"),
        ],
    )
    def test_trusted_origins_forms(self, monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
        monkeypatch.setenv("SESSIONARY_TRUSTED_ORIGINS", raw)

        assert load().trusted_origins == ["https://a.example", "https://b.example"]

    def test_origins_are_normalised(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SESSIONARY_CORS_ORIGINS", "HTTPS://App.Example/")

        assert load().cors_origins == ["https://app.example"]

    def test_empty_by_default(self) -> None:
        settings = load()

        assert settings.trusted_origins == []
        assert settings.trusted_proxies == []
        assert settings.cors_origins == []

    def test_trusted_proxies_parse_to_networks(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SESSIONARY_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1, ::1")

        settings = load()

        assert settings.trusted_proxies == ["10.0.0.0/8", "127.0.0.1", "::1"]
        assert [str(n) for n in settings.trusted_proxy_networks] == [
            "10.0.0.0/8",
            "127.0.0.1/32",
            "::1/128",
        ]

    @pytest.mark.parametrize("raw", ["10.0.0.0/8, not-an-ip", "300.1.1.1", '["10.0.0.0/33"]'])
    def test_invalid_trusted_proxy_is_a_validation_error(
        self, monkeypatch: pytest.MonkeyPatch, raw: str
    ) -> None:
        monkeypatch.setenv("SESSIONARY_TRUSTED_PROXIES", raw)

        with pytest.raises(ValidationError, match="trusted_proxies"):
            load()


class TestValidation:
    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("SESSIONARY_SESSION_COOKIE_NAME", "bad name;"),
            ("SESSIONARY_SESSION_IDLE_TIMEOUT", "10"),
            ("SESSIONARY_PASSWORD_MEMORY_COST", "1024"),
            ("SESSIONARY_LOG_LEVEL", "LOUD"),
            ("SESSIONARY_LOG_FORMAT", "xml"),
        ],
    )
    def test_bad_values_are_refused(
        self, monkeypatch: pytest.MonkeyPatch, name: str, value: str
    ) -> None:
        monkeypatch.setenv(name, value)

        with pytest.raises(ValidationError):
            load()


class TestDefaults:
    def test_documented_defaults(self) -> None:
        settings = load()

        assert (
            settings.database_url == DEFAULT_DATABASE_URL == "sqlite+aiosqlite:///./sessionary.db"
        )
        assert settings.redis_url is None
        assert settings.session_cookie_name == "session_cookie"
        assert settings.session_cookie_secure is True
        assert settings.session_idle_timeout == 3600
        assert settings.session_absolute_timeout == 86400
        assert settings.reauth_window == 900
        assert settings.max_sessions_per_user == 100
        assert settings.allow_registration is False
        assert settings.log_format is LogFormat.CONSOLE

    def test_argon2_parameters_are_owasps(self) -> None:
        settings = load()

        assert (
            settings.password_memory_cost,
            settings.password_time_cost,
            settings.password_parallelism,
        ) == (19_456, 2, 1)

    def test_the_apps_hasher_uses_them(self, tmp_path: Path) -> None:
        app = create_app(load(database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"))
        hasher = runtime_of(app).hasher
        try:
            assert hasher.parameters == (19_456, 2, 1)
            assert hasher.hash_sync("x").startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        finally:
            hasher.close()


class TestSettingsLiveOnTheApp:
    def test_create_app_stores_them(self, tmp_path: Path) -> None:
        settings = load(database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")

        app = create_app(settings)

        assert runtime_of(app).settings is settings
        runtime_of(app).hasher.close()

    def test_two_apps_with_different_settings_coexist(self, tmp_path: Path) -> None:
        first = create_app(
            load(
                database_url=_migrated_with_alice(tmp_path / "a.db"), session_cookie_name="a_cookie"
            )
        )
        second = create_app(
            load(
                database_url=_migrated_with_alice(tmp_path / "b.db"),
                session_cookie_name="b_cookie",
                session_cookie_secure=False,
            )
        )
        credentials = {"username": "alice", "password": DEFAULT_PASSWORD}

        with (
            TestClient(first, base_url="https://testserver") as one,
            TestClient(second, base_url="https://testserver") as two,
        ):
            first_login = one.post("/auth/login", json=credentials)
            second_login = two.post("/auth/login", json=credentials)
            token = one.cookies["a_cookie"]
            # Each app reads its own cookie name and its own database.
            assert one.get("/users/me").status_code == 200
            assert two.get("/users/me").status_code == 200
            two.cookies.clear()
            two.cookies.set("b_cookie", token)  # a token of the first app's database
            assert two.get("/users/me").status_code == 401

        assert first_login.headers["set-cookie"].startswith("a_cookie=")
        assert "Secure" in first_login.headers["set-cookie"]
        assert second_login.headers["set-cookie"].startswith("b_cookie=")
        assert "Secure" not in second_login.headers["set-cookie"]
        assert runtime_of(first).settings.session_cookie_name == "a_cookie"
        assert runtime_of(second).settings.session_cookie_name == "b_cookie"


def _migrated_with_alice(path: Path) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    migrations.upgrade(url)

    async def create() -> None:
        database = Database(load(database_url=url))
        hasher = PasswordHasher(memory_cost=19_456, time_cost=2, parallelism=1, threads=1)
        try:
            async with database.write() as session:
                await users_service.create_user(
                    session,
                    hasher,
                    username="alice",
                    email="alice@example.com",
                    password=DEFAULT_PASSWORD,
                    password_hash=cached_hash(hasher, DEFAULT_PASSWORD),
                )
                await session.commit()
        finally:
            await database.stop()
            hasher.close()

    asyncio.run(create())
    return url
