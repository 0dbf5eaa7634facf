"""The OpenAPI document is the contract (docs/security.md "The OpenAPI contract"): both security
schemes, every status a route really answers, one 422 shape, and schemas that accept exactly what
the server accepts."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sessionary.auth.dependencies import login_attempt
from sessionary.core.inputs import NO_NUL_PATTERN
from sessionary.core.openapi import ANSWERS, api_routes, route_statuses
from sessionary.identity.dependencies import get_principal, require_session
from sessionary.roles.permissions import Permission
from sessionary.testing import ApiKeyClientMaker, LoginAs, SettingsOverride
from sessionary.testing.clients import SessionaryTestClient
from sessionary.users.usernames import (
    InvalidEmail,
    InvalidUsername,
    normalize_email,
    normalize_username,
)

OPERATIONS = ("get", "post", "put", "patch", "delete")


def openapi(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in OPERATIONS
    ]


def documented(document: dict[str, Any], method: str, path: str) -> set[int]:
    return {int(status) for status in document["paths"][path][method.lower()]["responses"]}


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def body_schema(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation = document["paths"][path][method.lower()]
    return resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])


class TestSecuritySchemes:
    def test_the_session_cookie_is_declared_beside_the_bearer_key(self, client: TestClient) -> None:
        schemes = openapi(client)["components"]["securitySchemes"]

        assert schemes["session_cookie"] == {
            "type": "apiKey",
            "in": "cookie",
            "name": "session_cookie",
            "description": schemes["session_cookie"]["description"],
        }
        assert schemes["ApiKey"]["scheme"] == "bearer"

    def test_every_guarded_operation_accepts_either_credential(self, client: TestClient) -> None:
        document = openapi(client)
        guarded = [op for _, _, op in operations(document) if op.get("security")]

        assert len(guarded) > 20
        for operation in guarded:
            assert {"ApiKey": []} in operation["security"]
            assert {"session_cookie": []} in operation["security"]

    def test_the_cookie_scheme_names_the_configured_cookie(
        self, client: TestClient, settings: SettingsOverride
    ) -> None:
        settings.session_cookie_name = "sid"

        schemes = openapi(client)["components"]["securitySchemes"]

        assert schemes["session_cookie"]["name"] == "sid"


class TestEveryStatusIsDocumented:
    def test_statuses_of_each_dependency_are_on_every_route_using_it(
        self, sessionary_app: FastAPI, client: TestClient
    ) -> None:
        document = openapi(client)
        expected = {
            get_principal: {401},
            require_session: {403},
            login_attempt: {429, 503},
        }
        seen = set()
        for route in api_routes(sessionary_app):
            calls = set()
            pending = [route.dependant]
            while pending:
                node = pending.pop()
                calls.add(node.call)
                pending.extend(node.dependencies)
            for method in route.methods or ():
                statuses = documented(document, method, route.path_format or "")
                for call, produced in expected.items():
                    if call in calls:
                        seen.add(call)
                        assert produced <= statuses, (method, route.path_format)
                for call in calls:
                    assert set(getattr(call, ANSWERS, {})) <= statuses, (method, call)
        assert seen == set(expected)

    def test_a_routes_own_words_keep_what_its_dependencies_answer(self, client: TestClient) -> None:
        responses = openapi(client)["paths"]["/roles"]["post"]["responses"]

        described = responses["403"]["description"]
        assert described.startswith("Granting a permission the caller lacks")
        assert "Missing the roles:write permission" in described

    def test_what_any_request_can_meet_is_on_every_operation(self, client: TestClient) -> None:
        for method, path, operation in operations(openapi(client)):
            statuses = {int(status) for status in operation["responses"]}
            assert {413, 431} <= statuses, (method, path)
            if method != "GET":
                assert 403 in statuses, (method, path)  # CSRF
            if "{" in path:
                assert 404 in statuses, (method, path)
            if "requestBody" in operation:
                assert {400, 422} <= statuses, (method, path)

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/auth/sessions"),
            ("POST", "/auth/logout-all"),
            ("POST", "/auth/reauth"),
            ("POST", "/users/me/password"),
            ("DELETE", "/auth/sessions/1"),
        ],
    )
    def test_a_session_only_route_documents_its_403_to_an_api_key(
        self, method: str, path: str, api_key_client: ApiKeyClientMaker, client: TestClient
    ) -> None:
        response = api_key_client([]).request(method, path, json={})

        assert response.status_code == 403
        assert response.json() == {"detail": "A cookie session is required"}
        template = path.replace("/1", "/{session_id}")
        assert 403 in documented(openapi(client), method, template)

    def test_a_stale_if_match_412_is_documented(self, client: TestClient) -> None:
        document = openapi(client)
        for method in ("PATCH", "DELETE"):
            assert 412 in documented(document, method, "/notes/{note_id}")

    def test_429_and_503_carry_retry_after(self, client: TestClient) -> None:
        document = openapi(client)
        for status in ("429", "503"):
            response = document["paths"]["/auth/login"]["post"]["responses"][status]
            assert response["headers"]["Retry-After"]["required"] is True

    def test_error_bodies_are_described(self, client: TestClient) -> None:
        document = openapi(client)
        for method, path, operation in operations(document):
            for status, response in operation["responses"].items():
                if (
                    int(status) < 400
                    or status == "422"
                    or (path, status) == ("/health/ready", "503")
                ):
                    continue
                schema = resolve(document, response["content"]["application/json"]["schema"])
                assert "detail" in schema["required"], (method, path, status)

    def test_405_allows_every_method_of_the_path(self, member_client: TestClient) -> None:
        for method, path, allowed in [
            ("OPTIONS", "/notes", "GET, POST"),
            ("PUT", "/notes/1", "DELETE, GET, PATCH"),
            ("DELETE", "/users/me", "GET, PATCH"),
        ]:
            response = member_client.request(method, path)
            assert response.status_code == 405, (method, path)
            assert response.headers["allow"] == allowed


class TestOneShapeFor422:
    def assert_validation_list(self, response: Any, field: str, words: str) -> None:
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", field]
        assert words in error["msg"]

    def test_a_weak_password_at_registration(
        self, client: TestClient, settings: SettingsOverride
    ) -> None:
        settings.allow_registration = True
        body = {"username": "dora", "email": "dora@example.com", "password": "iloveyou"}

        response = client.post("/auth/register", json=body)

        self.assert_validation_list(response, "password", "too common")

    @pytest.mark.parametrize(
        ("field", "value", "words"),
        [("email", "not-an-email", "Email must"), ("username", "has space", "Username may")],
    )
    def test_a_bad_username_or_email_shape_is_422_not_400(
        self, admin_client: SessionaryTestClient, field: str, value: str, words: str
    ) -> None:
        body = {"username": "dora", "email": "dora@example.com", "password": "Quill-Feather-42"}

        response = admin_client.post("/users", json={**body, field: value})

        self.assert_validation_list(response, field, words)

    def test_a_bad_email_on_my_profile_is_422(self, admin_client: SessionaryTestClient) -> None:
        response = admin_client.patch("/users/me", json={"email": "nobody"})

        self.assert_validation_list(response, "email", "Email must")

    def test_the_document_names_one_422_schema(self, client: TestClient) -> None:
        document = openapi(client)
        for method, path, operation in operations(document):
            if "422" in operation["responses"]:
                schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/HTTPValidationError"}, (
                    method,
                    path,
                )


class TestSchemasMatchWhatIsAccepted:
    def test_a_note_update_takes_strings_never_null(self, client: TestClient) -> None:
        schema = body_schema(openapi(client), "PATCH", "/notes/{note_id}")

        for field in ("title", "body"):
            assert schema["properties"][field]["type"] == "string"
            assert "anyOf" not in schema["properties"][field]
            assert "default" not in schema["properties"][field]
        assert "required" not in schema

    def test_role_permissions_are_the_catalogue(self, client: TestClient) -> None:
        document = openapi(client)
        for method, path in (("POST", "/roles"), ("PATCH", "/roles/{name}")):
            items = resolve(
                document, body_schema(document, method, path)["properties"]["permissions"]["items"]
            )
            assert set(items["enum"]) == {permission.value for permission in Permission}

    def test_an_unknown_permission_is_fastapis_422(
        self, admin_client: SessionaryTestClient
    ) -> None:
        response = admin_client.post("/roles", json={"name": "x", "permissions": ["moon:land"]})

        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "permissions", 0]


def server_accepts_username(username: str) -> bool:
    try:
        normalize_username(username)
    except InvalidUsername:
        return False
    return True


def server_accepts_email(email: str) -> bool:
    try:
        normalize_email(email)
    except InvalidEmail:
        return False
    return True


def tricky_characters() -> list[str]:
    """ASCII to Greek, every whitespace, every character NFKC changes (where the server and a
    pattern that reads raw code points could part), the IDNA full stops, and every 101st
    code point besides."""
    found = {
        chr(point)
        for point in range(0x110000)
        if not 0xD800 <= point <= 0xDFFF
        and (
            point < 0x370
            or point % 101 == 0
            or chr(point).isspace()
            or unicodedata.normalize("NFKC", chr(point)) != chr(point)
        )
    }
    return sorted(found | {"\u3002", "\uff0e", "\uff61"})


class TestPatternsNeverRefuseWhatTheServerTakes:
    """A name or address the server accepts must match the served pattern, or a client (and
    Schemathesis's negative-data check) is told that valid input is invalid. The server decides
    after NFKC and IDNA, so the patterns are supersets. The sweeps below take the characters
    where the two could part; one over every code point ran once by hand, with no miss."""

    @pytest.fixture
    def patterns(self, client: TestClient) -> dict[str, re.Pattern[str]]:
        schemas = openapi(client)["components"]["schemas"]
        found = {
            (field, prop["pattern"])
            for schema in schemas.values()
            for field, prop in schema.get("properties", {}).items()
            if field in ("username", "email") and "pattern" in prop
            if prop["pattern"] != NO_NUL_PATTERN  # login's username is any string
        }
        by_field = dict(found)
        assert len(by_field) == len(found) == 2, found  # one pattern per kind, wherever used
        return {field: re.compile(pattern) for field, pattern in by_field.items()}

    def test_every_username_the_server_takes_matches(
        self, patterns: dict[str, re.Pattern[str]]
    ) -> None:
        pattern = patterns["username"]
        missed = [
            name
            for char in tricky_characters()
            for name in (char, f"a{char}", f"{char}a", f"e{char}")
            if server_accepts_username(name) and not pattern.search(name)
        ]
        assert missed == []

    def test_every_address_the_server_takes_matches(
        self, patterns: dict[str, re.Pattern[str]]
    ) -> None:
        pattern = patterns["email"]
        missed = [
            address
            for char in tricky_characters()
            for address in (
                f"a{char}@example.com",
                f"{char}a@example.com",
                f"a@ex{char}ample.com",
                f"a@example{char}com",
                f"a@example.co{char}",
            )
            if server_accepts_email(address) and not pattern.search(address)
        ]
        assert missed == []

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("username", "e\u0301ric"),  # decomposed, as macOS writes it
            ("username", "ann\uff20home"),  # fullwidth @
            ("email", "ann@example\u3002com"),  # ideographic full stop
            ("email", "\u00e9ric@b\u00fccher.example"),
            ("username", "e\u0301" * 64),  # 128 code points, 64 letters after NFKC
        ],
    )
    def test_what_the_server_takes_over_http_matches(
        self,
        admin_client: SessionaryTestClient,
        patterns: dict[str, re.Pattern[str]],
        field: str,
        value: str,
    ) -> None:
        fields = {"username": "someone", "email": "someone@example.com", field: value}
        response = admin_client.post("/users", json={**fields, "password": "correct horse 9"})

        assert response.status_code == 201, response.text
        schema = body_schema(openapi(admin_client), "POST", "/users")["properties"][field]
        assert schema["pattern"] == patterns[field].pattern
        assert patterns[field].search(value)
        assert schema["minLength"] <= len(value) <= schema["maxLength"]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("username", "a b"),
            ("username", "a/b"),
            ("username", "a\x85b"),
            ("email", "a b@example.com"),
            ("email", "a@example"),
            ("email", "a@example.123"),
            ("email", "a..b@example.com"),
            ("email", "a@exa_mple.com"),
        ],
    )
    def test_what_no_normalisation_saves_is_refused_by_the_pattern(
        self, patterns: dict[str, re.Pattern[str]], field: str, value: str
    ) -> None:
        accepts = server_accepts_username if field == "username" else server_accepts_email
        assert not accepts(value)
        assert patterns[field].search(value) is None


def test_route_statuses_cover_a_guarded_route(sessionary_app: FastAPI) -> None:
    [route] = [
        route
        for route in api_routes(sessionary_app)
        if route.path_format == "/notes/{note_id}" and route.methods == {"PATCH"}
    ]

    assert set(route_statuses(route)) == {400, 401, 403, 404, 412, 413, 431, 503}


class TestDateTimesAreRFC3339:
    @pytest.mark.parametrize(
        "value",
        ["0.5", "1767225600", "2026-01-01", "2026-01-01T00:00Z", "2026-01-01 00:00:00Z"],
        ids=["fraction", "timestamp", "date-only", "no-seconds", "space"],
    )
    def test_a_query_value_that_is_no_date_time_is_422(
        self, admin_client: SessionaryTestClient, value: str
    ) -> None:
        for name in ("since", "until"):
            response = admin_client.get("/audit-events", params={name: value})
            assert response.status_code == 422, (name, value)

    @pytest.mark.parametrize(
        "value", ["2026-01-01T00:00:00Z", "2026-01-01T01:00:00.5+01:00", "2026-01-01t00:00:00z"]
    )
    def test_rfc_3339_is_accepted(self, admin_client: SessionaryTestClient, value: str) -> None:
        assert admin_client.get("/audit-events", params={"until": value}).status_code == 200

    @pytest.mark.parametrize("value", [4_102_444_800, "4102444800", "2100-01-01"])
    def test_an_expiry_that_is_no_date_time_is_422(self, login_as: LoginAs, value: object) -> None:
        response = login_as("member").post(
            "/api-keys", json={"name": "k", "scopes": [], "expires_at": value}
        )
        assert response.status_code == 422


class TestNulIsInTheContract:
    def test_every_free_string_of_a_request_body_excludes_nul(self, client: TestClient) -> None:
        schemas = openapi(client)["components"]["schemas"]
        bodies = ["LoginRequest", "NoteCreate", "ReauthRequest", "PasswordChange", "ApiKeyCreate"]

        for name in bodies:
            for field, prop in schemas[name]["properties"].items():
                if prop.get("type") == "string" and "format" not in prop:
                    assert prop["pattern"] == "^[^\\u0000]*$", (name, field)

    def test_a_body_the_schema_allows_is_not_refused_for_nul(self, client: TestClient) -> None:
        schema = openapi(client)["components"]["schemas"]["LoginRequest"]
        pattern = schema["properties"]["username"]["pattern"]

        assert re.fullmatch(pattern, "user\x00") is None
        assert (
            client.post("/auth/login", json={"username": "u\x00", "password": "p"}).status_code
            == 422
        )
