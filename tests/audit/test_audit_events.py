"""GET /audit-events and the events administration records (docs/security.md "Audit
log"): newest first, filtered by actor, type and time, the shape exact."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sessionary.testing import AuditLog, Clock, RoleFactory, SessionaryTestClient
from sessionary.users.models import User
from tests.people import NEW_USER_BODY, user_id_of

EVENT_FIELDS = {
    "id",
    "type",
    "actor_user_id",
    "actor_api_key_id",
    "target_type",
    "target_id",
    "ip",
    "user_agent",
    "created_at",
    "detail",
}


def events(client: SessionaryTestClient, **params: str | int) -> list[dict[str, object]]:
    response = client.get("/audit-events", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


@pytest.fixture
def from_an_address(sessionary_app: FastAPI, admin_client: SessionaryTestClient) -> TestClient:
    """The admin's session, from a known address and user agent."""
    browser = TestClient(
        sessionary_app,
        base_url=str(admin_client.base_url),
        client=("192.0.2.7", 1),
        headers={"User-Agent": "Admin-Console/1.0"},
    )
    browser.cookies = admin_client.cookies
    return browser


class TestListingEvents:
    def test_each_event_has_exactly_the_specified_keys(
        self, admin_client: SessionaryTestClient, member: User
    ) -> None:
        admin_client.patch(f"/users/{member.id}", json={"email": "b2@example.com"})

        (event,) = events(admin_client)

        assert set(event) == EVENT_FIELDS
        assert event["type"] == "user.updated"
        assert event["target_type"] == "user"
        assert event["target_id"] == str(member.id)
        assert event["actor_user_id"] == user_id_of(admin_client)
        assert str(event["created_at"]).endswith(("Z", "+00:00"))

    def test_newest_come_first(
        self, admin_client: SessionaryTestClient, member: User, clock: Clock
    ) -> None:
        admin_client.patch(f"/users/{member.id}", json={"email": "b2@example.com"})
        clock.advance(minutes=1)
        admin_client.patch(f"/users/{member.id}", json={"is_active": False})
        admin_client.patch(f"/users/{member.id}", json={"is_active": True})  # same instant

        types = [event["type"] for event in events(admin_client)]

        # created_at desc, then id desc for events of the same instant.
        assert types == ["user.updated", "user.deactivated", "user.updated"]

    def test_pages_with_next_offset(
        self, admin_client: SessionaryTestClient, role_factory: RoleFactory
    ) -> None:
        for name in ("a1", "a2", "a3"):
            admin_client.post("/roles", json={"name": name, "permissions": []})

        first = admin_client.get("/audit-events", params={"limit": 2}).json()
        last = admin_client.get("/audit-events", params={"limit": 2, "offset": 2}).json()

        assert (first["limit"], first["offset"], first["next_offset"]) == (2, 0, 2)
        assert last["next_offset"] is None
        assert len(first["items"]) + len(last["items"]) == 3

    @pytest.mark.parametrize(
        "params",
        [
            {"limit": 101},
            {"limit": 0},
            {"offset": -1},
            {"type": "no.such_type"},
            {"since": "2026-01-01T00:00:00"},  # naive: which zone?
            {"until": "yesterday"},
        ],
    )
    def test_bad_parameters_are_422(
        self, admin_client: SessionaryTestClient, params: dict[str, str | int]
    ) -> None:
        assert admin_client.get("/audit-events", params=params).status_code == 422

    def test_a_member_is_refused(self, member_client: SessionaryTestClient) -> None:
        assert member_client.get("/audit-events").status_code == 403


