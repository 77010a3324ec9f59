"""The SMS providers' callbacks that arrive together are written together: each once, each on its own."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from backend.inbound.models import InboundReceipt, InboundSms
from backend.inbound.together import TakenTogether


def received(n: int):
    def action(session, now):
        session.add(InboundSms(received_at=now, sender=f"+3361234{n:04d}", text=f"ok {n}", outcome="accepted"))
    return action


def broken(session, now):
    session.add(InboundSms(received_at=now, sender="+33600000000", text="half written", outcome="accepted"))
    session.flush()
    raise ValueError("this callback's own error")


def test_a_burst_of_callbacks_is_written_each_once_and_a_failing_one_undoes_no_other(runtime):
    together = TakenTogether(runtime.session_factory, most=16)
    together.start()

    async def burst():
        calls = [together.take(f"test:{n}", received(n)) for n in range(100)]
        calls += [together.take(f"test:{n}", received(1000 + n)) for n in range(0, 100, 10)]  # replays
        calls.append(together.take("test:broken", broken))
        return await asyncio.gather(*calls, return_exceptions=True)

    try:
        outcomes = asyncio.run(burst())
    finally:
        together.stop()
    firsts, replays, failed = outcomes[:100], outcomes[100:110], outcomes[110]
    assert firsts == [True] * 100
    assert replays == [False] * 10, "a copy is taken once, whether in the same group or a later one"
    assert isinstance(failed, ValueError), "the failing callback gets its own error back"
    with runtime.session_factory() as s:
        texts = set(s.scalars(select(InboundSms.text)))
        keys = set(s.scalars(select(InboundReceipt.key)))
    assert texts == {f"ok {n}" for n in range(100)}, "every first applied once; no replay, no half-written row"
    assert keys == {f"test:{n}" for n in range(100)}, "the failed callback may come again: its key is not kept"


def take_in_a_new_process(runtime, key: str, action) -> bool:
    together = TakenTogether(runtime.session_factory)
    together.start()
    try:
        return asyncio.run(together.take(key, action))
    finally:
        together.stop()


def test_a_callback_taken_once_is_refused_again_after_a_restart(runtime):
    assert take_in_a_new_process(runtime, "test:again", received(1)) is True
    assert take_in_a_new_process(runtime, "test:again", received(2)) is False
    with runtime.session_factory() as s:
        assert s.scalar(select(func.count(InboundSms.id))) == 1
