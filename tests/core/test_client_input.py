"""Client input never becomes a 5xx (issue 11, item 3), on SQLite and PostgreSQL alike.

Values the database cannot hold — ids and offsets past the ``Integer`` range, NUL in text,
versions that are not ASCII digits, timestamps that do not fit in UTC — are answered at the
edge: 404 for an id in a path that cannot exist, 422 for any other bad value, 412 for an
``If-Match`` that names no version. Each case went to the database before and came back
500 (SQLite) or 503 (PostgreSQL).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from sessionary.core.inputs import INT32_MAX, INT32_MIN, RequestBody
from sessionary.notes.models import Note
from sessionary.testing import (
    DEFAULT_PASSWORD,
    LoginAs,
    NoteFactory,
    SessionaryAsyncClient,
    SessionaryTestClient,
    SettingsOverride,
    SyncDB,
    ThrottleHandle,
    UserFactory,
)
from sessionary.users.models import User

NUL = "\x00"
BEYOND = [
    pytest.param(2**31, id="2**31"),
    pytest.param(2**63, id="2**63"),
    pytest.param(2**64, id="2**64"),
    pytest.param(-(2**31) - 1, id="-2**31-1"),
]

# (method, path with {id}, body): every route with an integer id in its path.
ID_ROUTES = [
    ("GET", "/users/{id}", None),
    ("PATCH", "/users/{id}", {"email": "new@example.com"}),
    ("DELETE", "/users/{id}", None),
    ("GET", "/notes/{id}", None),
    ("PATCH", "/notes/{id}", {"title": "t"}),
    ("DELETE", "/notes/{id}", None),
    ("DELETE", "/api-keys/{id}", None),
    ("DELETE", "/auth/sessions/{id}", None),
]
LISTS = ["/users", "/notes", "/api-keys", "/auth/sessions", "/roles", "/audit-events"]


def _ids(routes: list[tuple[str, str, Any]]) -> list[str]:
    return [f"{method} {path}" for method, path, *_ in routes]


class TestIdsBeyondTheColumnAre404:
    @pytest.mark.parametrize("ident", BEYOND)
    @pytest.mark.parametrize(("method", "path", "body"), ID_ROUTES, ids=_ids(ID_ROUTES))
    def test_an_id_no_row_can_have_is_not_found(
        self,
        admin_client: SessionaryTestClient,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        ident: int,
    ) -> None:
        response = admin_client.request(method, path.format(id=ident), json=body)

        assert response.status_code == 404, response.text
        assert response.json() == {"detail": "Not found"}

    @pytest.mark.parametrize(("method", "path", "body"), ID_ROUTES, ids=_ids(ID_ROUTES))
    def test_the_largest_id_the_column_holds_is_an_ordinary_miss(
        self,
        admin_client: SessionaryTestClient,
        method: str,
        path: str,
        body: dict[str, Any] | None,
    ) -> None:
        for ident in (INT32_MAX, INT32_MIN):
            response = admin_client.request(method, path.format(id=ident), json=body)

            assert response.status_code == 404, response.text

    def test_authentication_and_permission_come_first(
        self, login_as: LoginAs, client: SessionaryTestClient
    ) -> None:
        assert client.get(f"/users/{2**64}").status_code == 401
        assert login_as("member").get(f"/users/{2**64}").status_code == 403

    def test_a_non_integer_id_stays_a_422(self, admin_client: SessionaryTestClient) -> None:
        assert admin_client.get("/users/abc").status_code == 422


class TestIntegerQueryValuesBeyondRangeAre422:
    @pytest.mark.parametrize("offset", [2**31, 2**63, 2**64])
    @pytest.mark.parametrize("path", LISTS)
    def test_offset(self, admin_client: SessionaryTestClient, path: str, offset: int) -> None:
        response = admin_client.get(path, params={"offset": offset})

        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["query", "offset"]

    @pytest.mark.parametrize("path", LISTS)
    def test_the_largest_offset_is_an_empty_page(
        self, admin_client: SessionaryTestClient, path: str
    ) -> None:
        response = admin_client.get(path, params={"offset": INT32_MAX})

        assert response.status_code == 200, response.text
        assert response.json()["items"] == []

    @pytest.mark.parametrize("limit", [2**31, 2**63, 2**64])
    def test_limit(self, admin_client: SessionaryTestClient, limit: int) -> None:
        assert admin_client.get("/notes", params={"limit": limit}).status_code == 422

    @pytest.mark.parametrize("actor", [2**31, 2**63, 2**64, -(2**31) - 1])
    def test_audit_actor(self, admin_client: SessionaryTestClient, actor: int) -> None:
        response = admin_client.get("/audit-events", params={"actor": actor})

        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["query", "actor"]

    def test_an_actor_in_range_filters(self, admin_client: SessionaryTestClient) -> None:
        response = admin_client.get("/audit-events", params={"actor": INT32_MAX})

        assert response.status_code == 200
        assert response.json()["items"] == []


def _nul(value: str) -> str:
    return f"{value[:1]}{NUL}{value[1:]}"


# (method, path, body) sent by an admin with a fresh session; {note} and {user} are filled in.
NUL_BODIES = [
    ("POST", "/notes", {"title": _nul("title")}),
    ("POST", "/notes", {"title": "t", "body": _nul("body")}),
    ("PATCH", "/notes/{note}", {"title": _nul("title")}),
    ("PATCH", "/notes/{note}", {"body": _nul("body")}),
    ("POST", "/users", {"username": _nul("zed"), "email": "z@example.com", "password": "pw"}),
    ("POST", "/users", {"username": "zed", "email": _nul("z@example.com"), "password": "p"}),
    ("POST", "/users", {"username": "zed", "email": "z@example.com", "password": _nul("pw")}),
    (
        "POST",
        "/users",
        {"username": "zed", "email": "z@example.com", "password": "pw", "roles": [_nul("ab")]},
    ),
    ("PATCH", "/users/{user}", {"email": _nul("z@example.com")}),
    ("PATCH", "/users/{user}", {"roles": ["member", _nul("admin")]}),
    ("PATCH", "/users/me", {"email": _nul("me@example.com")}),
    (
        "POST",
        "/users/me/password",
        {"current_password": _nul(DEFAULT_PASSWORD), "new_password": "a-new-long-password"},
    ),
    (
        "POST",
        "/users/me/password",
        {"current_password": DEFAULT_PASSWORD, "new_password": _nul("a-new-long-password")},
    ),
    ("POST", "/auth/reauth", {"password": _nul(DEFAULT_PASSWORD)}),
    ("POST", "/roles", {"name": _nul("editor"), "permissions": []}),
    ("POST", "/roles", {"name": "editor", "permissions": [_nul("notes:read")]}),
    ("PATCH", "/roles/member", {"permissions": [_nul("notes:read")]}),
    ("POST", "/api-keys", {"name": _nul("ci"), "scopes": []}),
    ("POST", "/api-keys", {"name": "ci", "scopes": [_nul("notes:read")]}),
]
# NUL in a path or query string parameter.
NUL_PARAMS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("PATCH", "/roles/ab%00c", {"permissions": []}),
    ("DELETE", "/roles/ab%00c", None),
    ("GET", "/audit-events?type=login%00", None),
]


@pytest.fixture
def targets(note_factory: NoteFactory, user_factory: UserFactory) -> dict[str, int]:
    """The note and the user that the bodies' paths name."""
    note: Note = note_factory(title="t")
    other: User = user_factory()
    return {"note": note.id, "user": other.id}


