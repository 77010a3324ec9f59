"""Rate limits on the routes a stranger can reach: login, the inbound callbacks, links, enrolment.

Counted by the `limits` library in moving windows, in this process's memory by default, or in
Redis (`VIGIE_RATE_LIMIT_STORAGE=redis://…`) so that several `vigie serve` share one count.
A refused request answers 429 with Retry-After, before any costly work (argon2, the database).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from backend.errors import TooManyRequests


@dataclass(frozen=True)
class Rule:
    """A named set of windows, e.g. failed logins of one account: 5 a minute, 20 an hour, 50 a day —
    each tier a longer wait, so guessing slows down the more it goes on."""

    name: str
    windows: tuple[RateLimitItem, ...]

    @classmethod
    def of(cls, name: str, spec: str) -> Rule:
        return cls(name, tuple(parse_many(spec)))


LOGIN_FAILURES_PER_ACCOUNT = Rule.of("login-account", "5/minute;20/hour;50/day")
LOGIN_FAILURES_PER_ADDRESS = Rule.of("login-address", "20/minute;200/hour")
# The providers' callbacks. Those that carry a valid signature (or key) are counted per provider, not per
# address (Twilio calls from many), and generously: a storm's delivery receipts, refused, would be lost
# (a provider does not send a refused callback again). Those that do not are counted per address, and an
# address over it is refused before any work, a valid callback of its included.
INBOUND_PER_PROVIDER = Rule.of("inbound-provider", "12000/minute")
INBOUND_FAILURES_PER_ADDRESS = Rule.of("inbound-failures-address", "60/minute;600/hour")
LINKS_PER_ADDRESS = Rule.of("links-address", "60/minute;600/hour")
ENROL_PER_ADDRESS = Rule.of("enrol-address", "20/minute;100/hour")
TEST_ALERTS_PER_PERSON = Rule.of("test-alert-person", "3 per 10 minutes")
# An integration's key: a hyperviseur stuck in a loop is slowed, not the PC (a storm's 200 alarms at
# once fit many times over; a refused one is retried by its source, and repeats are merged anyway).
INTEGRATION_PER_KEY = Rule.of("integration-key", "1200/minute")
API_KEY_FAILURES_PER_ADDRESS = Rule.of("api-key-failures-address", "30/minute;300/hour")


class RateLimits:
    def __init__(self, storage_uri: str = "memory://", overrides: dict[str, str] | None = None):
        """`overrides`: windows by rule name (`VIGIE_RATE_LIMITS='{"login-address": "100/minute"}'`)."""
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.overrides = {name: tuple(parse_many(spec)) for name, spec in (overrides or {}).items()}

    def windows(self, rule: Rule) -> tuple[RateLimitItem, ...]:
        return self.overrides.get(rule.name, rule.windows)

    def check(self, rule: Rule, key: str) -> None:
        """Refuse (429) when `key` is over any window of `rule`; counts nothing."""
        over = [window for window in self.windows(rule) if not self.limiter.test(window, rule.name, key)]
        if over:
            wait = self._wait(rule.name, key, over)
            raise TooManyRequests("too many attempts; try again later", code="rate_limited",
                                  details={"retry_after_s": wait}, retry_after=wait)

    def hit(self, rule: Rule, key: str) -> None:
        for window in self.windows(rule):
            self.limiter.hit(window, rule.name, key)

    def take(self, rule: Rule, key: str) -> None:
        """Count one request, refused (429) when it is one too many."""
        self.check(rule, key)
        self.hit(rule, key)

    def _wait(self, name: str, key: str, windows: list[RateLimitItem]) -> int:
        reset = max(self.limiter.get_window_stats(window, name, key).reset_time for window in windows)
        return max(1, math.ceil(reset - time.time()))


def client_address(request) -> str:
    return request.client.host if request.client else "unknown"
