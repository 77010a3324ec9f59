"""Information messages say so (issue 16): « Pour information — … » on every road, no reply hint; a page for
reinforcement says who asked; a report-back reads as who said what."""

from __future__ import annotations

import pytest

from notifications.base import ChannelKind
from notifications.information import report_back, report_sms
from notifications.render import EventSummary, render
from notifications.sms_text import gsm7_length

TREE = EventSummary(org_code="CHENOVE", number="2026-0042", severity=3, title="Chute d'arbre",
                    place="av. Roland Carraz", category="Chute d'arbre sur la voirie")


@pytest.mark.parametrize("channel", [ChannelKind.SMS, ChannelKind.PUSH, ChannelKind.EMAIL])
def test_an_information_says_so_on_every_road_and_asks_nothing(channel):
    told = render("inform", channel, TREE, person_name="Elu Un")
    assert "Pour information" in told.subject
    assert "Pour information" in told.text, "the body itself says it, not only a subject a phone may hide"
    assert "Rep" not in told.text and "je prends" not in told.text
    assert "actions" not in told.data and told.data["information"] is True
    page = render("solicit", channel, TREE)
    assert "Pour information" not in page.text + page.subject


def test_the_information_sms_fits_one_segment():
    sms = render("inform", ChannelKind.SMS, TREE)
    assert sms.text == "[CHENOVE] GRAVE 2026-0042 Pour information - Chute d'arbre, av. Roland Carraz"
    assert gsm7_length(sms.text) <= 160


def test_a_report_back_relayed_reads_as_who_said_what():
    note = report_back("note", "Tech Un", "Astreinte technique", "voie rouverte")
    assert note == "Tech Un (Astreinte technique) : note — « voie rouverte »"
    sms = render("inform", ChannelKind.SMS, TREE, note=note)
    assert sms.text.startswith("[CHENOVE] GRAVE 2026-0042 Pour information - Tech Un (Astreinte technique)")
    assert report_back("on_site", "Tech Un") == "Tech Un : sur place"


def test_a_page_for_reinforcement_names_who_asked_and_keeps_the_reply_hint():
    sms = render("solicit", ChannelKind.SMS, TREE, requested_by="Tech Un", note="tronc trop gros")
    assert sms.text.startswith("[CHENOVE] GRAVE 2026-0042 RENFORT demandé par Tech Un (tronc trop gros)")
    assert sms.text.endswith("Rep 1=je prends 2=indispo") and gsm7_length(sms.text) <= 160
    assert render("solicit", ChannelKind.PUSH, TREE, requested_by="Tech Un").data["reinforcement"] is True


def test_the_sms_that_tells_a_list_of_a_report():
    subject, text = report_sms(org_code="CHENOVE", number="2026-0042", title="Chute d'arbre", by_email=False)
    assert text.startswith("[CHENOVE] 2026-0042 Pour information - rapport")
    assert text.endswith("Rapport complet aupres du PC.") and gsm7_length(text) <= 160