def _swap_nul(value: Any, char: str) -> Any:
    """The same body with ``char`` where NUL was."""
    if isinstance(value, str):
        return value.replace(NUL, char)
    if isinstance(value, list):
        return [_swap_nul(item, char) for item in value]
    return {key: _swap_nul(item, char) for key, item in value.items()}


class TestNulInAnyStringIs422:
    # A lone surrogate is valid JSON ("\\ud800") that no UTF-8 (SQLite) or PostgreSQL text
    # holds: a role name carrying one reached SQLite's driver and was a 500.
    @pytest.mark.parametrize("char", [NUL, "\ud800"], ids=["nul", "lone-surrogate"])
    @pytest.mark.parametrize(("method", "path", "body"), NUL_BODIES, ids=_ids(NUL_BODIES))
    def test_in_a_body(
        self,
        admin_client: SessionaryTestClient,
        targets: dict[str, int],
        db: SyncDB,
        method: str,
        path: str,
        body: dict[str, Any],
        char: str,
    ) -> None:
        users_before = db.count(User)
        raw = json.dumps(_swap_nul(body, char))  # ASCII: either travels as its escape

        response = admin_client.request(
            method,
            path.format(**targets),
            content=raw,
            headers={"Content-Type": "application/json"},
        )

        assert response.status_code == 422, response.text
        if char == NUL:
            assert response.json()["detail"][0]["type"] == "string_nul"
        assert db.count(User) == users_before

    @pytest.mark.parametrize(("method", "path", "body"), NUL_PARAMS, ids=_ids(NUL_PARAMS))
    def test_in_a_path_or_query(
        self,
        admin_client: SessionaryTestClient,
        method: str,
        path: str,
        body: dict[str, Any] | None,
    ) -> None:
        response = admin_client.request(method, path, json=body)

        assert response.status_code == 422, response.text

    @pytest.mark.parametrize(
        "body",
        [
            {"username": _nul("newcomer"), "email": "n@example.com", "password": "long-enough-pw"},
            {"username": "newcomer", "email": _nul("n@example.com"), "password": "long-enough-pw"},
            {"username": "newcomer", "email": "n@example.com", "password": _nul("long-enough-pw")},
        ],
        ids=["username", "email", "password"],
    )
    def test_in_registration(
        self,
        client: SessionaryTestClient,
        settings: SettingsOverride,
        db: SyncDB,
        body: dict[str, str],
    ) -> None:
        settings.allow_registration = True

        response = client.post("/auth/register", json=body)

        assert response.status_code == 422, response.text
        assert db.count(User) == 0


