"""Webhooks out: a commune's subscriptions to trace kinds, and their signed deliveries."""
