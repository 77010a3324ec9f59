"""Prometheus metrics of the worker (per process)."""

from prometheus_client import Counter, Histogram

_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

ESCALATION_LATENESS = Histogram(
    "vigie_escalation_lateness_seconds", "Time between an escalation step's due time and when it fired",
    buckets=_FAST)
DISPATCH_LATENCY = Histogram(
    "vigie_dispatch_latency_seconds", "Time from a notification being queued to its hand-off to the provider",
    buckets=_FAST)
STEPS = Counter("vigie_escalation_steps_total", "Escalation steps fired by the worker")
