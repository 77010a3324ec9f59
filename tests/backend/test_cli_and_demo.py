"""The `vigie` command as a user runs it (a real subprocess), the demo commune, the first admin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select

from backend.app import create_app
from backend.auth.models import User
from backend.config import Settings
from backend.db import make_engine, make_session_factory, transaction
from backend.demo import DEMO_PASSWORD
from backend.groups.models import DistributionList, GroupMember, OnCallGroup
from backend.migrate import alembic_config
from backend.orgs.models import Organization
from backend.people.models import ContactMethod, Person
from backend.procedures.models import Procedure, ProcedureStep
from backend.schedule.models import Rotation
from tests.conftest import ON_POSTGRES, PG_URL

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL = "chef.pc@example.org"
ADMIN_PASSWORD = "un mot de passe solide"


def vigie(*args: str, database_url: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """Run `python -m backend.cli ARGS` the way a user would, with a clean `VIGIE_` environment."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_") and k != "DATABASE_URL"}
    environ.update({"DATABASE_URL": database_url, "VIGIE_VAR_DIR": str(tmp_path / "var"), **env})
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=120)


def session_on(database_url: str):
    url = Settings(DATABASE_URL=database_url).sqlalchemy_url
    engine = make_engine(url)
    return engine, make_session_factory(engine)


def demo_counts(database_url: str) -> dict:
    engine, factory = session_on(database_url)
    try:
        with transaction(factory) as s:
            members = Counter()
            groups_by_kind = Counter()
            for group in s.scalars(select(OnCallGroup)):
                groups_by_kind[group.kind] += 1
                members[group.kind] += s.scalar(select(func.count(GroupMember.id))
                                                .where(GroupMember.group_id == group.id))
            return {
                "communes": s.scalar(select(func.count(Organization.id)).where(Organization.kind == "commune")),
                "metropoles": s.scalar(select(func.count(Organization.id)).where(Organization.kind == "metropole")),
                "people": s.scalar(select(func.count(Person.id))),
                "rotations": dict(Counter(s.scalars(select(OnCallGroup.kind).join(
                    Rotation, Rotation.group_id == OnCallGroup.id).where(Rotation.valid_until.is_(None))))),
                "groups": dict(groups_by_kind),
                "members": dict(members),
                "procedures": s.scalar(select(func.count(Procedure.id))),
                "steps": s.scalar(select(func.count(ProcedureStep.id))),
                "lists": s.scalar(select(func.count(DistributionList.id))),
                "users": sorted(s.scalars(select(User.email))),
            }
    finally:
        engine.dispose()


def app_client(database_url: str, tmp_path: Path, **settings) -> TestClient:
    app = create_app(Settings(DATABASE_URL=database_url, var_dir=tmp_path / "var", run_worker=False, **settings),
                     run_worker=False)
    return TestClient(app)


def token(client: TestClient, email: str, password: str):
    return client.post("/api/v1/auth/token", data={"username": email, "password": password})


# --- vigie db upgrade ----------------------------------------------------------------------------------------------


