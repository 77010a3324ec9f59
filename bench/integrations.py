"""The doors of issue 16 under load and faults: alarms posted by an integration, webhooks out, provider receipts.

Each scenario (`--scenario`, default all, in this order) resets the database, builds its world
directly in it (`bench/storm.py`'s commune, people, phones and operator), starts Vigie as real
processes (`bench/storm.py`'s layouts: SQLite — `vigie serve` with its worker; PostgreSQL — two
`vigie serve --no-worker` and two `vigie worker`) and prints one block of figures, "target
met/MISSED" beside each figure issue 16 gives a target for.

1. ingest — an integration key for the commune, made as `POST /integrations` makes it (its
   mapping: any category → a procedure soliciting three people), then 200 `POST
   /api/v1/ingest/alarms` sent at once (`--alarms`), in a random order: half the first raise of
   as many distinct alarms (each with an Idempotency-Key), a quarter repeats of those alarms
   (another Idempotency-Key: a new request) and a quarter retries (the same Idempotency-Key and
   body as a first raise). Status counts (0 × 5xx), latency from the sending, events opened
   (= the distinct alarms), `alarm.repeated` entries (= the repeats), each retry answered as its
   first (`Idempotent-Replayed`), and the first SMS of each opened event handed to the provider
   after its first request left the client.
2. webhooks — two subscriptions of the commune to every trace kind, each a receiver
   (`tests/peers/webhook_receiver.py`) in a process of its own: one hangs past
   VIGIE_WEBHOOK_TIMEOUT_S (`--webhook-timeout`, default 10 s; it holds each request that plus 5 s),
   one is healthy. Then events at `--rate` (default 20/s) for `--seconds` (default 60), three
   people in turn with an ack timeout of 5 s, and half the events acknowledged by the first
   person's phone about 1 s after their creation. For the healthy receiver: delivery lateness
   (the entry's `at` → received), deliveries lost or received twice (by `X-Vigie-Delivery`), the
   time its backlog took to drain; what the hanging one got; and the escalation steps' lateness
   meanwhile (`bench/storm.py`'s measure). `--hang-s 0`: both receivers healthy (the reference).
3. receipts — Twilio as the SMS provider (`tests/peers/twilio.py`, in a process of its own):
   `--sms` messages (default 2,000: events whose procedure informs a list of 50 people) are sent
   and handed off; then 50 background pages stepping every 2 s, and Twilio's status callbacks as
   it sends them (signed X-Twilio-Signature; `sent` then `delivered` for each message, 5 % of them
   `undelivered` instead) posted at `--callback-rate` (default 200/s) with a fifth of them posted
   again (replays). Answer latency, status counts (0 × 5xx), each receipt applied once (messages
   delivered/failed, their trace entries, against the callbacks), and the lateness of the
   background steps due meanwhile. The callbacks come from one address, as a provider's would
   through a proxy: Vigie's limit on the SMS callbacks (600/minute per address) applies unless
   `--inbound-limit` replaces it (e.g. `--inbound-limit 100000/minute`).

    .venv/bin/python bench/integrations.py --db sqlite
    .venv/bin/python bench/integrations.py --db sqlite --scenario webhooks --seconds 30
    .venv/bin/python bench/integrations.py --db sqlite --scenario receipts --inbound-limit 100000/minute
    .venv/bin/python bench/integrations.py --db postgresql://postgres@127.0.0.1:5432/vigie_bench --scenario ingest

Runs by hand; it resets the database it is given (a PostgreSQL database is created if missing;
never `test`, the test suite's). Logs: bench/results/storm-<db>-<scenario>-*.log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.config import Settings  # noqa: E402
from backend.db import make_session_factory, transaction  # noqa: E402
from backend.events.models import Event  # noqa: E402
from backend.groups.models import GroupMember, OnCallGroup  # noqa: E402
from backend.inbound.models import InboundReceipt  # noqa: E402
from backend.integrations import service as integration_service  # noqa: E402
from backend.integrations.schemas import IntegrationIn, Mapping, Rule  # noqa: E402
from backend.outbox.models import Notification  # noqa: E402
from backend.procedures.models import Procedure, ProcedureStep  # noqa: E402
from backend.runtime import session_info  # noqa: E402
from backend.trace.models import TraceEntry  # noqa: E402
from backend.webhooks import service as webhook_service  # noqa: E402
from backend.webhooks.destinations import Destinations  # noqa: E402
from backend.webhooks.models import WebhookDelivery  # noqa: E402
from bench.dispatch import GatewayProcess, machine_jitter, paced  # noqa: E402
from bench.storm import (  # noqa: E402
    Chain,
    Outcome,
    Stage,
    _run_async,
    api_nice,
    bearer,
    five_hundreds,
    paced_async,
    print_lateness,
    quiet,
    report_requests,
    spread,
    target,
    timed,
    timeout_steps,
    wall,
)

SCENARIOS = ("ingest", "webhooks", "receipts")
PUBLIC_URL = "https://vigie.bench.example"  # what Twilio signs over; the requests go to the servers themselves


def make_key(stage: Stage, procedure_id: int) -> str:
    """An integration of the commune, made as `POST /api/v1/integrations` makes it, and its mapping."""
    with transaction(make_session_factory(stage.engine)) as s:
        integration, key = integration_service.create(
            db_session=s, org_ids=frozenset({stage.world.commune_id}), user_id=None,
            draft=IntegrationIn(organization_id=stage.world.commune_id, name="GTC bench", scopes=["events:write"]))
        integration_service.set_mapping(db_session=s, integration=integration, mapping=Mapping(
            severities={"MAJOR": 3}, rules=[Rule(category="*", procedure_id=procedure_id)]))
    return key


# 1. ingest ------------------------------------------------------------------------------------------

def scenario_ingest(args) -> None:
    total = args.alarms
    distinct = total // 2
    with GatewayProcess() as gateway, Stage(args, "ingest", people=3, chains=[Chain([0, 1, 2], 3600)],
                                            providers=[gateway.url]) as stage:
        stage.start()
        key = make_key(stage, stage.world.procedures[0])
        print(f"== ingest — {stage.layout}: {total} alarms posted at once with an integration key: {distinct} "
              f"distinct, {total // 4} repeats (new Idempotency-Key), {total - distinct - total // 4} retries "
              f"(same Idempotency-Key) ==", flush=True)
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(timeout=30, headers=headers) as client:  # a fresh process compiles its statements
            for n in range(5):
                client.post(f"{stage.base(n)}/api/v1/ingest/alarms", json=alarm_body(f"chauffe-{n}")).raise_for_status()
        handed_off_all(stage.read, 30)
        with transaction(stage.read) as s:
            last_event = s.scalar(select(func.max(Event.id))) or 0
            last_entry = s.scalar(select(func.max(TraceEntry.id))) or 0
        requests = []  # (kind, alarm key, Idempotency-Key)
        for k in range(distinct):
            requests.append(("first raise", f"PR-{k}", f"raise-{k}"))
        for k in range(total // 4):
            requests.append(("repeat", f"PR-{k % distinct}", f"repeat-{k}"))
        for k in range(total - len(requests)):
            requests.append(("retry", f"PR-{k % distinct}", f"raise-{k % distinct}"))
        random.shuffle(requests)
        results = asyncio.run(alarm_storm(stage, headers, requests))
        outcomes = [outcome for outcome, *_ in results]
        for kind in ("first raise", "repeat", "retry"):
            report_requests(outcomes, kind, 201)
        errors = five_hundreds(outcomes)
        print(f"  all: {spread([o.ms for o in outcomes])}; 5xx: {errors} {target(errors == 0, '0 × 5xx')}")

        # Each Idempotency-Key: one answer given, the others replayed.
        by_idem: dict[str, list] = {}
        for _, (_, _, idem), answer, replayed in results:
            by_idem.setdefault(idem, []).append((answer, replayed))
        mismatched = sum(len({json.dumps(a, sort_keys=True) for a, _ in given}) > 1 for given in by_idem.values())
        not_once = sum(sum(not r for _, r in given) != 1 for given in by_idem.values())
        print(f"  Idempotency-Keys {len(by_idem)}: answers differing within a key {mismatched} "
              f"{target(mismatched == 0, 'the same answer')}; keys not answered exactly once without "
              f"Idempotent-Replayed {not_once} {target(not_once == 0, 'once')}")
        with transaction(stage.read) as s:
            opened = s.execute(select(Event.id, Event.received_at).where(Event.id > last_event)).all()
            repeated = s.scalar(select(func.count(TraceEntry.id)).where(TraceEntry.id > last_entry,
                                                                          TraceEntry.kind == "alarm.repeated"))
        answered_events = {answer["event_id"] for _, _, answer, _ in results if isinstance(answer, dict)
                           and answer.get("event_id")}
        print(f"  events opened {len(opened)} of {distinct} distinct alarms "
              f"{target(len(opened) == distinct, 'one per distinct alarm')}; events named in the answers "
              f"{len(answered_events)}")
        print(f"  `alarm.repeated` entries {repeated} for {total // 4} repeats "
              f"{target(repeated == total // 4, 'one per repeat, none per retry')}")
        handed_off_all(stage.read, 30)
        first_sent: dict[str, float] = {}
        for outcome, (_, alarm, _), _, _ in results:
            first_sent[alarm] = min(first_sent.get(alarm, outcome.sent), outcome.sent)
        event_alarm = {}
        for _, (_, alarm, _), answer, _ in results:
            if isinstance(answer, dict) and answer.get("event_id"):
                event_alarm[answer["event_id"]] = alarm
        with transaction(stage.read) as s:
            handed = dict(s.execute(select(Notification.event_id, func.min(Notification.handed_off_at))
                                    .where(Notification.event_id.in_([e for e, _ in opened]))
                                    .group_by(Notification.event_id)).all())
        first = [(wall(handed[e]) - first_sent[event_alarm[e]]) * 1000 for e, _ in opened
                 if handed.get(e) is not None and e in event_alarm]
        print(f"  first SMS handed off after the alarm's first POST left: {spread(first)}; opened events "
              f"without one {sum(handed.get(e) is None for e, _ in opened)}")


def handed_off_all(read, timeout_s: float) -> None:
    """Until no message is queued (the pages stay open: nobody answers them)."""
    deadline = time.monotonic() + timeout_s
    while quiet(read)[1] and time.monotonic() < deadline:
        time.sleep(0.5)


def alarm_body(alarm_key: str) -> dict:
    return {"source": "GTC bench", "alarm_key": alarm_key, "severity": "MAJOR", "category": "voirie",
            "title": f"Niveau haut {alarm_key}", "place": "Poste de relevage"}


async def alarm_storm(stage: Stage, headers: dict, requests: list[tuple[str, str, str]]):
    """All at once, each on its own connection: (outcome, request, answer body, replayed) per request."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        async def one(n: int, request: tuple[str, str, str]):
            kind, alarm, idem = request
            outcome, answer = await timed(client, kind, "POST", f"{stage.base(n)}/api/v1/ingest/alarms",
                                          headers={**headers, "Idempotency-Key": idem}, json=alarm_body(alarm))
            body = answer.json() if answer is not None and answer.status_code < 300 else None
            replayed = answer is not None and answer.headers.get("idempotent-replayed") == "true"
            return outcome, request, body, replayed

        return await asyncio.gather(*(one(n, r) for n, r in enumerate(requests)))


