"""The PC as a contact card (vCard 3.0, which iPhone and Android both import), so that a person can
let its calls and SMS through Do Not Disturb (iPhone: Emergency Bypass on the contact)."""

from __future__ import annotations

import phonenumbers

NAME = "Vigie — PC astreinte"


def e164(text: str) -> str:
    try:
        number = phonenumbers.parse(text, "FR")
    except phonenumbers.NumberParseException:
        return "".join(c for c in text if c.isdigit() or c == "+")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def pc_contact_card(*, sms_number: str, pc_phone: str | None) -> str:
    numbers = [f"TEL;TYPE=CELL,PREF:{e164(sms_number)}"]
    if pc_phone and e164(pc_phone) != e164(sms_number):
        numbers.append(f"TEL;TYPE=WORK,VOICE:{e164(pc_phone)}")
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{_escape(NAME)}", "N:PC astreinte;Vigie;;;", "ORG:Vigie",
             *numbers, "NOTE:" + _escape("Alertes d'astreinte : laissez passer ses appels et SMS "
                                         "(Ne pas déranger, contournement d'urgence)."), "END:VCARD"]
    return "\r\n".join(lines) + "\r\n"