def test_db_upgrade_builds_a_fresh_sqlite_file_and_is_idempotent(tmp_path):
    path = tmp_path / "fresh" / "x.db"
    url = f"sqlite:///{path}"
    result = vigie("db", "upgrade", database_url=url, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "database up to date" in result.stdout
    assert path.is_file()

    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine, factory = session_on(url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert {"organizations", "people", "events", "pages", "notifications", "responses", "trace_entries",
                "users", "worker_heartbeats", "alembic_version"} <= tables
        with factory() as s:
            assert s.scalar(select(func.count()).select_from(Organization)) == 0
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head
    finally:
        engine.dispose()

    again = vigie("db", "upgrade", database_url=url, tmp_path=tmp_path)
    assert again.returncode == 0, again.stderr


@pytest.mark.skipif(not ON_POSTGRES, reason="needs the PostgreSQL test database")
def test_db_upgrade_does_not_print_the_database_password(tmp_path, migrated_template):
    scheme, rest = PG_URL.split("://", 1)
    user, host = rest.split("@", 1)
    url = f"{scheme}://{user.split(':')[0]}:s3cr3t-pw@{host}"
    result = vigie("db", "upgrade", database_url=url, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "s3cr3t-pw" not in result.stdout + result.stderr
    assert "database up to date" in result.stdout


# --- vigie demo ------------------------------------------------------------------------------------------------------


def test_demo_if_empty_loads_the_demo_commune_once(database_url, tmp_path):
    first = vigie("demo", "--if-empty", database_url=database_url, tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "demo data loaded" in first.stdout and "operateur@example.org" in first.stdout
    loaded = demo_counts(database_url)
    assert loaded["communes"] == 1 and loaded["metropoles"] == 1
    assert loaded["groups"] == {"elu": 1, "cadre": 1, "technique": 1, "prestataire": 2}
    assert loaded["members"] == {"elu": 3, "cadre": 4, "technique": 6, "prestataire": 2}
    assert loaded["people"] == 3 + 4 + 6 + 2
    assert 9 <= loaded["procedures"] <= 12 and loaded["steps"] >= 2 * loaded["procedures"]
    assert loaded["lists"] == 2
    assert loaded["users"] == ["admin@example.org", "operateur@example.org", "referent@example.org"]
    assert loaded["rotations"] == {"elu": 1, "cadre": 1, "technique": 1}

    second = vigie("demo", "--if-empty", database_url=database_url, tmp_path=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "nothing loaded" in second.stdout
    assert demo_counts(database_url) == loaded


def test_demo_without_if_empty_on_a_loaded_database_duplicates_nothing(database_url, tmp_path):
    assert vigie("demo", database_url=database_url, tmp_path=tmp_path).returncode == 0
    loaded = demo_counts(database_url)
    again = vigie("demo", database_url=database_url, tmp_path=tmp_path)
    assert again.returncode != 0
    assert demo_counts(database_url) == loaded


def test_demo_people_are_fictional(database_url, tmp_path):
    assert vigie("demo", "--if-empty", database_url=database_url, tmp_path=tmp_path).returncode == 0
    engine, factory = session_on(database_url)
    try:
        with factory() as s:
            contacts = list(s.execute(select(ContactMethod.kind, ContactMethod.address)))
    finally:
        engine.dispose()
    phones = [address for kind, address in contacts if kind == "sms"]
    emails = [address for kind, address in contacts if kind == "email"]
    assert len(phones) == len(emails) == 15
    # ARCEP's range reserved for fiction: +33 6 39 98 xx xx.
    assert all(p.startswith("+3363998") and len(p) == 12 for p in phones), phones
    assert len(set(phones)) == len(phones)
    assert all(e.endswith("@example.org") and e.isascii() for e in emails), emails


def test_the_demo_operator_logs_in_and_opens_an_event(database_url, tmp_path):
    assert vigie("demo", "--if-empty", database_url=database_url, tmp_path=tmp_path).returncode == 0
    with app_client(database_url, tmp_path) as client:
        response = token(client, "operateur@example.org", DEMO_PASSWORD)
        assert response.status_code == 200, response.text
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        procedures = client.get("/api/v1/procedures", headers=headers).json()
        tree = next(p for p in procedures if p["category"] == "Chute d'arbre sur la voirie")
        event = client.post("/api/v1/events", headers=headers, json={
            "organization_id": tree["organization_id"], "procedure_id": tree["id"], "severity": 3,
            "title": "Platane tombé avenue Roland Carraz"})
        assert event.status_code == 201, event.text
        assert event.json()["number"].endswith("-0001")
        assert [p["status"] for p in event.json()["pages"]] == ["active"]
        # The first technician is solicited and the élu on call (one of the three) is informed (severity 3).
        purposes = Counter(n["purpose"] for n in event.json()["notifications"])
        assert purposes["solicit"] >= 1 and purposes["inform"] >= 1
        assert len({n["person_id"] for n in event.json()["notifications"] if n["purpose"] == "inform"}) == 1


# --- the first admin ---------------------------------------------------------------------------------------------


def test_the_first_admin_comes_from_the_environment_when_no_user_exists(database_url, tmp_path):
    with app_client(database_url, tmp_path, admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD) as client:
        response = token(client, ADMIN_EMAIL.upper(), ADMIN_PASSWORD)
        assert response.status_code == 200, response.text
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"})
        assert (me.json()["role"], me.json()["email"]) == ("admin", ADMIN_EMAIL)
        assert token(client, ADMIN_EMAIL, "wrong password!").status_code == 401
    # Users exist now: a later start with other credentials creates nobody.
    with app_client(database_url, tmp_path, admin_email="other@example.org",
                    admin_password="another strong one") as client:
        assert token(client, "other@example.org", "another strong one").status_code == 401
        assert token(client, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200
    assert demo_counts(database_url)["users"] == [ADMIN_EMAIL]


def test_no_admin_is_invented_without_the_environment(database_url, tmp_path):
    with app_client(database_url, tmp_path) as client:
        assert token(client, "admin@example.org", "admin").status_code == 401
    assert demo_counts(database_url)["users"] == []


@pytest.mark.parametrize("password", ["changeme", "admin", "short"])
def test_a_placeholder_admin_password_is_refused_at_start(password):
    with pytest.raises(ValueError, match="VIGIE_ADMIN_PASSWORD"):
        Settings(DATABASE_URL="sqlite:///unused.db", admin_email=ADMIN_EMAIL, admin_password=password)


def test_make_run_with_an_admin_in_the_environment(tmp_path):
    """`make run`: db upgrade, demo --if-empty, serve — the admin of the environment can log in."""
    url = f"sqlite:///{tmp_path / 'run.db'}"
    env = {"VIGIE_ADMIN_EMAIL": ADMIN_EMAIL, "VIGIE_ADMIN_PASSWORD": ADMIN_PASSWORD}
    assert vigie("db", "upgrade", database_url=url, tmp_path=tmp_path, **env).returncode == 0
    demo = vigie("demo", "--if-empty", database_url=url, tmp_path=tmp_path, **env)
    assert demo.returncode == 0, demo.stderr
    with app_client(url, tmp_path, admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD) as client:
        assert token(client, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200
        assert token(client, "operateur@example.org", DEMO_PASSWORD).status_code == 200
        admin = token(client, ADMIN_EMAIL, ADMIN_PASSWORD).json()["access_token"]
        orgs = client.get("/api/v1/organizations", headers={"Authorization": f"Bearer {admin}"}).json()
        # The environment's admin runs the métropole that serves the demo commune.
        assert {o["code"] for o in orgs} >= {"CHENOVE"}


# --- vigie openapi -------------------------------------------------------------------------------------------------


def test_openapi_writes_the_api_document(tmp_path):
    output = tmp_path / "out" / "openapi.json"
    result = vigie("openapi", "--output", str(output), database_url=f"sqlite:///{tmp_path / 'unused.db'}",
                   tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert str(output) in result.stdout
    document = json.loads(output.read_text())
    assert document["info"]["title"] == "Vigie"
    for path in ("/api/v1/events", "/api/v1/events/{event_id}/responses", "/api/v1/events/{event_id}/trace/verify",
                 "/api/v1/auth/token", "/healthz", "/metrics"):
        assert path in document["paths"], path
    assert document == json.loads(json.dumps(create_app().openapi()))
    assert not (tmp_path / "unused.db").exists()  # writing the document touches no database


def _nice_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


@pytest.mark.parametrize("worker_beside", [True, False])
def test_an_api_only_server_gives_way_to_the_workers_on_its_host(tmp_path, worker_beside):
    """Under overload the steps and messages already accepted go first: `serve --no-worker` runs at a
    lower CPU priority; `serve` with its own worker keeps it (its child worker would inherit it)."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc")
    url = f"sqlite:///{tmp_path / 'nice.db'}"
    assert vigie("db", "upgrade", database_url=url, tmp_path=tmp_path).returncode == 0
    environ = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_") and k != "DATABASE_URL"}
    environ.update({"DATABASE_URL": url, "VIGIE_VAR_DIR": str(tmp_path / "var")})
    args = ["serve", "--port", "0"] + ([] if worker_beside else ["--no-worker"])
    server = subprocess.Popen([sys.executable, "-m", "backend.cli", *args], cwd=ROOT, env=environ,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert "Vigie: http" in server.stdout.readline()
        expected = _nice_of(os.getpid()) + (0 if worker_beside else Settings().api_nice)
        assert _nice_of(server.pid) == min(expected, 19)
    finally:
        server.terminate()
        server.wait(10)