# 2. webhooks ----------------------------------------------------------------------------------------

def _serve_receiver(conn, hang_s: float) -> None:
    from tests.peers.webhook_receiver import Receiver

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with Receiver(hang_s=hang_s) as receiver:
        conn.send(receiver.url)
        while True:
            command, *arg = conn.recv()
            if command == "secret":
                receiver.secret = arg[0]
                conn.send(None)
            elif command == "received":
                with receiver._lock:
                    got = list(receiver.received)
                conn.send([(int(r["headers"].get("x-vigie-delivery", 0)), r["body"].get("entry", {}).get("at"),
                            r["at"], r["signed"]) for r in got])


class ReceiverProcess:
    """A webhook receiver in a process of its own (its HTTP server would otherwise share our GIL)."""

    def __init__(self, hang_s: float = 0.0):
        self.hang_s = hang_s

    def __enter__(self) -> ReceiverProcess:
        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(target=_serve_receiver,
                                                                     args=(child, self.hang_s), daemon=True)
        self._process.start()
        self.url = self._conn.recv()
        return self

    def _ask(self, *command):
        self._conn.send(command)
        return self._conn.recv()

    def set_secret(self, secret: str) -> None:
        self._ask("secret", secret)

    def received(self) -> list[tuple[int, str | None, float, bool]]:
        """(X-Vigie-Delivery, the entry's `at`, received at on the monotonic clock, signature held)."""
        return self._ask("received")

    def __exit__(self, *exc) -> None:
        self._process.terminate()
        self._process.join(5)


