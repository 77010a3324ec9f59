"""A person who leaves is pseudonymised and every main courante still verifies: names, numbers and
addresses go, what happened stays; a pseudonymised value cannot be rewritten unnoticed."""

from __future__ import annotations

import json

from sqlalchemy import select, update

from backend.outbox.models import Notification
from backend.trace import sealing
from backend.trace.models import TraceEntry

API = "/api/v1"


def event_answered_by_tech_one(client, world, h) -> int:
    event = client.post(f"{API}/events", headers=h("operator"), json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
        "title": "Arbre", "place": "rue Jean Moulin"}).json()["id"]
    client.post(f"{API}/events/{event}/responses", headers=h("oncall"), json={"kind": "ack"})
    client.post(f"{API}/events/{event}/responses", headers=h("oncall"),
                json={"kind": "note", "text": "Tech Un sur place, rappeler au 06 39 98 01 01"})
    return event


def trace_text(client, h, event: int) -> str:
    return json.dumps(client.get(f"{API}/events/{event}/trace", headers=h("operator")).json(), ensure_ascii=False)


def verify(client, h, event: int) -> dict:
    return client.get(f"{API}/events/{event}/trace/verify", headers=h("operator")).json()


def test_a_person_who_left_is_pseudonymised_and_every_chain_still_verifies(client, world, runtime, h):
    event = event_answered_by_tech_one(client, world, h)
    assert "Tech Un" in trace_text(client, h, event) and verify(client, h, event)["intact"]
    referent = h("referent")
    refused = client.post(f"{API}/people/{world.techs[0]}/pseudonymise", headers=referent)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "person_active"

    assert client.delete(f"{API}/people/{world.techs[0]}", headers=referent).status_code == 204
    done = client.post(f"{API}/people/{world.techs[0]}/pseudonymise", headers=referent)
    assert done.status_code == 200, done.text
    assert done.json()["entries"] > 0 and done.json()["unsealed"] == 0

    text = trace_text(client, h, event)
    assert "Tech Un" not in text and "+33639980101" not in text and "06 39 98 01 01" not in text
    assert f"⟦personne {world.techs[0]}⟧" in text
    assert verify(client, h, event) == {"intact": True, "entries": verify(client, h, event)["entries"],
                                        "first_broken_seq": None, "reason": ""}
    person = client.get(f"{API}/people/{world.techs[0]}", headers=referent).json()
    assert person["display_name"] == f"Personne n°{world.techs[0]}" and person["contact_methods"] == []
    with runtime.session_factory() as s:
        assert not s.scalars(select(Notification.address).where(Notification.person_id == world.techs[0],
                                                                 Notification.address != "")).all()
    kinds = [e["kind"] for e in client.get(f"{API}/events/{event}/trace", headers=h("operator")).json()]
    assert "response.ack" in kinds and "response.note" in kinds, "what happened stays"


def test_a_pseudonymised_value_rewritten_is_caught(client, world, runtime, h):
    event = event_answered_by_tech_one(client, world, h)
    client.delete(f"{API}/people/{world.techs[0]}", headers=h("referent"))
    client.post(f"{API}/people/{world.techs[0]}/pseudonymise", headers=h("referent"))
    with runtime.session_factory() as s:
        entry = next(e for e in s.scalars(select(TraceEntry).where(TraceEntry.event_id == event)
                                          .order_by(TraceEntry.seq)) if e.sealed)
        path, other = next(iter(entry.sealed)), "Quelqu'un d'autre"  # kept commitment, forged value
        values = {"actor_label": other} if path == "actor" else {"data": sealing.replace(entry.data, path, other)}
        s.execute(update(TraceEntry).where(TraceEntry.id == entry.id).values(**values))
        s.commit()
        seq = entry.seq
    check = verify(client, h, event)
    assert check["intact"] is False and check["first_broken_seq"] == seq
    assert check["reason"] == "a pseudonymised value was rewritten"


def test_an_altered_word_still_breaks_the_chain(client, world, runtime, h):
    event = event_answered_by_tech_one(client, world, h)
    with runtime.session_factory() as s:
        note = s.scalar(select(TraceEntry).where(TraceEntry.event_id == event, TraceEntry.kind == "response.note"))
        s.execute(update(TraceEntry).where(TraceEntry.id == note.id).values(data={**note.data, "text": "rien"}))
        s.commit()
    check = verify(client, h, event)
    assert check["intact"] is False and check["reason"] == "entry altered"