class TestFilteringEvents:
    @pytest.fixture
    def history(
        self, admin_client: SessionaryTestClient, member: User, clock: Clock
    ) -> tuple[datetime, datetime]:
        """A role created, then a minute later a user updated, then another minute later a
        user deactivated; answers the two moments between them."""
        admin_client.post("/roles", json={"name": "auditor", "permissions": ["audit:read"]})
        clock.advance(minutes=1)
        first = clock.now()
        admin_client.patch(f"/users/{member.id}", json={"email": "b2@example.com"})
        clock.advance(minutes=1)
        second = clock.now()
        admin_client.patch(f"/users/{member.id}", json={"is_active": False})
        return first, second

    def test_by_type(
        self, admin_client: SessionaryTestClient, history: tuple[datetime, datetime]
    ) -> None:
        found = events(admin_client, type="role.created")

        assert [event["type"] for event in found] == ["role.created"]

    def test_by_actor(
        self,
        admin_client: SessionaryTestClient,
        manager_client: SessionaryTestClient,
        history: tuple[datetime, datetime],
    ) -> None:
        manager_client.post("/users", json=NEW_USER_BODY)
        manager = user_id_of(manager_client)

        found = events(admin_client, actor=manager)

        assert [event["type"] for event in found] == ["user.created"]
        assert len(events(admin_client, actor=user_id_of(admin_client))) == 3

    def test_since_is_inclusive(
        self, admin_client: SessionaryTestClient, history: tuple[datetime, datetime]
    ) -> None:
        first, _ = history

        found = events(admin_client, since=first.isoformat())

        assert [event["type"] for event in found] == ["user.deactivated", "user.updated"]

    def test_until_is_exclusive(
        self, admin_client: SessionaryTestClient, history: tuple[datetime, datetime]
    ) -> None:
        _, second = history

        found = events(admin_client, until=second.isoformat())

        assert [event["type"] for event in found] == ["user.updated", "role.created"]

    def test_any_offset_is_understood(
        self, admin_client: SessionaryTestClient, history: tuple[datetime, datetime]
    ) -> None:
        first, second = history
        plus_two = timezone(timedelta(hours=2))

        found = events(
            admin_client,
            since=first.astimezone(plus_two).isoformat(),
            until=second.astimezone(plus_two).isoformat(),
        )

        assert [event["type"] for event in found] == ["user.updated"]


class TestEventsRecorded:
    def test_user_created(self, from_an_address: TestClient, audit_log: AuditLog) -> None:
        created = from_an_address.post("/users", json=NEW_USER_BODY).json()

        event = audit_log.assert_recorded("user.created", target=created["user_id"])

        assert event.ip == "192.0.2.7"
        assert event.user_agent == "Admin-Console/1.0"
        assert event.actor_user_id is not None
        assert event.detail["username"] == "Carol"

    def test_user_updated(
        self, from_an_address: TestClient, member: User, audit_log: AuditLog
    ) -> None:
        from_an_address.patch(f"/users/{member.id}", json={"email": "b2@example.com"})

        event = audit_log.assert_recorded("user.updated", target=member)

        assert event.ip == "192.0.2.7"
        assert event.detail == {"username": "bob", "fields": ["email"]}

    def test_user_deactivated(
        self, from_an_address: TestClient, member: User, audit_log: AuditLog
    ) -> None:
        from_an_address.patch(f"/users/{member.id}", json={"is_active": False})

        event = audit_log.assert_recorded("user.deactivated", target=member)

        assert event.ip == "192.0.2.7"
        assert event.detail["username"] == "bob"

    def test_user_roles_changed(
        self, from_an_address: TestClient, member: User, audit_log: AuditLog
    ) -> None:
        from_an_address.patch(f"/users/{member.id}", json={"roles": ["admin"]})

        event = audit_log.assert_recorded("user.roles_changed", target=member)

        assert event.detail == {"username": "bob", "before": ["member"], "after": ["admin"]}

    def test_user_deleted(
        self, from_an_address: TestClient, member: User, audit_log: AuditLog
    ) -> None:
        from_an_address.delete(f"/users/{member.id}")

        event = audit_log.assert_recorded("user.deleted", target=member)

        assert event.ip == "192.0.2.7"
        assert event.detail["username"] == "bob"

    def test_role_created_updated_and_deleted(
        self, from_an_address: TestClient, audit_log: AuditLog
    ) -> None:
        from_an_address.post("/roles", json={"name": "auditor", "permissions": ["audit:read"]})
        from_an_address.patch("/roles/auditor", json={"permissions": ["users:read"]})
        from_an_address.delete("/roles/auditor")

        created = audit_log.assert_recorded("role.created", target="auditor")
        updated = audit_log.assert_recorded("role.updated", target="auditor")
        deleted = audit_log.assert_recorded("role.deleted", target="auditor")

        assert created.detail == {"name": "auditor", "permissions": ["audit:read"]}
        assert updated.detail == {
            "name": "auditor",
            "added": ["users:read"],
            "removed": ["audit:read"],
        }
        assert deleted.detail["permissions"] == ["users:read"]
        assert {created.ip, updated.ip, deleted.ip} == {"192.0.2.7"}

    def test_a_refused_change_records_nothing(
        self, admin_client: SessionaryTestClient, audit_log: AuditLog
    ) -> None:
        admin_client.delete(f"/users/{user_id_of(admin_client)}")  # the last admin: 409

        assert audit_log.events("user.deleted") == []