LOOPBACK = ["127.0.0.0/8"]  # the receivers listen here: named as an internal network receivers may be in

def subscribe(stage: Stage, receiver: ReceiverProcess, description: str) -> int:
    factory = make_session_factory(stage.engine)
    # The installation's own sealer: the servers read the secret key from the same var dir.
    factory.configure(info=session_info(Settings(DATABASE_URL=stage.url,
                                                 var_dir=Path(stage.fleet.env["VIGIE_VAR_DIR"]))))
    with transaction(factory) as s:
        subscription, secret = webhook_service.create(
            db_session=s, organization_id=stage.world.commune_id, url=receiver.url, kinds=[],
            description=description, active=True, by="bench", allow_http=False,
            destinations=Destinations(LOOPBACK))
        sid = subscription.id
    receiver.set_secret(secret)
    return sid


def scenario_webhooks(args) -> None:
    rate, seconds, deadline = args.rate or 20.0, args.seconds or 60.0, args.webhook_timeout
    hang = deadline + 5 if args.hang_s is None else args.hang_s
    with GatewayProcess() as gateway, ReceiverProcess(hang) as hanging, ReceiverProcess() as healthy, Stage(
            args, "webhooks", people=3, chains=[Chain([0, 1, 2], 5, repeats=1)], providers=[gateway.url],
            env={"VIGIE_WEBHOOK_TIMEOUT_S": str(deadline),
                 "VIGIE_WEBHOOK_INTERNAL_NETWORKS": json.dumps(LOOPBACK)}) as stage:
        if not args.no_subscriptions:
            hanging_id = subscribe(stage, hanging, "bench: hangs" if hang else "bench: second healthy")
            healthy_id = subscribe(stage, healthy, "bench: healthy")
        stage.start()
        subscribed = ("no subscription (the reference)" if args.no_subscriptions else
                      f"two subscriptions to every kind, one receiver "
                      f"{f'holding each request {hang:g} s' if hang else 'healthy too'} (deadline {deadline:g} s), "
                      f"one healthy")
        print(f"== webhooks — {stage.layout}: {subscribed}; "
              f"{rate:g} events/s for {seconds:g} s, half acknowledged ~1 s later, three people, ack timeout 5 s ==",
              flush=True)
        outcomes, began, ended = asyncio.run(event_storm(stage, rate, seconds))
        report_requests(outcomes, "POST /events", 201)
        report_requests(outcomes, "ack (phone)", 201)
        print(f"  5xx: {five_hundreds(outcomes)}")
        print_lateness("escalation steps due during the storm, lateness", [
            step for step in timeout_steps(stage.read) if began <= step.due <= ended], 250, stage.read)
        if args.no_subscriptions:
            return
        drain_began = time.monotonic()
        left = -1
        while time.monotonic() - drain_began < args.drain:
            with transaction(stage.read) as s:
                left = s.scalar(select(func.count(WebhookDelivery.id)).where(
                    WebhookDelivery.subscription_id == healthy_id, WebhookDelivery.status == "queued"))
            if not left:
                break
            time.sleep(0.5)
        drained = time.time()
        print(f"  healthy receiver's backlog {'drained' if not left else f'NOT drained ({left} queued)'} "
              f"{drained - ended:.1f} s after the storm's end")
        offset = time.time() - time.monotonic()
        with transaction(stage.read) as s:
            rows = s.execute(select(WebhookDelivery.subscription_id, WebhookDelivery.id, WebhookDelivery.status,
                                    WebhookDelivery.attempts).where(WebhookDelivery.trace_entry_id.is_not(None))).all()
            span = s.execute(select(func.count(WebhookDelivery.id), func.min(WebhookDelivery.delivered_at),
                                    func.max(WebhookDelivery.delivered_at))
                             .where(WebhookDelivery.subscription_id == healthy_id,
                                    WebhookDelivery.delivered_at.is_not(None))).one()
        if span[0] > 1:
            print(f"  healthy receiver's throughput: {span[0]} delivered in {(span[2] - span[1]).total_seconds():.1f} s, "
                  f"{span[0] / max((span[2] - span[1]).total_seconds(), 1e-9):.1f}/s, of "
                  f"{sum(1 for row in rows if row.subscription_id == healthy_id)} queued for it")
        for label, sid, receiver in (("healthy", healthy_id, healthy), ("hanging" if hang else "second", hanging_id,
                                                                        hanging)):
            mine = {row.id: row for row in rows if row.subscription_id == sid}
            got = receiver.received()
            times = Counter(delivery for delivery, *_ in got)
            lost = [d for d in mine if d not in times]
            twice = sum(n - 1 for n in times.values() if n > 1)
            unsigned = sum(not signed for *_, signed in got)
            # The first arrival of each delivery, for the lateness.
            firsts: dict[int, float] = {}
            for delivery, entry_at, at, _ in got:
                if entry_at and delivery not in firsts:
                    firsts[delivery] = (at + offset - datetime.fromisoformat(entry_at).timestamp()) * 1000
            late = list(firsts.values())
            statuses = Counter(row.status for row in mine.values())
            print(f"  {label} receiver: {len(mine)} deliveries queued ({dict(statuses)}), {len(got)} requests "
                  f"received, {len(times)} distinct ids; never received {len(lost)}, received again {twice}, "
                  f"bad signature {unsigned}")
            if label == "healthy":
                print(f"    {target(not lost and not twice, '0 lost, 0 twice')}; lateness (entry `at` → received): "
                      f"{spread(late)}")
                in_storm = [firsts[d] for d, entry_at, *_ in got if d in firsts and entry_at
                            and began <= datetime.fromisoformat(entry_at).timestamp() <= ended]
                print(f"    entries written during the storm: {spread(in_storm)}")