class TestNulAtLogin:
    """422 before any lookup: the same status, body and (no) work for every account."""

    @pytest.mark.parametrize("path", ["/auth/login", "/login/"])
    @pytest.mark.parametrize("field", ["username", "password"])
    def test_the_same_422_whether_the_account_exists_or_not(
        self,
        client: SessionaryTestClient,
        user_factory: UserFactory,
        throttle: ThrottleHandle,
        path: str,
        field: str,
    ) -> None:
        user_factory(username="alice")
        answers = []
        for username in ("alice", "nobody"):
            body = {"username": username, "password": DEFAULT_PASSWORD}
            body[field] = _nul(body[field])

            response = client.post(path, json=body)

            answers.append((response.status_code, response.json()))
            assert throttle.counts(username).account == 0

        assert answers[0] == answers[1]
        assert answers[0][0] == 422
        assert "set-cookie" not in response.headers


@pytest.mark.anyio
class TestIfMatchIsParsedStrictly:
    """Only ASCII digits within the ``version`` column's range name a version. The async
    client sends header bytes as given, as a socket does (a latin-1 byte like ``\\xb2``, "²",
    which ``str.isdigit`` accepts and ``int`` refuses); the sync TestClient re-encodes them."""

    @pytest.mark.parametrize(
        "version",
        [
            pytest.param(b"\xb2", id="superscript-two"),
            pytest.param(b"\xb9", id="superscript-one"),
            pytest.param(b"01", id="leading-zero"),
            pytest.param(b"2147483648", id="2**31"),
            pytest.param(b"9" * 30, id="thirty-nines"),
            pytest.param(b"", id="empty"),
        ],
    )
    @pytest.mark.parametrize("method", ["PATCH", "DELETE"])
    async def test_a_tag_naming_no_version_is_412(
        self,
        async_admin_client: SessionaryAsyncClient,
        note_factory: NoteFactory,
        method: str,
        version: bytes,
    ) -> None:
        note = await note_factory.acreate(owner=async_admin_client.user, title="t")
        tag = b'"note-%d-v%s"' % (note.id, version)

        response = await async_admin_client.request(
            method, f"/notes/{note.id}", json={"title": "u"}, headers={b"If-Match": tag}
        )

        assert response.status_code == 412, response.text

    async def test_the_current_tag_still_matches(
        self, async_admin_client: SessionaryAsyncClient, note_factory: NoteFactory
    ) -> None:
        note = await note_factory.acreate(owner=async_admin_client.user, title="t")

        response = await async_admin_client.patch(
            f"/notes/{note.id}", json={"title": "u"}, headers={"If-Match": f'"note-{note.id}-v1"'}
        )

        assert response.status_code == 200, response.text


