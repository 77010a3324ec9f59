"""A commune's directory imported from a CSV file: preview, per-row errors, all or nothing, history."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.auth import service as auth_service
from backend.db import transaction
from backend.directory import csv_file
from backend.groups.models import GroupMember
from backend.people.models import ContactMethod, Person
from tests.factories import PASSWORD, login

API = "/api/v1"


def csv_bytes(lines: list[str], *, encoding: str = "utf-8", delimiter: str = ";") -> bytes:
    return "\r\n".join(line.replace(";", delimiter) for line in lines).encode(encoding)


HEADER = "Nom;Prénom;Matricule;Fonction;Mobile;E-mail;Groupes"
GOOD = [
    HEADER,
    "Martin;Émilie;M-100;Technicienne voirie;06 39 98 02 01;emilie.martin@example.org;Astreinte technique",
    "Deux;Tech;M-2;Chef d'équipe;;tech.deux@example.org;",  # matched by e-mail: gets a matricule and a function
    "Un;Tech;;;+33 6 39 98 01 01;;",  # matched by mobile: nothing new
]


def preview(client, headers, organization_id, data, name="annuaire.csv"):
    return client.post(f"{API}/organizations/{organization_id}/directory-imports/preview", headers=headers,
                       files={"file": (name, data, "text/csv")})


def apply(client, headers, organization_id, data, name="annuaire.csv"):
    return client.post(f"{API}/organizations/{organization_id}/directory-imports", headers=headers,
                       files={"file": (name, data, "text/csv")})


def people_count(runtime, organization_id) -> int:
    with transaction(runtime.session_factory) as s:
        return s.scalar(select(func.count(Person.id)).where(Person.organization_id == organization_id))


def test_the_preview_says_who_is_made_and_who_changes_and_writes_nothing(client, world, runtime, h):
    before = people_count(runtime, world.commune_id)
    reply = preview(client, h("referent"), world.commune_id, csv_bytes(GOOD))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["created"], body["updated"], body["unchanged"], body["errors"]) == (1, 1, 1, [])
    made, changed, same = body["items"]
    assert made["action"] == "create" and made["row"] == 2 and made["mobile"] == "+33639980201"
    assert made["groups"] == ["Astreinte technique"] and made["display_name"] == "Émilie Martin"
    assert changed["person_id"] == world.techs[1] and set(changed["changes"]) == {"employee_number", "job_title"}
    assert same["person_id"] == world.techs[0] and same["action"] == "unchanged"
    assert people_count(runtime, world.commune_id) == before


def test_the_import_applies_the_preview_and_leaves_a_history(client, world, runtime, h):
    before = people_count(runtime, world.commune_id)
    reply = apply(client, h("referent"), world.commune_id, csv_bytes(GOOD))
    assert reply.status_code == 201, reply.text
    record = reply.json()
    assert (record["created"], record["updated"], record["unchanged"]) == (1, 1, 1)
    assert record["filename"] == "annuaire.csv" and record["user"].startswith("Referent")
    assert people_count(runtime, world.commune_id) == before + 1
    with transaction(runtime.session_factory) as s:
        emilie = s.scalar(select(Person).where(Person.employee_number == "M-100"))
        assert (emilie.first_name, emilie.job_title) == ("Émilie", "Technicienne voirie")
        assert {(c.kind, c.address) for c in emilie.contact_methods} == {
            ("sms", "+33639980201"), ("email", "emilie.martin@example.org")}
        roster = list(s.scalars(select(GroupMember.person_id).where(GroupMember.group_id == world.tech_group_id)
                                .order_by(GroupMember.position)))
        assert roster == [*world.techs, emilie.id]  # joined at the end of the roster
        deux = s.get(Person, world.techs[1])
        assert (deux.employee_number, deux.job_title) == ("M-2", "Chef d'équipe")
    # The import lists what it did; each person's history points at it.
    assert {(p["display_name"], p["action"]) for p in record["people"]} == {
        ("Émilie Martin", "create"), ("Tech Deux", "change")}
    history = client.get(f"{API}/people/{emilie.id}/history", headers=h("referent")).json()
    assert [(e["action"], e["import_id"]) for e in history] == [("create", record["id"])]
    listed = client.get(f"{API}/organizations/{world.commune_id}/directory-imports", headers=h("admin")).json()
    assert [i["id"] for i in listed] == [record["id"]]
    again = client.get(f"{API}/directory-imports/{record['id']}", headers=h("admin")).json()
    assert again["people"] == record["people"]
    # The same file a second time changes nobody.
    second = apply(client, h("referent"), world.commune_id, csv_bytes(GOOD)).json()
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 3)


def test_each_bad_row_is_named_with_its_column_and_nothing_is_imported(client, world, runtime, h):
    lines = [
        HEADER,
        "Bon;Agent;M-200;;06 39 98 02 02;;",
        ";Sans nom;M-201;;;;",
        "Faux;Numéro;M-202;;12345;;",
        "Fixe;Numéro;M-203;;03 80 00 00 00;;",
        "Mauvaise;Adresse;M-204;;;pas-une-adresse;",
        "Groupe;Inconnu;M-205;;;;Astreinte plongée",
        "Double;Matricule;M-200;;;;",
    ]
    data = csv_bytes(lines)
    body = preview(client, h("referent"), world.commune_id, data).json()
    errors = {(e["row"], e["column"]): e["message"] for e in body["errors"]}
    assert set(errors) == {(3, "Nom"), (4, "Mobile"), (5, "Mobile"), (6, "E-mail"), (7, "Groupes"), (8, "Matricule")}
    assert errors[(3, "Nom")] == "obligatoire"
    assert "n'est pas un numéro de téléphone valide" in errors[(4, "Mobile")]
    assert "ne peut pas recevoir de SMS" in errors[(5, "Mobile")]
    assert "Astreinte technique" in errors[(7, "Groupes")]  # the groups that exist are named
    assert errors[(8, "Matricule")] == "matricule déjà donné ligne 2"
    before = people_count(runtime, world.commune_id)
    refused = apply(client, h("referent"), world.commune_id, data)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "import_has_errors"
    assert len(refused.json()["error"]["details"]["errors"]) == 6
    assert people_count(runtime, world.commune_id) == before  # not even the good row


def test_excel_french_cp1252_with_semicolons_and_utf8_with_commas_are_both_read(client, world, h):
    lines = [HEADER, "Lefèvre;Hélène;M-300;Élue de quartier;;helene.lefevre@example.org;"]
    excel = preview(client, h("admin"), world.commune_id, csv_bytes(lines, encoding="cp1252")).json()
    assert (excel["encoding"], excel["delimiter"]) == ("cp1252", ";")
    assert excel["items"][0]["display_name"] == "Hélène Lefèvre"
    assert excel["items"][0]["job_title"] == "Élue de quartier"
    comma = preview(client, h("admin"), world.commune_id,
                    b"\xef\xbb\xbf" + csv_bytes(lines, delimiter=",")).json()
    assert (comma["encoding"], comma["delimiter"]) == ("utf-8", ",")
    assert comma["items"][0]["display_name"] == "Hélène Lefèvre"


def test_a_file_missing_the_name_columns_or_too_big_is_refused_as_a_whole(client, world, h, monkeypatch):
    missing = preview(client, h("admin"), world.commune_id, b"Matricule;Mobile\nM-1;0639980101\n")
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "import_missing_columns"
    assert "nom" in missing.json()["error"]["message"]
    big = preview(client, h("admin"), world.commune_id, b"Nom;Pr\xc3\xa9nom\n" + b"a;b\n" * (csv_file.MAX_BYTES // 4))
    assert big.status_code == 422 and big.json()["error"]["code"] == "import_too_large"
    huge = preview(client, h("admin"), world.commune_id, b"Nom;Pr\xc3\xa9nom\n" + b"a;b\n" * csv_file.MAX_BYTES)
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "import_too_large"  # refused unread
    assert "Ko" in huge.json()["error"]["message"]
    monkeypatch.setattr(csv_file, "MAX_ROWS", 3)
    many = preview(client, h("admin"), world.commune_id, csv_bytes(["Nom;Prénom"] + [f"N{i};P{i}" for i in range(4)]))
    assert many.status_code == 422 and many.json()["error"]["code"] == "import_too_many_rows"
    empty = preview(client, h("admin"), world.commune_id, b"")
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "import_empty"
    binary = preview(client, h("admin"), world.commune_id, b"\x00\x01\xff\xfe" * 10)
    assert binary.status_code == 422


def test_a_referent_imports_into_their_commune_only(client, world, runtime, h):
    data = csv_bytes([HEADER, "Intrus;Agent;X-1;;;;"])
    for organization_id in (world.other_commune_id, world.foreign_commune_id):
        for send in (preview, apply):
            reply = send(client, h("referent"), organization_id, data)
            assert reply.status_code == 404, reply.text
    assert apply(client, h("operator"), world.commune_id, data).status_code == 403  # the PC reads, the commune writes
    assert apply(client, h("foreign_operator"), world.commune_id, data).status_code == 404
    record = apply(client, h("referent"), world.commune_id, data).json()
    with transaction(runtime.session_factory) as s:
        auth_service.create_user(db_session=s, email="referent.longvic@example.org", full_name="Référent Longvic",
                                 role="referent", organization_id=world.other_commune_id, password=PASSWORD)
    longvic = login(client, "referent.longvic@example.org")
    assert client.get(f"{API}/directory-imports/{record['id']}", headers=longvic).status_code == 404
    assert apply(client, longvic, world.commune_id, data).status_code == 404
    assert client.get(f"{API}/organizations/{world.other_commune_id}/directory-imports",
                      headers=h("referent")).status_code == 404
    with transaction(runtime.session_factory) as s:
        assert s.scalar(select(Person.organization_id).where(Person.employee_number == "X-1")) == world.commune_id


def test_a_row_matching_two_people_by_a_shared_address_asks_for_the_matricule(client, world, runtime, h):
    with transaction(runtime.session_factory) as s:
        for person_id in world.techs[:2]:
            s.add(ContactMethod(person_id=person_id, kind="email", address="astreinte@example.org"))
    body = preview(client, h("referent"), world.commune_id,
                   csv_bytes([HEADER, "Tech;Quelqu'un;;;;astreinte@example.org;"])).json()
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(2, "E-mail")]
    assert "ajoutez leur matricule" in body["errors"][0]["message"]


def test_a_failure_half_way_through_the_import_leaves_the_directory_as_it_was(client, world, runtime, h, monkeypatch):
    from backend.directory import service

    before = people_count(runtime, world.commune_id)
    calls = []

    def failing_record(**kwargs):
        calls.append(kwargs["person"])
        if len(calls) == 2:
            raise RuntimeError("the disk is full")

    monkeypatch.setattr(service.privacy, "record", failing_record)
    rows = [HEADER, "Premier;Agent;P-1;;;;", "Second;Agent;P-2;;;;"]
    try:
        reply = apply(client, h("referent"), world.commune_id, csv_bytes(rows))
        assert reply.status_code == 500
    except RuntimeError:
        pass  # the test client re-raises what the app did not catch
    assert len(calls) == 2
    assert people_count(runtime, world.commune_id) == before  # the first row went too
    monkeypatch.undo()
    assert client.get(f"{API}/organizations/{world.commune_id}/directory-imports", headers=h("referent")).json() == []