def test_only_the_communes_referent_and_admins_pseudonymise(client, world, h):
    client.delete(f"{API}/people/{world.techs[0]}", headers=h("referent"))
    assert client.post(f"{API}/people/{world.techs[0]}/pseudonymise", headers=h("operator")).status_code == 403
    assert client.post(f"{API}/people/{world.techs[0]}/pseudonymise",
                       headers=h("foreign_operator")).status_code in (403, 404)


def test_the_migration_reseals_the_chains_that_verify_and_leaves_a_broken_one_as_it_was(tmp_path, settings):
    """Chains written before entries had a salt (version 1) are re-sealed by migration 0019, so
    their people can be pseudonymised; one that no longer verifies keeps its evidence as it was."""
    from alembic import command

    import backend.models  # noqa: F401
    from backend.db import make_engine, make_session_factory, transaction
    from backend.events.models import Event
    from backend.migrate import alembic_config, upgrade
    from backend.runtime import session_info
    from backend.trace import service as trace_service
    from tests.factories import build_world, open_events

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    factory.configure(info=session_info(settings))
    world = build_world(factory)
    kept, tampered = open_events(factory, world, 2)
    with transaction(factory) as s:  # as version 1 wrote them: hashed over the words, no salt
        for event in s.scalars(select(Event)):
            prev = trace_service.GENESIS
            for e in trace_service.list_entries(db_session=s, event_id=event.id):
                e.salt, e.sealed, e.prev_hash = None, {}, prev
                e.hash = prev = trace_service.entry_hash(
                    prev_hash=prev, event_id=e.event_id, seq=e.seq, at=e.at,
                    actor=trace_service.Actor(e.actor_type, e.actor_id, e.actor_label), kind=e.kind, data=e.data,
                    corrects_id=e.corrects_id)
            event.trace_head = prev
        second = s.scalar(select(TraceEntry).where(TraceEntry.event_id == tampered, TraceEntry.seq == 2))
        second.data = {**second.data, "forged": "yes"}
    engine.dispose()

    command.downgrade(alembic_config(url), "0018")
    upgrade(url)

    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        with factory() as s:
            good, bad = s.get(Event, kept), s.get(Event, tampered)
            assert trace_service.verify(db_session=s, event=good).intact
            assert all(e.salt for e in trace_service.list_entries(db_session=s, event_id=kept))
            broken = trace_service.verify(db_session=s, event=bad)
            assert not broken.intact and broken.first_broken_seq == 2
            assert all(e.salt is None for e in trace_service.list_entries(db_session=s, event_id=tampered))
    finally:
        engine.dispose()


def test_the_archive_alone_lets_anyone_verify_a_pseudonymised_chain(client, world, h):
    """An independent check from the archive's JSON and its stated hash rule, nothing of Vigie's code."""
    import hashlib
    from datetime import UTC, datetime, timedelta

    event = event_answered_by_tech_one(client, world, h)
    client.delete(f"{API}/people/{world.techs[0]}", headers=h("referent"))
    client.post(f"{API}/people/{world.techs[0]}/pseudonymise", headers=h("referent"))
    now = datetime.now(UTC)
    archive = client.get(f"{API}/archive", headers=h("operator"), params={
        "start": (now - timedelta(days=1)).isoformat(), "end": (now + timedelta(days=1)).isoformat()}).json()
    chain = next(e for e in archive["events"] if e["id"] == event)

    def commit(salt, path, value, sealed):
        return sealed.get(path) or hashlib.sha256(f"{salt}|{path}|{value}".encode()).hexdigest()

    def words(node, salt, sealed, path="data"):
        if isinstance(node, str):
            return commit(salt, path, node, sealed)
        if isinstance(node, dict):
            return {k: words(v, salt, sealed, f"{path}.{k}") for k, v in node.items()}
        if isinstance(node, list):
            return [words(v, salt, sealed, f"{path}[{n}]") for n, v in enumerate(node)]
        return node

    prev = "0" * 64
    for e in chain["entries"]:
        payload = {"prev": prev, "event": event, "seq": e["seq"],
                   "at": datetime.fromisoformat(e["at"]).isoformat(timespec="microseconds"),
                   "actor": [e["actor_type"], e["actor_id"], commit(e["salt"], "actor", e["actor"], e["sealed"])],
                   "kind": e["kind"], "data": words(e["data"], e["salt"], e["sealed"]),
                   "corrects": e["corrects_id"], "v": 2}
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False,
                                           separators=(",", ":")).encode()).hexdigest()
        assert e["prev_hash"] == prev and e["hash"] == digest, e["seq"]
        prev = digest
    assert prev == chain["verification"]["head"] and any(e["sealed"] for e in chain["entries"])
