"""`vigie demo`: a fictional commune modelled on the first customer, with fictional people.

Phone numbers are in the ARCEP range reserved for fiction (+33 6 39 98 xx xx); e-mails at
example.org.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.auth import service as auth_service
from backend.auth.models import User
from backend.coverage import service as coverage_service
from backend.coverage.models import CoverageSettings
from backend.groups.models import DistributionList, DistributionMember, GroupMember, OnCallGroup
from backend.orgs.models import Organization
from backend.people.models import ContactMethod, Person
from backend.procedures import service as procedure_service
from backend.procedures.models import DEFAULT_TIMINGS, Procedure, ProcedureReportList, ProcedureStep
from backend.schedule.models import Rotation
from escalation import coverage

DEMO_PASSWORD = "vigie-demo-2026"
ADMIN_EMAIL = "admin@example.org"
OPERATOR_EMAIL = "operateur@example.org"
REFERENT_EMAIL = "referent@example.org"

GROUPS = {
    "elu": ("Astreinte élu", [("Claire", "Fontaine", "Maire adjointe"), ("Bernard", "Lemoine", "Adjoint travaux"),
                              ("Sophie", "Marchand", "Adjointe sécurité")]),
    "cadre": ("Astreinte cadre", [("Julien", "Perrin", "DGS"), ("Nathalie", "Roux", "DST"),
                                  ("Olivier", "Garnier", "Responsable bâtiments"),
                                  ("Isabelle", "Chevalier", "Responsable espaces verts")]),
    "technique": ("Astreinte technique", [("Karim", "Benali", "Agent voirie"), ("Lucas", "Moreau", "Électricien"),
                                          ("Thomas", "Girard", "Agent bâtiments"), ("Éric", "Fabre", "Agent voirie"),
                                          ("Mélanie", "Blanc", "Agent espaces verts"),
                                          ("Antoine", "Faure", "Plombier")]),
}
CONTRACTORS = [
    ("Élagage Bourguignon", "Paul", "Mercier", "Élagueur"),
    ("Dépannage Électrique 21", "Yves", "Collin", "Électricien"),
]
# category, CAP category, steps (group kind, mode, min severity)
PROCEDURES = [
    ("Voirie (nid de poule, obstacle, signalisation)", "Transport",
     [("technique", "solicit", 1), ("cadre", "solicit", 1)]),
    ("Chute d'arbre sur la voirie", "Infra",
     [("technique", "solicit", 1), ("cadre", "solicit", 1), ("elu", "inform", 3)]),
    ("Éclairage public", "Infra", [("technique", "solicit", 1), ("cadre", "solicit", 1)]),
    ("Bâtiment communal (intrusion, dégât, alarme)", "Security",
     [("technique", "solicit", 1), ("cadre", "solicit", 1), ("elu", "inform", 3)]),
    ("Inondation", "Met", [("technique", "solicit", 1), ("cadre", "solicit", 1), ("elu", "inform", 2)]),
    ("Intempéries (neige, verglas, tempête)", "Met",
     [("technique", "solicit", 1), ("cadre", "solicit", 1), ("elu", "inform", 3)]),
    ("Sinistre / relogement d'urgence", "Rescue",
     [("cadre", "solicit", 1), ("elu", "solicit", 1), ("technique", "inform", 1)]),
    ("Décès sur la voie publique", "Health", [("elu", "solicit", 1), ("cadre", "solicit", 1)]),
    ("Animaux (errants, morts, dangereux)", "Safety", [("technique", "solicit", 1), ("cadre", "solicit", 1)]),
    ("Pollution", "Env", [("technique", "solicit", 1), ("cadre", "solicit", 1), ("elu", "inform", 3)]),
]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


class _Numbers:
    def __init__(self):
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"+3363998{self.n:04d}"


def has_data(session: Session) -> bool:
    return (session.scalar(select(func.count(Organization.id)).where(Organization.kind == "commune")) or 0) > 0


def load(session: Session) -> dict:
    """Create the demo métropole, commune, staff and procedures; return how to log in."""
    metropole = session.scalar(select(Organization).where(Organization.kind == "metropole"))
    if metropole is None:
        metropole = Organization(name="Métropole Vigie (démo)", code="METRO", kind="metropole",
                                 pc_phone="+33639989999")
        session.add(metropole)
        session.flush()
    commune = Organization(name="Ville de Chenôve-sur-Démo", code="CHENOVE", served_by_id=metropole.id,
                           pc_phone=metropole.pc_phone)
    session.add(commune)
    session.flush()
    numbers = _Numbers()

    def person(first: str, last: str, title: str, elected: bool = False) -> Person:
        p = Person(organization_id=commune.id, first_name=first, last_name=last, job_title=title,
                   is_elected=elected)
        p.contact_methods = [
            ContactMethod(kind="sms", address=numbers.next(), label="Portable professionnel"),
            ContactMethod(kind="email", address=f"{_ascii(first)}.{_ascii(last)}@example.org", label="Travail"),
        ]
        session.add(p)
        return p

    groups: dict[str, OnCallGroup] = {}
    for kind, (name, members) in GROUPS.items():
        people = [person(first, last, title, elected=kind == "elu") for first, last, title in members]
        session.flush()
        group = OnCallGroup(organization_id=commune.id, name=name, kind=kind)
        group.members = [GroupMember(person_id=p.id, position=i) for i, p in enumerate(people)]
        session.add(group)
        groups[kind] = group
    for company, first, last, title in CONTRACTORS:
        contractor = person(first, last, f"{title} — {company}")
        session.flush()
        group = OnCallGroup(organization_id=commune.id, name=company, kind="prestataire")
        group.members = [GroupMember(person_id=contractor.id, position=0)]
        session.add(group)
    session.flush()

    direction = DistributionList(organization_id=commune.id, name="Direction générale")
    direction.members = [DistributionMember(person_id=m.person_id) for m in groups["cadre"].members[:2]]
    elus = DistributionList(organization_id=commune.id, name="Élus")
    elus.members = [DistributionMember(person_id=m.person_id) for m in groups["elu"].members]
    session.add_all([direction, elus])
    session.flush()

    for category, cap, steps in PROCEDURES:
        procedure = Procedure(organization_id=commune.id, category=category, cap_category=cap,
                              timings=dict(DEFAULT_TIMINGS))
        procedure.steps = [ProcedureStep(position=i, group_id=groups[kind].id, mode=mode, min_severity=sev)
                           for i, (kind, mode, sev) in enumerate(steps)]
        procedure.report_lists = [ProcedureReportList(list_id=direction.id)]
        session.add(procedure)
        procedure_service.record_first_version(db_session=session, procedure=procedure)

    _planning(session, commune, groups)

    logins = {}
    referent = groups["cadre"].members[0].person_id
    for email, name, role, org, person_id in (
            (ADMIN_EMAIL, "Admin Démo", "admin", metropole, None),
            (OPERATOR_EMAIL, "Opérateur PC", "operator", metropole, None),
            (REFERENT_EMAIL, "Julien Perrin (référent)", "referent", commune, referent)):
        if not _user_exists(session, email):
            auth_service.create_user(db_session=session, email=email, full_name=name, role=role,
                                     organization_id=org.id, password=DEMO_PASSWORD, person_id=person_id)
        logins[role] = email
    session.flush()
    return {"commune": commune.name, "logins": logins, "password": DEMO_PASSWORD}


def _planning(session: Session, commune: Organization, groups: dict[str, OnCallGroup]) -> None:
    """Weekly turns since four weeks ago: élus hand over on Friday 17:30, the others on Monday 08:30."""
    zone = ZoneInfo(commune.timezone)
    today = datetime.now(zone).date()
    monday = today - timedelta(days=today.weekday() + 28)
    since = datetime.combine(monday, time(0), zone).astimezone(UTC)
    for kind, group in groups.items():
        anchor = datetime.combine(monday + timedelta(days=4), time(17, 30)) if kind == "elu" else \
            datetime.combine(monday, time(8, 30))
        session.add(Rotation(organization_id=commune.id, group_id=group.id,
                             member_ids=[m.person_id for m in group.members], anchor_local=anchor, turn_days=7,
                             valid_from=since))
    session.add(CoverageSettings(organization_id=commune.id, weekly=coverage_service.windows_to_json(
        coverage.CHENOVE_WEEKLY), holidays="FR", out_of_coverage="solicit", watch_confirm_minutes=30))
    session.flush()


def _user_exists(session: Session, email: str) -> bool:
    return session.scalar(select(User.id).where(User.email == email)) is not None
