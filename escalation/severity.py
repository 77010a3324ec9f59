"""What each severity does: the one table to change (DESIGN, « Gravité »).

Pure data and functions of plain values: which pages a new event opens, which roads carry a
message to a person, how urgent a message is, the first-action target the KPIs hold it to, and
the words for it. Event creation and the operator's preview both read their chains here, so
what the preview shows is what will happen.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SEVERITY = 3  # an unknown severity is handled as "grave" until requalified (fail safe)


@dataclass(frozen=True)
class Severity:
    level: int
    label: str  # as the operator, the reports and the messages say it
    cap: str  # CAP 1.2 <severity>
    solicits: bool  # pages ask someone to answer; below, the event only informs (by e-mail or SMS)
    every_group_at_once: bool  # one page per solicited group at once, rather than one walking the chain
    sms_waits_for_push: bool  # a person with the app gets the SMS only if the push is not read in time
    email_copy: bool  # an e-mail copy beside push and SMS for every solicitation
    urgent: bool  # high-priority push, the message stays on screen
    push_ttl_s: int  # how long a push service keeps an alert for a phone that is offline
    first_action_target_s: int  # the convention's "temps satisfaisant" for the first action


SEVERITIES: dict[int, Severity] = {s.level: s for s in (
    Severity(1, "Information", "Minor", solicits=False, every_group_at_once=False, sms_waits_for_push=False,
             email_copy=False, urgent=False, push_ttl_s=86400, first_action_target_s=3600),
    Severity(2, "Modéré", "Moderate", solicits=True, every_group_at_once=False, sms_waits_for_push=True,
             email_copy=False, urgent=False, push_ttl_s=1800, first_action_target_s=1800),
    Severity(3, "Grave", "Severe", solicits=True, every_group_at_once=False, sms_waits_for_push=False,
             email_copy=False, urgent=True, push_ttl_s=3600, first_action_target_s=900),
    Severity(4, "Critique", "Extreme", solicits=True, every_group_at_once=True, sms_waits_for_push=False,
             email_copy=True, urgent=True, push_ttl_s=3600, first_action_target_s=300),
)}


def severity(level: int | None) -> Severity:
    return SEVERITIES.get(level or DEFAULT_SEVERITY, SEVERITIES[DEFAULT_SEVERITY])


def page_chains(level: int, solicited_group_ids: list[int]) -> list[list[int]]:
    """The pages a new event opens, each a chain of groups tried in turn."""
    rule = severity(level)
    if not rule.solicits or not solicited_group_ids:
        return []
    if rule.every_group_at_once:
        return [[group_id] for group_id in solicited_group_ids]
    return [list(solicited_group_ids)]


@dataclass(frozen=True)
class Road:
    kind: str  # "push" (every app installed), "sms" (the first number), "email" (the first address)
    delay_s: float = 0.0  # > 0: held back as a fallback, sent at once if the push fails


def roads(level: int, purpose: str, *, push: bool, sms: bool, email: bool, email_copies: bool,
          push_fallback_s: float) -> list[Road]:
    """Which roads carry one message to one person, given the roads that person has."""
    rule = severity(level)
    if purpose in ("closing", "confirm"):  # a short word after the fact: one road is enough
        first = next((kind for kind, has in (("push", push), ("sms", sms), ("email", email)) if has), None)
        return [Road(first)] if first else []
    if not rule.solicits:
        return [Road("email")] if email else ([Road("sms")] if sms else [])
    chosen = [Road("push")] if push else []
    if purpose == "inform":
        if sms and not push:
            chosen.append(Road("sms"))
        return chosen + ([Road("email")] if email else [])
    if sms:
        chosen.append(Road("sms", push_fallback_s if rule.sms_waits_for_push and push else 0.0))
    if email and (rule.email_copy or email_copies or not (push or sms)):
        chosen.append(Road("email"))
    return chosen


def notice_roads(kind: str, *, urgent: bool, push: bool, sms: bool, email: bool) -> list[str]:
    """Which roads carry a message about the planning (no event behind it) to one person."""
    if kind == "gap_report":  # a list of dates to read at a desk
        return ["email"] if email else (["sms"] if sms else [])
    if urgent:  # the watch was not taken: by every road that rings
        rings = (["push"] if push else []) + (["sms"] if sms else [])
        return rings or (["email"] if email else [])
    first = next((road for road, has in (("push", push), ("sms", sms), ("email", email)) if has), None)
    return [first] if first else []


FALLBACK_ORDER = ("push", "fcm", "sms", "email")


def next_road(failed: str, *, tried: set[str], has: set[str]) -> str | None:
    """After a road failed for good, the next one the person has that this message has not tried."""
    start = FALLBACK_ORDER.index(failed) + 1 if failed in FALLBACK_ORDER else 0
    return next((kind for kind in FALLBACK_ORDER[start:] if kind not in tried and kind in has), None)
