"""A storm night on a real server: everyone answers at once, and strangers knock with bad tokens.

Before the one-hop request path, 60 acknowledgements at once on SQLite gave 40 × 500 after 30 s
(`QueuePool limit … timeout 30.00`, then `database is locked`): requests held the write lock
across thread hops while the threads were all taken by requests waiting for it.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from sqlalchemy import func, select

from backend.app import create_app
from backend.db import transaction
from backend.events import service as event_service
from backend.events.schemas import EventCreate
from backend.pages.models import Page
from backend.responses.models import Response
from backend.trace.service import Actor
from tests.factories import build_world, login
from tests.smoke.harness import LiveServer

EVENTS = 200


def test_200_answers_at_once_and_200_bad_tokens_all_land_without_a_5xx(settings, recording_channels):
    # Correctness, not speed (bench/storm.py measures that): a slow test machine must not turn the
    # back-pressure's 503 into a failure here.
    settings.request_queue_timeout_s = 120
    app = create_app(settings, channels=recording_channels, run_worker=True)
    with LiveServer(app) as live:
        factory = app.state.runtime.session_factory
        world = build_world(factory, ack_timeout_s=600)
        event_ids = []
        with transaction(factory) as session:
            for n in range(EVENTS):
                event = event_service.create(db_session=session, org_ids=frozenset({world.commune_id}), actor=Actor("system", None, "test"), user_id=None,
                            draft=EventCreate(organization_id=world.commune_id, procedure_id=world.procedure_id, severity=3, title=f"Arbre {n}"))
                event_ids.append(event.id)
        with live.client() as base:
            phone = login(base, world.users["oncall"])  # the first technician, asked first everywhere
            operator = login(base, world.users["operator"])

        async def storm():
            limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
            async with httpx.AsyncClient(base_url=live.url, timeout=60, limits=limits) as client:
                answers = []
                for n, event_id in enumerate(event_ids):
                    if n % 2:
                        answers.append(client.post(f"/api/v1/events/{event_id}/responses", headers=phone,
                                                   json={"kind": "ack", "via": "app"}))
                    else:  # reached by phone: the PC takes the answer on their behalf
                        answers.append(client.post(f"/api/v1/events/{event_id}/responses", headers=operator,
                                                   json={"kind": "ack", "person_id": world.techs[0],
                                                         "reason": "joint par téléphone"}))
                knocks = [client.get("/api/v1/events", headers={"Authorization": f"Bearer not-a-token-{n}"})
                          for n in range(EVENTS)]
                return await asyncio.gather(*answers, *knocks, return_exceptions=True)

        results = asyncio.run(storm())
        failures = [r for r in results if isinstance(r, Exception)]
        assert not failures, f"{len(failures)} requests failed: {failures[:3]}"
        answers, knocks = results[:EVENTS], results[EVENTS:]
        assert Counter(r.status_code for r in answers) == {201: EVENTS}, [r.text for r in answers
                                                                          if r.status_code != 201][:3]
        assert Counter(r.status_code for r in knocks) == {401: EVENTS}
        assert all(r.json()["error"]["code"] == "invalid_token" for r in knocks)

        with transaction(factory) as session:
            assert session.scalar(select(func.count(Response.id)).where(Response.kind == "ack")) == EVENTS
            assert session.scalar(select(func.count(Page.id)).where(Page.status == "acknowledged")) == EVENTS