class TestTimestampsOutsideUtcAre422:
    @pytest.mark.parametrize(
        "expires_at",
        [
            pytest.param("9999-12-31T23:59:59-14:00", id="past-year-9999-in-utc"),
            pytest.param("2999-01-01T00:00:00", id="naive"),
        ],
    )
    def test_api_key_expiry(self, admin_client: SessionaryTestClient, expires_at: str) -> None:
        response = admin_client.post(
            "/api-keys", json={"name": "ci", "scopes": [], "expires_at": expires_at}
        )

        assert response.status_code == 422, response.text

    def test_the_last_utc_second_is_a_valid_expiry(
        self, admin_client: SessionaryTestClient
    ) -> None:
        response = admin_client.post(
            "/api-keys",
            json={"name": "ci", "scopes": [], "expires_at": "9999-12-31T23:59:59+00:00"},
        )

        assert response.status_code == 201, response.text
        assert response.json()["expires_at"].startswith("9999-12-31T23:59:59")

    @pytest.mark.parametrize("bound", ["since", "until"])
    @pytest.mark.parametrize(
        "moment",
        [
            pytest.param("0001-01-01T00:00:00+14:00", id="before-year-1-in-utc"),
            pytest.param("9999-12-31T23:59:59-14:00", id="past-year-9999-in-utc"),
            pytest.param("2026-01-01T00:00:00", id="naive"),
        ],
    )
    def test_audit_filters(
        self, admin_client: SessionaryTestClient, bound: str, moment: str
    ) -> None:
        response = admin_client.get("/audit-events", params={bound: moment})

        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["query", bound]

    @pytest.mark.parametrize("bound", ["since", "until"])
    def test_the_first_and_last_utc_seconds_are_valid_filters(
        self, admin_client: SessionaryTestClient, bound: str
    ) -> None:
        for moment in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
            response = admin_client.get("/audit-events", params={bound: moment})

            assert response.status_code == 200, response.text


class TestEveryRequestBodyRejectsNul:
    def test_every_json_body_of_the_app_is_a_request_body(
        self, admin_client: SessionaryTestClient
    ) -> None:
        # So a new route cannot forget the rule: its body model must derive from RequestBody.
        app = admin_client.sessionary_app
        # FastAPI nests included routers; iter_route_contexts flattens them.
        routes = [context.original_route for context in iter_route_contexts(app.routes)]
        bodies = {
            route.path: route.body_field.field_info.annotation
            for route in routes
            if isinstance(route, APIRoute) and route.body_field is not None
        }

        assert bodies
        assert [
            path
            for path, model in bodies.items()
            if not (isinstance(model, type) and issubclass(model, RequestBody))
        ] == []
