"""An administrator gives an account a new password (PATCH /users/{id} {"password"}): the old one stops
working, the account's open sessions end (not a phone's device token, not the admin's own session), and
only where the role logs in with a password; within the organizations the admin sees."""

from __future__ import annotations

from sqlalchemy import select

from backend.auth import service as auth_service
from backend.auth.models import User
from backend.db import transaction
from tests.factories import PASSWORD, login

API = "/api/v1"
NEW = "a brand new password"


def code_of(response) -> str:
    return response.json()["error"]["code"]


def user_id(client, h, email: str) -> int:
    return next(u["id"] for u in client.get(f"{API}/users", headers=h("admin")).json() if u["email"] == email)


def test_a_new_password_replaces_the_old_one_and_ends_the_sessions(client, world, h):
    operator_session = login(client, world.users["operator"])
    assert client.get(f"{API}/me", headers=operator_session).status_code == 200
    operator = user_id(client, h, world.users["operator"])

    response = client.patch(f"{API}/users/{operator}", json={"password": NEW}, headers=h("admin"))
    assert response.status_code == 200, response.text
    assert "password" not in response.text

    assert client.get(f"{API}/me", headers=operator_session).status_code == 401
    old = client.post(f"{API}/auth/token", data={"username": world.users["operator"], "password": PASSWORD})
    assert (old.status_code, code_of(old)) == (401, "bad_credentials")
    assert client.get(f"{API}/me", headers=login(client, world.users["operator"], NEW)).status_code == 200


def test_an_admin_changing_their_own_password_stays_logged_in(client, world, h):
    other_session = login(client, world.users["admin"])
    me = client.get(f"{API}/me", headers=h("admin")).json()
    response = client.patch(f"{API}/users/{me['id']}", json={"password": NEW}, headers=h("admin"))
    assert response.status_code == 200, response.text
    assert client.get(f"{API}/me", headers=h("admin")).status_code == 200
    assert client.get(f"{API}/me", headers=other_session).status_code == 401


def test_a_password_is_refused_where_the_role_has_none_or_too_short(client, world, h):
    oncall = user_id(client, h, world.users["oncall"])
    response = client.patch(f"{API}/users/{oncall}", json={"password": NEW}, headers=h("admin"))
    assert (response.status_code, code_of(response)) == (422, "password_not_used")
    referent = user_id(client, h, world.users["referent"])
    for body in ({"password": "short"}, {"password": None}, {"password": "x" * 1025}):
        response = client.patch(f"{API}/users/{referent}", json=body, headers=h("admin"))
        assert (response.status_code, code_of(response)) == (422, "invalid_input"), body
    assert login(client, world.users["referent"])  # unchanged


def test_an_oncall_account_promoted_with_a_password_logs_in(client, world, h):
    oncall = user_id(client, h, world.users["oncall"])
    promoted = client.patch(f"{API}/users/{oncall}", json={"role": "referent", "password": NEW}, headers=h("admin"))
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["role"] == "referent"
    assert login(client, world.users["oncall"], NEW)


def test_a_phone_keeps_its_device_token(client, world, h, runtime):
    with transaction(runtime.session_factory) as s:
        user = s.scalar(select(User).where(User.email == world.users["oncall"]))
        device_token = auth_service.issue_token(db_session=s, user=user, ttl_hours=None, kind="device", label="phone")
    oncall = user_id(client, h, world.users["oncall"])
    assert client.patch(f"{API}/users/{oncall}", json={"role": "referent", "password": NEW},
                        headers=h("admin")).status_code == 200
    assert client.get(f"{API}/me", headers={"Authorization": f"Bearer {device_token}"}).status_code == 200


def test_only_an_admin_of_the_organization_sets_a_password(client, world, h, runtime):
    referent = user_id(client, h, world.users["referent"])
    for role in ("operator", "referent"):
        response = client.patch(f"{API}/users/{referent}", json={"password": NEW}, headers=h(role))
        assert (response.status_code, code_of(response)) == (403, "role_forbidden"), role
    with transaction(runtime.session_factory) as s:
        auth_service.create_user(db_session=s, email="foreign_admin@example.org", full_name="Foreign Admin",
                                 role="admin", organization_id=world.foreign_metropole_id, password=PASSWORD)
    foreign = login(client, "foreign_admin@example.org")
    response = client.patch(f"{API}/users/{referent}", json={"password": NEW}, headers=foreign)
    assert (response.status_code, code_of(response)) == (404, "not_found")
    assert login(client, world.users["referent"])  # unchanged
