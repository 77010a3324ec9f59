"""The field's photos appear in the event report: embedded in the HTML, drawn in the PDF."""

from __future__ import annotations

import base64
import io
import re

from PIL import Image

from tests.factories import login

API = "/api/v1"


def jpeg(colour=(200, 40, 40), size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def test_a_photo_sent_from_the_field_is_in_the_report(client, world):
    op = login(client, world.users["operator"])
    event = client.post(f"{API}/events", headers=op, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
        "title": "Arbre tombé"}).json()
    tech = login(client, world.users["oncall"])
    photo = jpeg()
    sent = client.post(f"{API}/events/{event['id']}/photos", headers=tech,
                       files={"photo": ("arbre.jpg", photo, "image/jpeg")}, data={"caption": "le tronc sur la voie"})
    assert sent.status_code == 201, sent.text
    first = client.post(f"{API}/events/{event['id']}/reports", headers=op, json={"send": False}).json()
    assert client.post(f"{API}/events/{event['id']}/close", headers=op, json={"reason": "Dégagé"}).status_code == 200
    reports = client.get(f"{API}/events/{event['id']}/reports", headers=op).json()
    assert [r["version"] for r in reports] == [first["version"], first["version"] + 1]

    html = client.get(f"{API}/reports/{reports[-1]['id']}.html", headers=op).text
    assert "Photos du terrain" in html and "le tronc sur la voie" in html
    [embedded] = re.findall(r'<img src="data:image/jpeg;base64,([^"]+)"', html)
    assert base64.b64decode(embedded) == photo  # the very photo, not a link a reader cannot follow
    pdf = client.get(f"{API}/reports/{reports[-1]['id']}.pdf", headers=op).content
    assert pdf.count(b"/Subtype /Image") == 1


def test_a_report_without_photos_says_nothing_of_them(client, world):
    op = login(client, world.users["operator"])
    event = client.post(f"{API}/events", headers=op, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
        "title": "Arbre tombé"}).json()
    report = client.post(f"{API}/events/{event['id']}/reports", headers=op, json={"send": False}).json()
    html = client.get(f"{API}/reports/{report['id']}.html", headers=op).text
    assert "Photos du terrain" not in html and "<img" not in html
    assert b"/Subtype /Image" not in client.get(f"{API}/reports/{report['id']}.pdf", headers=op).content
