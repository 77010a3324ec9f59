"""The severity table (escalation/severity.py): which pages open, which roads carry a message."""

from __future__ import annotations

import pytest

from escalation.severity import Road, next_road, notice_roads, page_chains, roads, severity


def test_information_opens_no_page_critical_asks_every_group_at_once():
    assert page_chains(1, [10, 20]) == []
    assert page_chains(2, [10, 20]) == [[10, 20]]
    assert page_chains(3, [10, 20]) == [[10, 20]]
    assert page_chains(4, [10, 20]) == [[10], [20]]
    assert page_chains(3, []) == []


def ask(level, *, push=True, sms=True, email=True, email_copies=False, purpose="solicit"):
    return roads(level, purpose, push=push, sms=sms, email=email, email_copies=email_copies, push_fallback_s=120)


def test_a_moderate_page_holds_the_sms_back_while_the_push_may_be_read():
    assert ask(2) == [Road("push"), Road("sms", 120)]
    assert ask(2, push=False) == [Road("sms")]  # a basic phone gets its SMS at once


def test_grave_sends_push_and_sms_together_and_critique_adds_an_email():
    assert ask(3) == [Road("push"), Road("sms")]
    assert ask(3, email_copies=True) == [Road("push"), Road("sms"), Road("email")]
    assert ask(4) == [Road("push"), Road("sms"), Road("email")]


def test_someone_with_only_an_email_address_is_still_reached():
    assert ask(3, push=False, sms=False) == [Road("email")]
    assert ask(3, push=False, sms=False, email=False) == []


def test_information_and_informing_never_wake_anyone_twice():
    assert ask(1) == [Road("email")]
    assert ask(1, email=False) == [Road("sms")]
    assert ask(3, purpose="inform") == [Road("push"), Road("email")]
    assert ask(3, purpose="inform", push=False) == [Road("sms"), Road("email")]


@pytest.mark.parametrize("purpose", ["closing", "confirm"])
def test_a_word_after_the_fact_takes_one_road(purpose):
    assert ask(4, purpose=purpose) == [Road("push")]
    assert ask(4, purpose=purpose, push=False) == [Road("sms")]


def test_an_unknown_severity_is_handled_as_grave():
    assert severity(None) == severity(3) == severity(9)
    assert severity(3).label == "Grave" and severity(4).cap == "Extreme"


@pytest.mark.parametrize("kind, urgent, has, expected", [
    ("watch_ask", False, {"push", "sms", "email"}, ["push"]),
    ("watch_ask", False, {"sms", "email"}, ["sms"]),
    ("watch_ask", False, {"email"}, ["email"]),
    ("watch_missed", True, {"push", "sms", "email"}, ["push", "sms"]),
    ("watch_missed", True, {"email"}, ["email"]),
    ("gap_report", False, {"push", "sms", "email"}, ["email"]),
    ("gap_report", False, {"push", "sms"}, ["sms"]),
    ("swap_request", False, set(), []),
])
def test_a_planning_message_takes_the_roads_a_person_notices(kind, urgent, has, expected):
    assert notice_roads(kind, urgent=urgent, push="push" in has, sms="sms" in has, email="email" in has) == expected


def test_after_a_road_fails_for_good_the_next_one_the_person_has_is_taken():
    assert next_road("push", tried={"push"}, has={"push", "sms", "email"}) == "sms"
    assert next_road("push", tried={"push"}, has={"push", "email"}) == "email"
    assert next_road("sms", tried={"push", "sms"}, has={"push", "sms", "email"}) == "email"
    assert next_road("sms", tried={"sms", "email"}, has={"sms", "email"}) is None
    assert next_road("email", tried={"email"}, has={"push", "sms", "email"}) is None  # e-mail is the last road
