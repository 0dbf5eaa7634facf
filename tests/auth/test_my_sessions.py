"""Managing my sessions: logout everywhere, the listing and revoking one (docs/security.md
"Session management")."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from sessionary.sessions.models import LoginSession
from sessionary.testing import (
    DEFAULT_PASSWORD,
    AsyncLoginAs,
    AuditLog,
    Clock,
    LoginAs,
    SettingsOverride,
    SyncDB,
    UserFactory,
)
from sessionary.users.models import User
from tests.sessions.browsers import (
    IDLE,
    NOT_AUTHENTICATED,
    SESSION_FIELDS,
    instant,
    is_alive,
    listed_ids,
    listing,
    session_id,
    set_cookie,
    token_of,
)

# -- POST /auth/logout-all --------------------------------------------------------------------


class TestLogoutAll:
    def test_answers_204_and_ends_every_session_of_the_user_this_one_included(
        self, login_as: LoginAs, user: User, client: TestClient
    ) -> None:
        laptop = login_as(user, via="login")
        phone, tablet = login_as(user), login_as(user)
        tokens = [token_of(browser) for browser in (laptop, phone, tablet)]

        response = laptop.post("/auth/logout-all")

        assert response.status_code == 204
        assert response.content == b""
        assert [is_alive(client, token) for token in tokens] == [False, False, False]
        assert phone.get("/users/me").status_code == 401

    def test_clears_the_cookie(self, login_as: LoginAs, user: User) -> None:
        browser = login_as(user, via="login")

        response = browser.post("/auth/logout-all")

        cookie = set_cookie(response)
        assert cookie["value"] in {"", '""'}
        assert cookie["max-age"] == "0"
        assert cookie["path"] == "/"
        assert "session_cookie" not in browser.cookies

    def test_keeps_the_rows_marked_revoked(
        self, login_as: LoginAs, user: User, db: SyncDB, clock: Clock
    ) -> None:
        login_as(user)
        browser = login_as(user)

        browser.post("/auth/logout-all")

        rows = db.execute(select(LoginSession.revoked_at).where(LoginSession.user_id == user.id))
        assert [row.revoked_at for row in rows] == [clock.now(), clock.now()]

    def test_other_users_sessions_are_untouched(
        self, login_as: LoginAs, user_factory: UserFactory, db: SyncDB
    ) -> None:
        alice: User = user_factory(username="alice")
        bob: User = user_factory(username="bob")
        alices, bobs = login_as(alice), login_as(bob)

        assert alices.post("/auth/logout-all").status_code == 204

        assert bobs.get("/users/me").status_code == 200
        live = LoginSession.revoked_at.is_(None)
        assert db.count(LoginSession, LoginSession.user_id == bob.id, live) == 1

    def test_is_audited_as_logout_all_of_the_user(
        self, login_as: LoginAs, user: User, audit_log: AuditLog
    ) -> None:
        login_as(user).post("/auth/logout-all")

        event = audit_log.assert_recorded("logout_all", actor=user, target=user)
        assert event.target_type == "user"
        assert len(audit_log.events("logout_all")) == 1

    def test_without_a_session_is_401_and_audits_nothing(
        self, client: TestClient, audit_log: AuditLog
    ) -> None:
        response = client.post("/auth/logout-all")

        assert response.status_code == 401
        assert audit_log.events("logout_all") == []

    @pytest.mark.anyio
    async def test_from_an_async_client_too(
        self, async_login_as: AsyncLoginAs, user_factory: UserFactory, audit_log: AuditLog
    ) -> None:
        alice: User = await user_factory.acreate(username="alice")
        laptop, phone = await async_login_as(alice), await async_login_as(alice)

        assert (await laptop.post("/auth/logout-all")).status_code == 204

        assert (await phone.get("/users/me")).status_code == 401
        await audit_log.aassert_recorded("logout_all", actor=alice, target=alice)


# -- GET /auth/sessions -----------------------------------------------------------------------


class TestListingShowsMyLiveSessionsOnly:
    def test_lists_my_sessions_and_not_other_users(
        self, login_as: LoginAs, user_factory: UserFactory, db: SyncDB
    ) -> None:
        alice: User = user_factory(username="alice")
        laptop, phone = login_as(alice), login_as(alice)
        login_as(user_factory(username="bob"))

        ids = listed_ids(laptop)

        assert sorted(ids) == sorted([session_id(db, laptop), session_id(db, phone)])

    def test_a_revoked_session_is_not_listed(
        self, login_as: LoginAs, user: User, db: SyncDB
    ) -> None:
        laptop, phone = login_as(user), login_as(user)
        assert phone.post("/auth/logout").status_code == 204

        assert listed_ids(laptop) == [session_id(db, laptop)]

    def test_an_idle_expired_session_is_not_listed(
        self, login_as: LoginAs, user: User, db: SyncDB, clock: Clock
    ) -> None:
        login_as(user)
        clock.advance(seconds=IDLE + 1)
        current = login_as(user)

        assert listed_ids(current) == [session_id(db, current)]

    def test_a_session_idle_just_under_the_timeout_is_listed(
        self, login_as: LoginAs, user: User, db: SyncDB, clock: Clock
    ) -> None:
        older = login_as(user)
        clock.advance(seconds=IDLE - 1)
        current = login_as(user)

        assert listed_ids(current) == [session_id(db, current), session_id(db, older)]

    def test_an_absolute_expired_session_is_not_listed(
        self, login_as: LoginAs, user: User, db: SyncDB, clock: Clock, settings: SettingsOverride
    ) -> None:
        settings.session_absolute_timeout = 600
        login_as(user)
        clock.advance(seconds=601)  # well within the idle timeout
        current = login_as(user)

        assert listed_ids(current) == [session_id(db, current)]

    @pytest.mark.parametrize("setting", ["session_absolute_timeout", "session_idle_timeout"])
    def test_a_lowered_timeout_hides_existing_sessions_at_once(
        self,
        setting: str,
        login_as: LoginAs,
        user: User,
        db: SyncDB,
        clock: Clock,
        settings: SettingsOverride,
    ) -> None:
        login_as(user)
        clock.advance(seconds=700)
        current = login_as(user)
        assert len(listed_ids(current)) == 2

        settings.set(**{setting: 600})

        assert listed_ids(current) == [session_id(db, current)]

    def test_anonymous_is_401(self, client: TestClient) -> None:
        response = client.get("/auth/sessions")

        assert response.status_code == 401
        assert response.json() == NOT_AUTHENTICATED


class TestListingOrder:
    def test_newest_first(self, login_as: LoginAs, user: User, db: SyncDB, clock: Clock) -> None:
        browsers = []
        for _ in range(3):
            browsers.append(login_as(user))
            clock.advance(seconds=10)

        ids = listed_ids(browsers[0])

        assert ids == [session_id(db, browser) for browser in reversed(browsers)]

    def test_ties_on_created_at_are_broken_by_id_newest_first(
        self, login_as: LoginAs, user: User, db: SyncDB, clock: Clock
    ) -> None:
        browsers = [login_as(user) for _ in range(3)]  # the clock is frozen: one instant
        assert db.count(LoginSession, LoginSession.created_at == clock.now()) == 3

        ids = listed_ids(browsers[1])

        assert ids == sorted((session_id(db, browser) for browser in browsers), reverse=True)

    def test_created_at_decides_before_id(
        self, login_as: LoginAs, user: User, db: SyncDB, clock: Clock
    ) -> None:
        start = clock.now()
        clock.set(start + timedelta(seconds=60))
        newer = login_as(user)  # the smaller id, yet created later
        clock.set(start)
        older = login_as(user)

        ids = listed_ids(older)

        assert session_id(db, newer) < session_id(db, older)
        assert ids == [session_id(db, newer), session_id(db, older)]


class TestListedFields:
    def test_each_item_has_exactly_the_documented_fields(
        self, login_as: LoginAs, user: User
    ) -> None:
        browser = login_as(user, via="login")
        login_as(user)

        items = listing(browser)["items"]

        assert len(items) == 2
        for item in items:
            assert set(item) == SESSION_FIELDS

    def test_current_is_true_only_for_the_callers_session(
        self, login_as: LoginAs, user: User, db: SyncDB
    ) -> None:
        laptop, phone = login_as(user), login_as(user)

        for browser in (laptop, phone):
            current = {item["id"]: item["current"] for item in listing(browser)["items"]}
            assert current == {
                session_id(db, laptop): browser is laptop,
                session_id(db, phone): browser is phone,
            }

    def test_timestamps_are_the_utc_instants_of_login_and_last_activity(
        self, login_as: LoginAs, user: User, clock: Clock
    ) -> None:
        logged_in_at = clock.now()
        browser = login_as(user, via="login")
        clock.advance(minutes=10)

        (item,) = listing(browser)["items"]  # this request is the latest activity

        assert instant(item["created_at"]) == logged_in_at
        assert instant(item["last_seen_at"]) == clock.now()
        assert instant(item["expires_at"]) == clock.now() + timedelta(seconds=IDLE)

    def test_ip_and_user_agent_of_the_login_are_shown(
        self, sessionary_app: FastAPI, user: User
    ) -> None:
        browser = TestClient(
            sessionary_app, base_url="https://testserver", client=("192.0.2.10", 1)
        )
        login = browser.post(
            "/auth/login",
            json={"username": user.username, "password": DEFAULT_PASSWORD},
            headers={"User-Agent": "Sessionary-Test/1.0"},
        )
        assert login.status_code == 200

        (item,) = listing(browser)["items"]

        assert item["ip"] == "192.0.2.10"
        assert item["user_agent"] == "Sessionary-Test/1.0"

    def test_the_user_agent_is_stored_truncated_to_512(
        self, client: TestClient, user: User, db: SyncDB
    ) -> None:
        agent = "Mozilla/5.0 " + "x" * 700
        login = client.post(
            "/auth/login",
            json={"username": user.username, "password": DEFAULT_PASSWORD},
            headers={"User-Agent": agent},
        )
        assert login.status_code == 200

        (item,) = listing(client)["items"]

        assert item["user_agent"] == agent[:512]
        stored = db.scalar(select(LoginSession.user_agent).where(LoginSession.user_id == user.id))
        assert stored == agent[:512]

    def test_never_a_token_or_its_hash_in_the_body(
        self, login_as: LoginAs, user: User, db: SyncDB
    ) -> None:
        browsers = [login_as(user, via="login"), login_as(user)]
        hashes = db.execute(select(LoginSession.token_hash))

        response = browsers[0].get("/auth/sessions")

        assert response.status_code == 200
        body = response.text
        for browser in browsers:
            assert token_of(browser) not in body
        for (stored,) in hashes:
            for encoded in (
                stored.hex(),
                base64.b64encode(stored).decode(),
                base64.urlsafe_b64encode(stored).decode().rstrip("="),
            ):
                assert encoded not in body
        assert "token" not in body.lower()
        assert "hash" not in body.lower()


class TestListedExpiry:
    """``expires_at`` is the earlier of created + absolute and last seen + idle timeout."""

    def test_a_new_session_expires_at_its_idle_deadline(
        self, login_as: LoginAs, user: User, clock: Clock
    ) -> None:
        (item,) = listing(login_as(user))["items"]

        assert instant(item["expires_at"]) == clock.now() + timedelta(seconds=IDLE)

    def test_activity_moves_the_idle_deadline(
        self, login_as: LoginAs, user: User, clock: Clock
    ) -> None:
        browser = login_as(user)
        clock.advance(minutes=30)

        (item,) = listing(browser)["items"]

        assert instant(item["expires_at"]) == clock.now() + timedelta(seconds=IDLE)

    def test_near_the_end_the_absolute_deadline_comes_first(
        self, login_as: LoginAs, user: User, clock: Clock, settings: SettingsOverride
    ) -> None:
        settings.session_absolute_timeout = 5400
        logged_in_at = clock.now()
        browser = login_as(user)
        clock.advance(seconds=3000)

        (item,) = listing(browser)["items"]

        assert instant(item["last_seen_at"]) == clock.now()
        assert instant(item["expires_at"]) == logged_in_at + timedelta(seconds=5400)

    def test_a_lowered_idle_timeout_applies_at_once(
        self, login_as: LoginAs, user: User, clock: Clock, settings: SettingsOverride
    ) -> None:
        browser = login_as(user)

        settings.session_idle_timeout = 600

        (item,) = listing(browser)["items"]
        assert instant(item["expires_at"]) == clock.now() + timedelta(seconds=600)

    def test_a_lowered_absolute_timeout_applies_at_once(
        self, login_as: LoginAs, user: User, clock: Clock, settings: SettingsOverride
    ) -> None:
        logged_in_at = clock.now()
        browser = login_as(user)
        clock.advance(seconds=120)

        settings.session_absolute_timeout = 1800

        (item,) = listing(browser)["items"]
        assert instant(item["expires_at"]) == logged_in_at + timedelta(seconds=1800)

    def test_the_listed_deadline_is_when_the_session_really_stops(
        self, login_as: LoginAs, user: User, clock: Clock, settings: SettingsOverride
    ) -> None:
        settings.session_absolute_timeout = 5400
        browser = login_as(user)
        clock.advance(seconds=3000)
        deadline = instant(listing(browser)["items"][0]["expires_at"])

        clock.set(deadline - timedelta(seconds=1))
        assert browser.get("/users/me").status_code == 200
        clock.set(deadline)
        assert browser.get("/users/me").status_code == 401


class TestListingPagination:
    @pytest.fixture
    def browsers(self, login_as: LoginAs, user: User, clock: Clock) -> list[TestClient]:
        made: list[TestClient] = []
        for _ in range(5):
            made.append(login_as(user))
            clock.advance(seconds=1)
        return made

    def test_pages_walk_every_session_once_newest_first(
        self, browsers: list[TestClient], db: SyncDB
    ) -> None:
        browser = browsers[0]
        pages = [listing(browser, limit=2, offset=offset) for offset in (0, 2, 4)]

        assert [page["next_offset"] for page in pages] == [2, 4, None]
        assert [(page["limit"], page["offset"]) for page in pages] == [(2, 0), (2, 2), (2, 4)]
        walked = [item["id"] for page in pages for item in page["items"]]
        assert walked == [session_id(db, b) for b in reversed(browsers)]

    def test_defaults_are_limit_50_offset_0(self, browsers: list[TestClient]) -> None:
        page = listing(browsers[0])

        assert (page["limit"], page["offset"], page["next_offset"]) == (50, 0, None)
        assert len(page["items"]) == 5

    def test_a_full_last_page_has_no_next_offset(self, browsers: list[TestClient]) -> None:
        page = listing(browsers[0], limit=5)

        assert len(page["items"]) == 5
        assert page["next_offset"] is None

    def test_an_offset_past_the_end_is_an_empty_page(self, browsers: list[TestClient]) -> None:
        page = listing(browsers[0], offset=10)

        assert page["items"] == []
        assert page["next_offset"] is None

    def test_limit_100_is_allowed(self, browsers: list[TestClient]) -> None:
        assert len(listing(browsers[0], limit=100)["items"]) == 5

    @pytest.mark.parametrize(
        "params", [{"limit": 101}, {"limit": 0}, {"limit": -1}, {"offset": -1}]
    )
    def test_out_of_range_paging_is_422(
        self, params: dict[str, int], browsers: list[TestClient]
    ) -> None:
        response = browsers[0].get("/auth/sessions", params=params)

        assert response.status_code == 422


# -- DELETE /auth/sessions/{id} ---------------------------------------------------------------


class TestRevokingOneOfMySessions:
    def test_answers_204_and_that_session_is_dead(
        self, login_as: LoginAs, user: User, db: SyncDB
    ) -> None:
        laptop, phone = login_as(user), login_as(user)

        response = laptop.delete(f"/auth/sessions/{session_id(db, phone)}")

        assert response.status_code == 204
        assert response.content == b""
        assert phone.get("/users/me").status_code == 401
        assert laptop.get("/users/me").status_code == 200

    def test_the_current_session_may_revoke_itself(
        self, login_as: LoginAs, user: User, db: SyncDB
    ) -> None:
        browser = login_as(user)

        response = browser.delete(f"/auth/sessions/{session_id(db, browser)}")

        assert response.status_code == 204
        assert browser.get("/users/me").status_code == 401

    def test_is_audited_as_session_revoked(
        self, login_as: LoginAs, user: User, db: SyncDB, audit_log: AuditLog
    ) -> None:
        laptop, phone = login_as(user), login_as(user)
        phone_id = session_id(db, phone)

        laptop.delete(f"/auth/sessions/{phone_id}")

        event = audit_log.assert_recorded("session.revoked", actor=user, target=phone_id)
        assert event.target_type == "session"


class TestRevokingASessionThatIsNotMine:
    def test_another_users_session_is_404_and_keeps_working(
        self, login_as: LoginAs, user_factory: UserFactory, db: SyncDB, audit_log: AuditLog
    ) -> None:
        alices = login_as(user_factory(username="alice"))
        bobs = login_as(user_factory(username="bob"))

        response = alices.delete(f"/auth/sessions/{session_id(db, bobs)}")

        assert response.status_code == 404
        assert response.json() == {"detail": "Session not found"}
        assert bobs.get("/users/me").status_code == 200
        assert audit_log.events("session.revoked") == []

    def test_an_unknown_id_is_404(self, login_as: LoginAs, user: User) -> None:
        response = login_as(user).delete("/auth/sessions/987654")

        assert response.status_code == 404

    def test_an_already_revoked_session_is_404_and_keeps_its_revocation_time(
        self, login_as: LoginAs, user: User, db: SyncDB, clock: Clock
    ) -> None:
        laptop, phone = login_as(user), login_as(user)
        phone_id = session_id(db, phone)
        revoked_at = clock.now()
        assert laptop.delete(f"/auth/sessions/{phone_id}").status_code == 204
        clock.advance(minutes=5)

        response = laptop.delete(f"/auth/sessions/{phone_id}")

        assert response.status_code == 404
        stored = db.scalar(select(LoginSession.revoked_at).where(LoginSession.id == phone_id))
        assert stored == revoked_at

    def test_a_non_numeric_id_is_422(self, login_as: LoginAs, user: User) -> None:
        assert login_as(user).delete("/auth/sessions/abc").status_code == 422

    def test_anonymous_is_401(
        self, login_as: LoginAs, user: User, client: TestClient, db: SyncDB
    ) -> None:
        browser = login_as(user)

        response = client.delete(f"/auth/sessions/{session_id(db, browser)}")

        assert response.status_code == 401
        assert browser.get("/users/me").status_code == 200
