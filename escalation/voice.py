"""When a solicitation also rings the person's phone: a call read aloud, as the commune chose.

A commune picks the severity from which every solicitation calls at once (3 grave, 4 critique, or
never), and how many minutes a solicitation may stay unanswered after its SMS before a call
follows (or never). One call per solicitation: one placed at once makes the later one needless.
"""

from __future__ import annotations

from escalation.severity import severity


def calls_at_once(level: int, purpose: str, *, from_severity: int | None) -> bool:
    return (purpose == "solicit" and from_severity is not None and severity(level).solicits
            and level >= from_severity)


def call_after_sms_s(level: int, purpose: str, *, from_severity: int | None,
                     after_sms_minutes: int | None) -> float | None:
    """Seconds after the SMS when the call follows, or None for no such call."""
    if purpose != "solicit" or not after_sms_minutes or not severity(level).solicits:
        return None
    if calls_at_once(level, purpose, from_severity=from_severity):
        return None
    return after_sms_minutes * 60.0
