"""Every kind of entry in the main courante (an event's trace) and in a group's planning chain.

KPIs, pay and reports read the trace by these kinds, and the console says each one in French
(`pwa/console/js/labels.js`, held to this list by `tests/backend/test_trace_kinds.py`, as is the
README's table). A new kind is added here first, with its meaning. The values are what the
database stores: renaming one is a data migration.
"""

from __future__ import annotations

from enum import StrEnum


class _Kind(StrEnum):
    meaning: str

    def __new__(cls, value: str, meaning: str = "") -> _Kind:
        member = str.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        return member


class TraceKind(_Kind):
    """An entry of an event's main courante."""

    EVENT_CREATED = "event.created", "the event was opened (by an operator, from a call, or by an integration)"
    EVENT_OUT_OF_COVERAGE = "event.out_of_coverage", "opened outside the PC's coverage hours: what was done instead"
    EVENT_INFORMED = "event.informed", "groups or lists were told of the event, without being asked to answer"
    EVENT_REQUALIFIED = "event.requalified", "the operator changed the event's severity"
    EVENT_CLOSED = "event.closed", "the event was closed, with its reason and follow-up"
    EVENT_CAP = "event.cap", ("a CAP 1.2 message about the event was received: the alert that opened it, "
                              "its sender's update or cancellation")
    PAGE_STARTED = "page.started", "a solicitation began: its chain of groups and people, frozen"
    PAGE_NOTIFY = "page.notify", "one person was solicited (first, after a timeout or a decline, or a new round)"
    PAGE_ESCALATED = "page.escalated", "nobody in a group answered: the chain moved on to the next group"
    PAGE_REPEATED = "page.repeated", "the whole chain was tried and starts again (a new round)"
    PAGE_ACKNOWLEDGED = "page.acknowledged", "someone took the solicitation: it stops"
    PAGE_CANCELLED = "page.cancelled", "the solicitation stopped without an acknowledgement (closure, requalification)"
    PAGE_UNREACHED = "page.unreached", "nobody answered after every round: the PC is alarmed"
    NOTIFICATION_SENT = "notification.sent", "a provider took a message"
    NOTIFICATION_DELIVERED = "notification.delivered", "the provider confirmed the message reached the phone or mailbox"
    NOTIFICATION_FAILED = "notification.failed", "a message could not be sent (refused, or its tries ran out)"
    NOTIFICATION_RETRY = "notification.retry", "a send failed and will be tried again"
    NOTIFICATION_FALLBACK = "notification.fallback", "a message failed and the next road (e.g. SMS after push) was taken"
    NOTIFICATION_MERGED = "notification.merged", "messages to one number were merged into one (SMS flood limit)"
    CONTACT_REMOVED = "contact.removed", "a provider said an address no longer exists: it was removed"
    VOICE_ANSWERED = "voice.answered", "a call was picked up: the solicitation is read aloud"
    VOICE_KEY = "voice.key", "a key was pressed during a call (1 takes, 2 not available, another reads again)"
    VOICE_ENDED = "voice.ended", ("a call ended (`reason`): answered by a key, or not taken (no answer, busy, hung up, "
                                  "an answering machine: « messagerie »)")
    RESPONSE_ACK = "response.ack", "a person took the solicitation (\u00ab je prends \u00bb)"
    RESPONSE_DECLINE = "response.decline", "a person said they are not available"
    RESPONSE_EN_ROUTE = "response.en_route", "a person is on their way"
    RESPONSE_ON_SITE = "response.on_site", "a person arrived on site"
    RESPONSE_DONE = "response.done", "a person finished their intervention"
    RESPONSE_NEED_HELP = "response.need_help", "a person asked for reinforcement"
    RESPONSE_NOTE = "response.note", "a person or the PC wrote a note"
    RESPONSE_PHOTO = "response.photo", "a person sent a photo from the field"
    TRACE_CORRECTION = "trace.correction", "an operator corrected an earlier entry (entries are never changed)"
    REPORT_SENT = "report.sent", "the event's report was sent to its recipients"
    REPORT_WRITTEN = "report.written", "the event's report was written, with nobody to send it to"
    ALARM_REPEATED = "alarm.repeated", "an integration sent the same alarm again: counted, nobody paged again"
    ALARM_CLEARED = "alarm.cleared", "an integration said the alarm ended (\u00ab fin d'alarme \u00bb)"
    REINFORCEMENT_NOTED = "event.reinforcement_noted", "the PC took note of a call for reinforcement: its alarm stops"

    @classmethod
    def of_response(cls, kind: str) -> TraceKind:
        """The entry an answer of this kind (`ack`, `note`, …) writes."""
        return cls(f"response.{kind}")


# The convention's "first action" of an event (backend/kpis/service.py): the first of these entries after
# the event's opening. Only what a human did counts: an on-call person's answer or report-back (from the
# field or written by an operator on their behalf), an operator's note or photo, requalification or
# closure. What Vigie writes by itself with the event (pages sent, lists informed, the referent told out
# of hours) does not, nor a correction of the log (it fixes the record, not the situation).
HUMAN_ACTIONS: frozenset[TraceKind] = frozenset(
    {kind for kind in TraceKind if kind.value.startswith("response.")}
    | {TraceKind.EVENT_REQUALIFIED, TraceKind.EVENT_CLOSED})


class GroupTraceKind(_Kind):
    """An entry of a group's planning chain (who is on call, and every change to it)."""

    ROTATION_CHANGED = "rotation.changed", "the group's rotation was set or changed"
    ROTATION_ENDED = "rotation.ended", "the group's rotation was ended"
    OVERRIDE_ADDED = "override.added", "someone was put on call in place of the rotation for a while"
    OVERRIDE_CANCELLED = "override.cancelled", "such a replacement was cancelled"
    SWAP_REQUESTED = "swap.requested", "a person asked a colleague to swap turns"
    SWAP_ACCEPTED = "swap.accepted", "the colleague accepted the swap"
    SWAP_REFUSED = "swap.refused", "the colleague refused the swap"
    SWAP_REJECTED = "swap.rejected", "the manager did not approve the swap"
    SWAP_CANCELLED = "swap.cancelled", "the person who asked withdrew the swap"
    SWAP_DONE = "swap.done", "the swap took effect in the planning"
    WATCH_STARTED = "watch.started", "a turn of the group began"
    WATCH_ASKED = "watch.asked", "the person on call was asked to confirm they hold the turn"
    WATCH_CONFIRMED = "watch.confirmed", "the person on call confirmed the turn"
    WATCH_MISSED = "watch.missed", "still unconfirmed at the deadline: the commune's cadre is alerted"
    PLANNING_GAP = "planning.gap", "nobody is on call for a coming period: the commune's referents are told"


def markdown() -> str:
    """The catalogue as the README shows it (`python -m backend.trace.kinds`; a test compares them)."""
    rows = ["| kind | trace | meaning |", "|---|---|---|"]
    rows += [f"| `{kind}` | event | {kind.meaning} |" for kind in TraceKind]
    rows += [f"| `{kind}` | group | {kind.meaning} |" for kind in GroupTraceKind]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
