"""CAP 1.2: an alert becomes an event (Exercise: a drill), an Update a note, a Cancel a closure — each once;
XML that could expand is refused; an event is given back as a CAP alert that reads back in."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from backend.cap import parse
from backend.cap.dependencies import MAX_BODY
from backend.db import transaction
from backend.outbox.models import Notification
from backend.procedures.models import Procedure

API = "/api/v1"
NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP = {"Content-Type": "application/cap+xml"}


def alert(*, identifier="SDIS21-2026-001", sender="cta.sdis21.example.org", status="Actual", msg_type="Alert",
          scope="Restricted", category="Infra", event="Chute d'arbre sur la voirie", urgency="Immediate",
          severity="Severe", certainty="Observed", commune="CHENOVE", references=None, note=None,
          headline="Arbre en travers de la chaussée", area="Rue de la Paix, Chenôve", drop=()) -> bytes:
    """A CAP 1.2 alert as a sender writes it; `drop` leaves out elements (`info/urgency`, `sender`…)."""
    def el(name, value, path=""):
        return "" if (path + name) in drop or value is None else f"<{name}>{value}</{name}>"
    info = "" if "info" in drop else (
        "<info>" + el("language", "fr-FR") + el("category", category, "info/") + el("event", event, "info/")
        + el("urgency", urgency, "info/") + el("severity", severity, "info/") + el("certainty", certainty, "info/")
        + el("senderName", "CTA-CODIS 21") + el("headline", headline) + el("description", "Signalé par un riverain")
        + (f"<parameter><valueName>commune</valueName><value>{commune}</value></parameter>" if commune else "")
        + f"<area><areaDesc>{area}</areaDesc><circle>47.3,5.0 0.5</circle></area></info>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><alert xmlns="{NS}">'
            + el("identifier", identifier) + el("sender", sender) + el("sent", "2026-12-05T01:10:00+01:00")
            + el("status", status) + el("msgType", msg_type) + el("scope", scope) + el("note", note)
            + el("references", references) + info + "</alert>").encode()


@pytest.fixture
def post(client, h):
    def _post(body: bytes, role: str = "operator", headers: dict | None = None):
        return client.post(f"{API}/cap/alerts", content=body, headers={**h(role), **(headers or CAP)})
    return _post


def notifications_of(runtime, event_id: int) -> list[Notification]:
    with transaction(runtime.session_factory) as session:
        rows = list(session.scalars(select(Notification).where(Notification.event_id == event_id)))
        session.expunge_all()
        return rows


@pytest.mark.parametrize(("cap", "vigie"), [("Extreme", 4), ("Severe", 3), ("Moderate", 2), ("Minor", 1),
                                            ("Unknown", 3)])
def test_an_alert_opens_an_event_on_the_procedure_of_its_category_at_the_mapped_severity(post, world, cap, vigie):
    response = post(alert(severity=cap))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["action"] == "created" and body["duplicate"] is False
    event = body["event"]
    assert event["severity"] == vigie
    assert event["procedure_id"] == world.procedure_id
    assert event["organization_id"] == world.commune_id
    assert event["place"] == "Rue de la Paix, Chenôve"
    assert event["title"] == "Arbre en travers de la chaussée"
    assert (event["latitude"], event["longitude"]) == (47.3, 5.0)
    assert event["cap_urgency"] == "Immediate" and event["cap_certainty"] == "Observed"
    assert event["exercise"] is False


def test_the_alert_is_in_the_trace_and_the_chain_is_paged(post, client, h, runtime):
    event = post(alert()).json()["event"]
    trace = client.get(f"{API}/events/{event['id']}/trace", headers=h("operator")).json()
    cap = [e for e in trace if e["kind"] == "event.cap"]
    assert cap and cap[0]["data"]["sender"] == "cta.sdis21.example.org"
    assert cap[0]["data"]["identifier"] == "SDIS21-2026-001"
    solicit = [n for n in notifications_of(runtime, event["id"]) if n.purpose == "solicit"]
    assert solicit and not any(n.subject.startswith("EXERCICE") for n in solicit)


def test_an_exercise_alert_opens_a_drill_whose_messages_say_so(post, runtime):
    event = post(alert(status="Exercise")).json()["event"]
    assert event["exercise"] is True
    messages = notifications_of(runtime, event["id"])
    assert messages
    for message in messages:
        if message.channel == "sms":  # GSM-7 folds the dash
            assert message.subject.startswith("EXERCICE - ")
            assert message.text.startswith("EXERCICE - [CHENOVE]") and len(message.text) <= 160
        else:
            assert message.subject.startswith("EXERCICE — "), message.subject
            assert message.text.startswith("EXERCICE — ") or "\nEXERCICE — " in message.text


def test_a_repeat_answers_the_same_event_and_pages_nobody_again(post, runtime):
    first = post(alert())
    again = post(alert())
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["event"]["id"] == first.json()["event"]["id"]
    sent = len(notifications_of(runtime, first.json()["event"]["id"]))
    with transaction(runtime.session_factory) as session:
        assert sent and session.scalar(select(func.count()).select_from(Notification)) == sent
    # Another sender's same identifier is another alert.
    other = post(alert(sender="prefecture21.example.org"))
    assert other.status_code == 201 and other.json()["event"]["id"] != first.json()["event"]["id"]


def test_an_update_notes_the_referenced_event_once(post, client, h):
    event = post(alert()).json()["event"]
    update = alert(identifier="SDIS21-2026-002", msg_type="Update", headline="Deux arbres finalement",
                   references="cta.sdis21.example.org,SDIS21-2026-001,2026-12-05T01:10:00+01:00")
    response = post(update)
    assert response.status_code == 201, response.text
    assert response.json()["action"] == "updated" and response.json()["event"]["id"] == event["id"]
    assert post(update).json()["duplicate"] is True
    trace = client.get(f"{API}/events/{event['id']}/trace", headers=h("operator")).json()
    updates = [e for e in trace if e["kind"] == "event.cap" and e["data"]["msg_type"] == "Update"]
    assert len(updates) == 1 and updates[0]["data"]["headline"] == "Deux arbres finalement"
    assert client.get(f"{API}/events/{event['id']}", headers=h("operator")).json()["status"] == "open"


def test_a_cancel_closes_the_referenced_event_with_the_senders_note(post, client, h):
    event = post(alert()).json()["event"]
    cancel = alert(identifier="SDIS21-2026-003", msg_type="Cancel", note="Fausse alerte, arbre déjà dégagé",
                   references="cta.sdis21.example.org,SDIS21-2026-001,2026-12-05T01:10:00+01:00", drop=("info",))
    response = post(cancel)
    assert response.status_code == 201, response.text
    closed = client.get(f"{API}/events/{event['id']}", headers=h("operator")).json()
    assert closed["status"] == "closed"
    assert "Fausse alerte, arbre déjà dégagé" in closed["closure_reason"]
    assert all(p["status"] != "active" for p in closed["pages"])


def test_an_update_of_an_unknown_alert_is_refused(post):
    response = post(alert(identifier="X-2", msg_type="Update", references="nobody.example.org,X-1,2026-12-05T01:00:00+01:00"))
    assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_reference"
    missing = post(alert(identifier="X-3", msg_type="Cancel"))
    assert missing.status_code == 422 and missing.json()["error"]["details"] == {"element": "references"}


@pytest.mark.parametrize("status", ["Test", "Draft", "System"])
def test_test_draft_and_system_alerts_are_refused_and_page_nobody(post, runtime, status):
    response = post(alert(status=status))
    assert response.status_code == 422 and response.json()["error"]["code"] == "cap_status_refused"
    with transaction(runtime.session_factory) as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 0


@pytest.mark.parametrize("element", ["identifier", "sender", "sent", "status", "msgType", "scope", "info",
                                     "info/category", "info/event", "info/urgency", "info/severity",
                                     "info/certainty"])
def test_a_missing_element_is_named(post, element):
    response = post(alert(drop=(element,)))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "cap_missing_element" and error["details"]["element"] == element
    assert f"<{element}>" in error["message"]


def test_a_value_outside_cap_is_refused(post):
    response = post(alert(severity="Terrible"))
    assert response.status_code == 422
    assert response.json()["error"]["details"]["element"] == "info/severity"


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
                  b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol2;</identifier></alert>')
EXTERNAL = (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>')


@pytest.mark.parametrize(("body", "code"), [
    (BILLION_LAUGHS, "xml_dtd_forbidden"), (EXTERNAL, "xml_dtd_forbidden"),
    (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>", "invalid_xml"),
    ("<alert>é</alert>".encode("utf-16"), "invalid_xml"), (b"not xml at all", "invalid_xml"),
])
def test_bad_xml_and_any_dtd_or_entity_are_refused(post, body, code):
    response = post(body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code


def test_another_root_is_not_an_alert(post):
    response = post(b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"><identifier>a</identifier></alert>')
    assert response.status_code == 422 and response.json()["error"]["code"] == "not_cap_alert"


def test_the_door_is_typed_bounded_and_for_the_pc_only(client, post, h):
    assert client.post(f"{API}/cap/alerts", content=alert(), headers=CAP).status_code == 401
    assert post(alert(), role="referent").status_code == 403
    assert post(alert(), role="oncall").status_code == 403
    wrong = post(alert(), headers={"Content-Type": "application/json"})
    assert wrong.status_code == 415 and wrong.json()["error"]["code"] == "unsupported_media_type"
    assert post(alert(), headers={"Content-Type": "application/xml; charset=utf-8"}).status_code == 201
    huge = post(alert(headline="x" * (MAX_BODY + 1), identifier="big"))
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "body_too_large"


def test_tenant_scoping(post, world):
    # Another métropole's operator names a commune it does not serve: nothing is revealed or opened.
    foreign = post(alert(), role="foreign_operator")
    assert foreign.status_code == 404
    # … and a repeat of an alert taken for another tenant is not found through its own commune either.
    assert post(alert()).status_code == 201
    mine = post(alert(commune="AILLEURS"), role="foreign_operator")
    assert mine.status_code == 422 and mine.json()["error"]["code"] == "no_procedure_for_category"


def test_the_commune_is_said_or_is_the_callers_only_one(post, world, runtime):
    response = post(alert(commune=None))
    assert response.status_code == 422 and response.json()["error"]["code"] == "commune_required"
    with transaction(runtime.session_factory) as session:
        session.get(Procedure, world.foreign_procedure_id).cap_category = "Infra"
    only = post(alert(commune=None), role="foreign_operator")
    assert only.status_code == 201, only.text
    assert only.json()["event"]["organization_id"] == world.foreign_commune_id
    assert only.json()["event"]["procedure_id"] == world.foreign_procedure_id


def test_a_category_without_procedure_is_refused_clearly(post):
    response = post(alert(category="Fire"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "no_procedure_for_category" and error["details"]["categories"] == ["Fire"]


# --- export -------------------------------------------------------------------------------------------------

ALERT_ORDER = ["identifier", "sender", "sent", "status", "msgType", "source", "scope", "restriction", "addresses",
               "code", "note", "references", "incidents", "info"]
INFO_ORDER = ["language", "category", "event", "responseType", "urgency", "severity", "certainty", "audience",
              "eventCode", "effective", "onset", "expires", "senderName", "headline", "description", "instruction",
              "web", "contact", "parameter", "resource", "area"]


def _in_schema_order(element: ET.Element, order: list[str]) -> bool:
    positions = [order.index(child.tag.split("}")[1]) for child in element]
    return positions == sorted(positions)


def _open(client, h, world, **extra) -> dict:
    response = client.post(f"{API}/events", headers=h("operator"), json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 4,
        "title": "Inondation du passage souterrain", "place": "Avenue Roland Carraz", "description": "Un mètre d'eau",
        "latitude": 47.29, "longitude": 5.01, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_an_event_is_a_valid_cap_alert_that_reads_back_into_the_same_event(client, h, world, post):
    event = _open(client, h, world, exercise=True)
    response = client.get(f"{API}/events/{event['id']}/cap", headers=h("operator"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/cap+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{{{NS}}}alert"
    assert _in_schema_order(root, ALERT_ORDER) and _in_schema_order(root.find(f"{{{NS}}}info"), INFO_ORDER)
    message = parse.read(response.content)
    assert message.identifier == f"vigie-{event['id']}" and message.sender == "127.0.0.1"
    assert (message.status, message.msg_type) == ("Exercise", "Alert")
    info = message.info
    assert info.language == "fr-FR" and info.categories == ("Infra",) and info.severity == "Extreme"
    assert info.event == "Chute d'arbre sur la voirie" and info.headline == "EXERCICE — Inondation du passage souterrain"
    assert info.area_desc == "Avenue Roland Carraz" and (info.latitude, info.longitude) == (47.29, 5.01)
    assert info.parameters["commune"] == "CHENOVE"
    # Stable: the same event gives the same alert.
    assert client.get(f"{API}/events/{event['id']}/cap", headers=h("operator")).content == response.content

    back = post(response.content)
    assert back.status_code == 201, back.text
    copy = back.json()["event"]
    for field in ("organization_id", "procedure_id", "severity", "category", "title", "description", "place",
                  "latitude", "longitude", "cap_severity", "cap_urgency", "cap_certainty", "exercise"):
        assert copy[field] == event[field], field


def test_an_acknowledged_or_closed_event_is_an_update_or_a_cancel_of_its_first_alert(client, h, world):
    event = _open(client, h, world)
    client.post(f"{API}/events/{event['id']}/close", headers=h("operator"), json={"reason": "Pompage terminé"})
    message = parse.read(client.get(f"{API}/events/{event['id']}/cap", headers=h("operator")).content)
    assert message.msg_type == "Cancel" and message.status == "Actual"
    assert message.references == (("127.0.0.1", f"vigie-{event['id']}"),)
    assert message.identifier.startswith(f"vigie-{event['id']}-") and message.note == "Pompage terminé"


def test_the_export_is_tenant_scoped(client, h, world):
    event = _open(client, h, world)
    assert client.get(f"{API}/events/{event['id']}/cap", headers=h("foreign_operator")).status_code == 404
    assert client.get(f"{API}/events/{event['id']}/cap", headers=h("referent")).status_code == 200
    assert client.get(f"{API}/events/{event['id']}/cap").status_code == 401
    assert client.get(f"{API}/events/{10**6}/cap", headers=h("operator")).status_code == 404