async def event_storm(stage: Stage, rate: float, seconds: float) -> tuple[list[Outcome], float, float]:
    outcomes: list[Outcome] = []
    operator = bearer(stage.token)
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        async def post(n: int) -> None:
            outcome, answer = await timed(client, "POST /events", "POST", f"{stage.base(n)}/api/v1/events",
                                          headers=operator, json=stage.event_body(0, f"Crue {n}"))
            outcomes.append(outcome)
            if n % 2 or answer is None or answer.status_code != 201 or not answer.json()["pages"]:
                return
            detail = answer.json()
            await asyncio.sleep(1.0)
            phone = bearer(stage.world.phones[detail["pages"][0]["current_person_id"]])
            acked, _ = await timed(client, "ack (phone)", "POST", f"{stage.base(n)}/api/v1/events/{detail['id']}"
                                   "/responses", headers=phone, json={"kind": "ack", "via": "app"})
            outcomes.append(acked)

        began = time.time()
        await paced_async(rate, seconds, post)
        ended = time.time()
    return outcomes, began, ended


# 3. receipts ----------------------------------------------------------------------------------------

def _serve_twilio(conn) -> None:
    from tests.peers.twilio import FakeTwilio

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with FakeTwilio() as twilio:
        conn.send(twilio.provider_url())
        while True:
            command, *arg = conn.recv()
            if command == "count":
                conn.send(len(twilio.messages))
            elif command == "callbacks":  # as Twilio sends them: (url, body, headers, sid, status)
                sids, failing = arg
                out = []
                for message in list(twilio.messages):
                    if message.sid not in sids:
                        continue
                    for status in ("sent", "undelivered" if message.sid in failing else "delivered"):
                        url, body, headers = twilio.status_callback(message, status,
                                                                    "30003" if status == "undelivered" else None)
                        out.append((url, body, headers, message.sid, status))
                conn.send(out)


