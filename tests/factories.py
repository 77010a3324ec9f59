"""A small, deterministic world for tests, written straight through the models."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.auth import service as auth_service
from backend.coverage.models import CoverageSettings
from backend.db import transaction
from backend.events.schemas import EventCreate
from backend.groups.models import DistributionList, DistributionMember, GroupMember, OnCallGroup
from backend.orgs.models import Organization
from backend.people.models import ContactMethod, Person
from backend.procedures.models import Procedure, ProcedureStep

PASSWORD = "correct horse battery"
ALL_WEEK = [{"weekday": day, "start": "00:00", "end": "24:00"} for day in range(7)]


@dataclass
class World:
    metropole_id: int = 0
    commune_id: int = 0
    other_commune_id: int = 0
    foreign_metropole_id: int = 0
    foreign_commune_id: int = 0
    techs: list[int] = field(default_factory=list)  # person ids, roster order
    cadres: list[int] = field(default_factory=list)
    elus: list[int] = field(default_factory=list)
    tech_group_id: int = 0
    cadre_group_id: int = 0
    elu_group_id: int = 0
    procedure_id: int = 0
    foreign_procedure_id: int = 0
    foreign_person_id: int = 0
    users: dict[str, str] = field(default_factory=dict)  # role name -> e-mail


def _person(session, org_id: int, first: str, last: str, n: int, **extra) -> Person:
    person = Person(organization_id=org_id, first_name=first, last_name=last, **extra)
    person.contact_methods = [
        ContactMethod(kind="sms", address=f"+336399801{n:02d}"),
        ContactMethod(kind="email", address=f"{first.lower()}.{last.lower()}@example.org"),
    ]
    session.add(person)
    session.flush()
    return person


def _group(session, org_id: int, name: str, kind: str, people: list[Person]) -> OnCallGroup:
    group = OnCallGroup(organization_id=org_id, name=name, kind=kind)
    group.members = [GroupMember(person_id=p.id, position=i) for i, p in enumerate(people)]
    session.add(group)
    session.flush()
    return group


def build_world(factory, *, ack_timeout_s: int = 300) -> World:
    world = World()
    with transaction(factory) as s:
        metropole = Organization(name="Métropole de Test", code="METRO", kind="metropole")
        foreign = Organization(name="Autre Métropole", code="AUTRE", kind="metropole")
        s.add_all([metropole, foreign])
        s.flush()
        commune = Organization(name="Ville de Chenôve", code="CHENOVE", served_by_id=metropole.id)
        other = Organization(name="Ville de Longvic", code="LONGVIC", served_by_id=metropole.id)
        foreign_commune = Organization(name="Ville d'Ailleurs", code="AILLEURS", served_by_id=foreign.id)
        s.add_all([commune, other, foreign_commune])
        s.flush()
        world.metropole_id, world.commune_id, world.other_commune_id = metropole.id, commune.id, other.id
        world.foreign_metropole_id, world.foreign_commune_id = foreign.id, foreign_commune.id

        # The PC covers these communes around the clock, so no test depends on the hour it runs at;
        # tests of coverage hours set their own.
        s.add_all([CoverageSettings(organization_id=org.id, weekly=ALL_WEEK, holidays="FR")
                   for org in (commune, other, foreign_commune)])
        techs = [_person(s, commune.id, "Tech", name, i) for i, name in enumerate(["Un", "Deux", "Trois"], 1)]
        cadres = [_person(s, commune.id, "Cadre", name, 10 + i) for i, name in enumerate(["Un", "Deux"], 1)]
        elus = [_person(s, commune.id, "Elu", "Un", 20, is_elected=True)]
        world.techs = [p.id for p in techs]
        world.cadres = [p.id for p in cadres]
        world.elus = [p.id for p in elus]
        tech_group = _group(s, commune.id, "Astreinte technique", "technique", techs)
        cadre_group = _group(s, commune.id, "Astreinte cadre", "cadre", cadres)
        elu_group = _group(s, commune.id, "Astreinte élu", "elu", elus)
        world.tech_group_id, world.cadre_group_id, world.elu_group_id = tech_group.id, cadre_group.id, elu_group.id

        timings = {str(sev): {"ack_timeout_s": ack_timeout_s, "repeats": 1} for sev in (2, 3, 4)}
        procedure = Procedure(organization_id=commune.id, category="Chute d'arbre sur la voirie",
                              cap_category="Infra", timings=timings)
        procedure.steps = [
            ProcedureStep(position=0, group_id=tech_group.id, mode="solicit"),
            ProcedureStep(position=1, group_id=cadre_group.id, mode="solicit"),
            ProcedureStep(position=2, group_id=elu_group.id, mode="inform", min_severity=3),
        ]
        s.add(procedure)
        dlist = DistributionList(organization_id=commune.id, name="Direction générale")
        dlist.members = [DistributionMember(person_id=cadres[0].id)]
        s.add(dlist)

        foreign_person = _person(s, foreign_commune.id, "Agent", "Ailleurs", 50)
        foreign_group = _group(s, foreign_commune.id, "Astreinte technique", "technique", [foreign_person])
        foreign_procedure = Procedure(organization_id=foreign_commune.id, category="Voirie", timings=timings)
        foreign_procedure.steps = [ProcedureStep(position=0, group_id=foreign_group.id, mode="solicit")]
        s.add(foreign_procedure)
        s.flush()
        world.procedure_id, world.foreign_procedure_id = procedure.id, foreign_procedure.id
        world.foreign_person_id = foreign_person.id

        for role, org_id, person_id in (
            ("admin", metropole.id, None), ("operator", metropole.id, None), ("referent", commune.id, None),
            ("oncall", commune.id, techs[0].id), ("oncall2", commune.id, techs[1].id),
            ("foreign_operator", foreign.id, None),
        ):
            email = f"{role}@example.org"
            auth_service.create_user(db_session=s, email=email, full_name=role.replace("_", " ").title(),
                                     role=role.rstrip("2").replace("foreign_", ""), organization_id=org_id,
                                     password=PASSWORD, person_id=person_id)
            world.users[role] = email
    return world


def login(client, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def open_events(factory, world: World, count: int, *, severity: int = 3, title: str = "Arbre") -> list[int]:
    """`count` events opened on the world's procedure, straight through the service, in one transaction."""
    from backend.events import service as event_service
    from backend.trace.service import Actor

    with transaction(factory) as session:
        return [event_service.create(db_session=session, org_ids=frozenset({world.commune_id}), actor=Actor("system", None, "test"), user_id=None,
                    draft=EventCreate(organization_id=world.commune_id, procedure_id=world.procedure_id, severity=severity, title=f"{title} {n}")).id
                for n in range(count)]
