"""French messages: an SMS fits one GSM-7 segment, e-mails carry the essentials."""

from __future__ import annotations

import asyncio
import io

from hypothesis import given
from hypothesis import strategies as st

from notifications.base import ChannelKind, OutboundMessage, Outcome
from notifications.console import ConsoleChannel
from notifications.registry import ChannelRegistry
from notifications.render import EventSummary, render
from notifications.sms_text import fit_sms, fold_to_gsm7, gsm7_length

TREE = EventSummary(org_code="CHENOVE", number="2026-0042", severity=3, title="Chute d'arbre",
                    place="av. Roland Carraz, voie bloquée", category="Chute d'arbre sur la voirie",
                    description="Un platane barre la chaussée.")


def test_the_solicitation_sms_reads_like_the_pc_writes_it():
    sms = render("solicit", ChannelKind.SMS, TREE)
    # "é" is in the GSM-7 alphabet: it stays (it costs one septet like any letter).
    assert sms.text == "[CHENOVE] GRAVE 2026-0042 Chute d'arbre, av. Roland Carraz, voie bloquée Rep 1=je prends 2=indispo"
    assert gsm7_length(sms.text) <= 160


def test_a_reply_code_is_given_when_the_person_has_several_pages():
    sms = render("solicit", ChannelKind.SMS, TREE, reply_code="4821")
    assert sms.text.endswith("Rep 1 4821=je prends 2 4821=indispo")


def test_accents_outside_gsm7_are_folded_and_those_inside_kept():
    assert fold_to_gsm7("Élu prévenu à 3 h, œuvre — « ok » ’") == "Élu prévenu à 3 h, oeuvre - \" ok \" '"
    assert fold_to_gsm7("Chenôve, Côte-d'Or, Île") == "Chenove, Cote-d'Or, Ile"


@given(st.text(max_size=400))
def test_any_sms_fits_one_segment_and_keeps_its_head_and_reply_hint(body):
    text = fit_sms("[CHENOVE] CRITIQUE 2026-0001", body, "Rep 1=je prends 2=indispo")
    assert gsm7_length(text) <= 160
    assert fold_to_gsm7(text) == text, "the text is pure GSM-7"
    assert text.startswith("[CHENOVE] CRITIQUE 2026-0001")
    assert text.endswith("Rep 1=je prends 2=indispo")


def test_a_long_place_is_shortened_not_the_reply_hint():
    long = EventSummary("CHENOVE", "2026-0042", 4, "Inondation du sous-sol de l'école maternelle",
                        place="rue " + "très longue " * 20)
    sms = render("solicit", ChannelKind.SMS, long)
    assert gsm7_length(sms.text) <= 160 and "très longue" in sms.text
    assert sms.text.endswith("Rep 1=je prends 2=indispo")
    assert sms.text.startswith("[CHENOVE] CRITIQUE 2026-0042 Inondation")


def test_the_email_is_french_html_with_the_essentials_and_the_links():
    mail = render("solicit", ChannelKind.EMAIL, TREE, person_name="Camille Martin",
                  links={"Je prends": "https://vigie.example.org/l/abc", "Indisponible": "https://vigie.example.org/l/def"})
    assert mail.subject == "[CHENOVE GRAVE 2026-0042] Chute d'arbre"
    assert 'lang="fr"' in mail.html and "Bonjour Camille Martin" in mail.html
    assert "Un platane barre la chaussée." in mail.html and "https://vigie.example.org/l/abc" in mail.html
    assert "Je prends : https://vigie.example.org/l/abc" in mail.text


def test_html_in_event_fields_is_escaped():
    hostile = EventSummary("CHENOVE", "2026-0001", 2, "<script>alert(1)</script>")
    assert "<script>" not in render("solicit", ChannelKind.EMAIL, hostile).html


def test_closing_the_loop_names_who_took_it():
    closing = render("closing", ChannelKind.SMS, TREE, acked_by="Louis Bernard")
    assert "Pris en charge par Louis Bernard" in closing.text
    assert "Rep" not in closing.text


def test_push_data_offers_the_actions_of_a_solicitation():
    push = render("solicit", ChannelKind.PUSH, TREE)
    assert push.data["actions"] == ["ack", "decline"]
    assert push.data["severity_label"] == "Grave" and push.data["number"] == "2026-0042"
    assert "actions" not in render("inform", ChannelKind.PUSH, TREE).data


def test_the_console_default_serves_every_kind_and_prints():
    registry = ChannelRegistry.console_default()
    assert set(registry.kinds()) == set(ChannelKind)
    out = io.StringIO()
    channel = ConsoleChannel(ChannelKind.SMS, stream=out)
    message = OutboundMessage(1, ChannelKind.SMS, "+33639980101", "sujet", "texte")
    result = asyncio.run(channel.send(message))
    assert result.outcome is Outcome.DELIVERED
    assert "+33639980101" in out.getvalue() and "texte" in out.getvalue()