class TwilioProcess:
    def __enter__(self) -> TwilioProcess:
        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(target=_serve_twilio, args=(child,), daemon=True)
        self._process.start()
        self.url = self._conn.recv()
        return self

    def _ask(self, *command):
        self._conn.send(command)
        return self._conn.recv()

    def count(self) -> int:
        return self._ask("count")

    def callbacks(self, sids: set[str], failing: set[str]) -> list:
        return self._ask("callbacks", sids, failing)

    def __exit__(self, *exc) -> None:
        self._process.terminate()
        self._process.join(5)


def add_list(stage: Stage, procedure_id: int, people: list[int]) -> None:
    """The procedure also informs this whole list (one SMS each per event)."""
    with transaction(make_session_factory(stage.engine)) as s:
        group = OnCallGroup(organization_id=stage.world.commune_id, name="Liste de diffusion", kind="technique")
        group.members = [GroupMember(person_id=person, position=p) for p, person in enumerate(people)]
        s.add(group)
        s.flush()
        procedure = s.get(Procedure, procedure_id)
        procedure.steps.append(ProcedureStep(position=1, group_id=group.id, mode="inform", inform_all=True))


def scenario_receipts(args) -> None:
    listed, background, step_s = 50, 50, 2
    events = max(1, args.sms // (listed + 1))
    env = {"VIGIE_PUBLIC_URL": PUBLIC_URL}
    if args.inbound_limit:
        env["VIGIE_RATE_LIMITS"] = json.dumps({"inbound-provider": args.inbound_limit})
    with TwilioProcess() as twilio, Stage(args, "receipts", people=7 + listed, providers=[twilio.url], env=env,
                                          chains=[Chain([6], 3600), Chain(list(range(6)), step_s, repeats=9)]) as stage:
        add_list(stage, stage.world.procedures[0], stage.world.people[7:7 + listed])
        stage.start()
        print(f"== receipts — {stage.layout}: Twilio as the SMS provider; {events} events × {listed + 1} SMS, then "
              f"{background} background pages stepping every {step_s} s and the status callbacks at "
              f"{args.callback_rate:g}/s (`sent`, then `delivered` or, for 5 %, `undelivered`; a fifth posted "
              f"again); inbound limit {args.inbound_limit or 'Vigie’s default (600/minute per address)'} ==",
              flush=True)
        with httpx.Client(timeout=30, headers=bearer(stage.token)) as client:
            for n in paced(events, 5):
                stage.post_event(client, n, 0, f"Diffusion {n}")
        handed_off_all(stage.read, 180)
        with transaction(stage.read) as s:
            sent = dict(s.execute(select(Notification.provider_message_id, Notification.id).where(
                Notification.provider_message_id.is_not(None), Notification.status == "sent")).all())
        print(f"  SMS sent through Twilio: {len(sent)} (Twilio holds {twilio.count()})", flush=True)
        failing = set(random.sample(sorted(sent), len(sent) // 20))
        callbacks = twilio.callbacks(set(sent), failing)
        replays = random.sample(callbacks, len(callbacks) // 5)
        # Messages interleaved, replays among them; every `sent` before the outcomes, as Twilio sends them.
        ordered = [(c, False) for c in callbacks] + [(c, True) for c in replays]
        random.shuffle(ordered)
        ordered.sort(key=lambda entry: entry[0][4] != "sent")
        with httpx.Client(timeout=30, headers=bearer(stage.token)) as client:
            for i in paced(background, background / step_s):
                stage.post_event(client, i, 1, f"Fond {i}")
        time.sleep(step_s + 1)
        plan = [(stage.base(n) + urlpath(url), body, headers, "replay" if again else status)
                for n, ((url, body, headers, _, status), again) in enumerate(ordered)]
        # The callbacks are posted by `--clients` processes at the servers' priority, each its share of the rate.
        nice = api_nice() if stage.postgres else 0
        with multiprocessing.get_context("spawn").Pool(args.clients, initializer=os.nice, initargs=(nice,)) as pool:
            shares = pool.starmap(_run_async, [(callback_storm, (plan[k::args.clients], args.callback_rate / args.clients))
                                               for k in range(args.clients)])
        outcomes = [None] * len(plan)
        for k, (mine, _, _) in enumerate(shares):
            outcomes[k::args.clients] = mine
        began, ended = min(b for _, b, _ in shares), max(e for _, _, e in shares)
        time.sleep(step_s + 1)
        sent_span = max(o.sent for o in outcomes) - min(o.sent for o in outcomes)
        print(f"  callbacks: {len(plan)} sent over {sent_span:.1f} s ({len(plan) / max(sent_span, 1e-9):.0f}/s, asked "
              f"{args.callback_rate:g}/s), the last answered {ended - began:.1f} s after the first left")
        for kind in ("sent", "delivered", "undelivered", "replay"):
            report_requests(outcomes, kind, 200)
        errors = five_hundreds(outcomes)
        refused = sum(o.status == 429 for o in outcomes)
        print(f"  all: {spread([o.ms for o in outcomes])}; 5xx: {errors} {target(errors == 0, '0 × 5xx')}; "
              f"429 (rate limit): {refused}")
        print_lateness("background steps due during the callbacks, lateness", [
            step for step in timeout_steps(stage.read) if began <= step.due <= ended], 250, stage.read)

        # Each receipt applied once: the messages, their trace entries, the receipts kept.
        answered = {(c[3], c[4]) for (c, _), o in zip(ordered, outcomes, strict=True) if o.status == 200}
        want_delivered = {sid for sid, status in answered if status == "delivered"}
        want_failed = {sid for sid, status in answered if status == "undelivered"}
        ids = {sent[sid]: sid for sid in sent}
        with transaction(stage.read) as s:
            statuses = Counter(s.scalars(select(Notification.status).where(Notification.id.in_(list(ids)))))
            entries = s.execute(select(TraceEntry.kind, TraceEntry.data).where(
                TraceEntry.kind.in_(("notification.delivered", "notification.failed")))).all()
            kept = s.scalar(select(func.count()).select_from(InboundReceipt).where(InboundReceipt.key.like("twilio:%")))
        per_message = Counter((kind, data["notification_id"]) for kind, data in entries if data["notification_id"] in ids)
        twice = sum(n - 1 for n in per_message.values() if n > 1)
        delivered = {ids[n] for kind, n in per_message if kind == "notification.delivered"}
        failed = {ids[n] for kind, n in per_message if kind == "notification.failed"}
        print(f"  messages: {dict(statuses)}; callbacks answered 200: {len(answered)} distinct of "
              f"{len(callbacks)}; receipts kept {kept}")
        wrong = len(delivered ^ want_delivered) + len(failed ^ want_failed)
        print(f"  entries: delivered {len(delivered)} (receipts answered {len(want_delivered)}), failed {len(failed)} "
              f"(answered {len(want_failed)}); applied twice {twice}; not as answered {wrong} "
              f"{target(twice == 0 and wrong == 0, 'each receipt applied once')}")
        lost = len(want_delivered - delivered) + len(want_failed - failed)
        if refused:
            refused_outcomes = {(c[3], c[4]) for (c, _), o in zip(ordered, outcomes, strict=True) if o.status == 429
                                and c[4] != "sent"} - answered
            print(f"  receipts refused (429) and never taken: {len(refused_outcomes)} — a provider does not "
                  f"post a status callback again")
        print(f"  answered but not applied: {lost}")


def urlpath(url: str) -> str:
    return url[len(PUBLIC_URL):]


async def callback_storm(plan: list[tuple[str, bytes, dict, str]], rate: float) -> tuple[list[Outcome], float, float]:
    results: list[Outcome | None] = [None] * len(plan)
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        async def post(n: int) -> None:
            url, body, headers, kind = plan[n]
            results[n], _ = await timed(client, kind, "POST", url, content=body, headers=headers)

        began = time.time()
        await paced_async(rate, len(plan) / rate, post)
        ended = time.time()
    return results, began, ended


# ------------------------------------------------------------------------------------------------------

RUNNERS = {"ingest": scenario_ingest, "webhooks": scenario_webhooks, "receipts": scenario_receipts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help="'sqlite' or a postgresql:// URL (reset!)")
    parser.add_argument("--scenario", default="all", help=f"all, or some of {', '.join(SCENARIOS)} (comma-separated)")
    parser.add_argument("--alarms", type=int, default=200, help="ingest: alarms posted at once")
    parser.add_argument("--rate", type=float, help="webhooks: events/s (20)")
    parser.add_argument("--seconds", type=float, help="webhooks: how long (60)")
    parser.add_argument("--webhook-timeout", type=float, default=10.0, help="webhooks: VIGIE_WEBHOOK_TIMEOUT_S")
    parser.add_argument("--hang-s", type=float, help="webhooks: how long the hanging receiver holds a request "
                                                     "(default the deadline + 5 s; 0: healthy too)")
    parser.add_argument("--no-subscriptions", action="store_true", help="webhooks: the same storm, no webhook")
    parser.add_argument("--drain", type=float, default=120.0, help="webhooks: wait at most this for the backlog")
    parser.add_argument("--sms", type=int, default=2000, help="receipts: SMS sent, then receipted")
    parser.add_argument("--callback-rate", type=float, default=200.0, help="receipts: callbacks/s")
    parser.add_argument("--clients", type=int, default=2, help="receipts: client processes posting the callbacks")
    parser.add_argument("--inbound-limit", help="receipts: VIGIE_RATE_LIMITS' inbound-provider, e.g. 100000/minute")
    args = parser.parse_args()
    args.duration = args.seconds or 60.0
    chosen = SCENARIOS if args.scenario == "all" else tuple(args.scenario.split(","))
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario {', '.join(sorted(unknown))}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run every `finally`: no orphan process
    print(machine_jitter(), flush=True)
    print(f"machine: {os.cpu_count()} CPUs, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", flush=True)
    try:
        for name in chosen:
            RUNNERS[name](args)
            print(flush=True)
    except KeyboardInterrupt:
        raise SystemExit("interrupted") from None


if __name__ == "__main__":
    main()
