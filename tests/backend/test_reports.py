"""Event reports: written from the trace at closure, sent to the procedure's lists, kept per version."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.outbox.models import Notification
from tests.factories import login

API = "/api/v1"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def op(client, world):
    return login(client, world.users["operator"])


@pytest.fixture
def with_report_list(runtime, world):
    """The procedure reports to « Direction générale » (Cadre Un)."""
    from backend.db import transaction
    from backend.groups.models import DistributionList
    from backend.procedures.models import ProcedureReportList

    with transaction(runtime.session_factory) as s:
        dlist = s.scalar(select(DistributionList).where(DistributionList.organization_id == world.commune_id))
        s.add(ProcedureReportList(procedure_id=world.procedure_id, list_id=dlist.id))


def open_answer_close(client, world, op):
    event = client.post(f"{API}/events", headers=op, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
        "title": "Arbre tombé sur la chaussée", "place": "Avenue Roland Carraz", "caller_name": "Brigadier Martin",
        "callback_number": "0639980199", "source": "police", "description": "Un platane bloque les deux voies."}).json()
    tech = login(client, world.users["oncall"])
    assert client.post(f"{API}/events/{event['id']}/responses", headers=tech, json={"kind": "ack"}).status_code == 201
    assert client.post(f"{API}/events/{event['id']}/responses", headers=tech,
                       json={"kind": "on_site", "text": "balisage posé"}).status_code == 201
    closed = client.post(f"{API}/events/{event['id']}/close", headers=op, json={
        "reason": "Arbre dégagé, voie rouverte", "follow_up": "Élagage des platanes voisins à programmer"})
    assert closed.status_code == 200, closed.text
    return event


def test_closing_writes_the_report_from_the_trace_and_sends_it_to_the_lists(client, world, runtime, op,
                                                                             with_report_list):
    event = open_answer_close(client, world, op)
    [report] = client.get(f"{API}/events/{event['id']}/reports", headers=op).json()
    assert (report["version"], report["trigger"]) == (1, "closure")
    # Whom it went to, and where each e-mail stands (queued until the worker hands it over).
    assert report["lists"] == ["Direction générale"]
    assert [(r["person_id"], r["person"], r["channel"], r["status"]) for r in report["recipients"]] == [
        (world.cadres[0], "Cadre Un", "email", "queued"), (world.cadres[0], "Cadre Un", "sms", "queued")]
    html = client.get(f"{API}/reports/{report['id']}.html", headers=op).text
    for expected in ("Rapport d'événement " + event["number"], "Brigadier Martin", "Police", "Tech Un",
                     "Je prends", "Sur place", "balisage posé", "Arbre dégagé, voie rouverte",
                     "Élagage des platanes voisins à programmer", "chaîne d'intégrité intacte"):
        assert expected in html, expected
    pdf = client.get(f"{API}/reports/{report['id']}.pdf", headers=op)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    with runtime.session_factory() as s:
        mails = s.scalars(select(Notification).where(Notification.purpose == "report")).all()
    assert [(m.person_id, m.channel) for m in mails] == [(world.cadres[0], "email")]
    assert "Rapport " + event["number"] in mails[0].subject and "Tech Un" in mails[0].html
    sent = [e for e in client.get(f"{API}/events/{event['id']}/trace", headers=op).json() if e["kind"] == "report.sent"]
    assert len(sent) == 1 and sent[0]["data"]["lists"] == ["Direction générale"]
    assert client.get(f"{API}/events/{event['id']}/trace/verify", headers=op).json()["intact"] is True
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "report.pdf").write_bytes(pdf.content)
    if shutil.which("pdftoppm"):  # the PNG is what a person looks at
        subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", str(ARTIFACTS / "report.pdf"),
                        str(ARTIFACTS / "report")], check=True)


def test_a_report_on_demand_is_a_new_version_and_the_first_is_kept(client, world, op, with_report_list):
    event = open_answer_close(client, world, op)
    again = client.post(f"{API}/events/{event['id']}/reports", headers=op, json={"send": False})
    assert again.status_code == 201 and again.json()["version"] == 2
    assert (again.json()["lists"], again.json()["recipients"]) == ([], [])  # kept, sent to nobody
    versions = client.get(f"{API}/events/{event['id']}/reports", headers=op).json()
    assert [v["version"] for v in versions] == [1, 2]
    kinds = [e["kind"] for e in client.get(f"{API}/events/{event['id']}/trace", headers=op).json()]
    assert kinds.count("report.sent") == 1 and kinds.count("report.written") == 1


def test_reports_are_scoped(client, world, op):
    event = open_answer_close(client, world, op)
    [report] = client.get(f"{API}/events/{event['id']}/reports", headers=op).json()
    foreign = login(client, world.users["foreign_operator"])
    assert client.get(f"{API}/reports/{report['id']}.pdf", headers=foreign).status_code == 404
    assert client.get(f"{API}/events/{event['id']}/reports", headers=foreign).status_code == 404
    assert client.post(f"{API}/events/{event['id']}/reports", headers=foreign, json={}).status_code == 404
    referent = login(client, world.users["referent"])
    assert client.get(f"{API}/reports/{report['id']}.html", headers=referent).status_code == 200
    assert client.post(f"{API}/events/{event['id']}/reports", headers=referent, json={}).status_code == 403
