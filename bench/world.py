"""A minimal commune for benchmarks: one technical group of six, one procedure."""

from __future__ import annotations

from backend.db import transaction
from backend.groups.models import GroupMember, OnCallGroup
from backend.orgs.models import Organization
from backend.people.models import ContactMethod, Person
from backend.procedures.models import Procedure, ProcedureStep


def build(factory, *, ack_timeout_s: int = 3600) -> dict:
    with transaction(factory) as s:
        metropole = Organization(name="Métropole bench", code="BENCHM", kind="metropole")
        s.add(metropole)
        s.flush()
        commune = Organization(name="Commune bench", code="BENCH", served_by_id=metropole.id)
        s.add(commune)
        s.flush()
        people = []
        for n in range(6):
            person = Person(organization_id=commune.id, first_name="Agent", last_name=str(n))
            person.contact_methods = [ContactMethod(kind="sms", address=f"+3363998{n:04d}")]
            s.add(person)
            people.append(person)
        s.flush()
        group = OnCallGroup(organization_id=commune.id, name="Technique", kind="technique")
        group.members = [GroupMember(person_id=p.id, position=i) for i, p in enumerate(people)]
        s.add(group)
        s.flush()
        procedure = Procedure(organization_id=commune.id, category="Bench",
                              timings={str(sev): {"ack_timeout_s": ack_timeout_s, "repeats": 0} for sev in (2, 3, 4)})
        procedure.steps = [ProcedureStep(position=0, group_id=group.id, mode="solicit")]
        s.add(procedure)
        s.flush()
        return {"metropole_id": metropole.id, "commune_id": commune.id, "procedure_id": procedure.id, "person_ids": [p.id for p in people]}
