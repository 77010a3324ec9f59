from __future__ import annotations

import pytest

from notifications.sms_reply import Reply, parse_reply


@pytest.mark.parametrize("text, expected", [
    ("1", Reply("ack")),
    (" ok ", Reply("ack")),
    ("Ok.", Reply("ack")),
    ("1 4821", Reply("ack", "4821")),
    ("2", Reply("decline")),
    ("non", Reply("decline")),
    ("NON 4821 malade", Reply("decline", "4821", "malade")),
    ("2 en congés", Reply("decline", None, "en congés")),
    ("3", Reply("on_site")),
    ("4 4821", Reply("done", "4821")),
    ("Arbre dégagé, route rouverte", Reply("note", None, "Arbre dégagé, route rouverte")),
    ("12 rue Jean Jaurès", Reply("note", None, "12 rue Jean Jaurès")),
    ("okay je regarde", Reply("note", None, "okay je regarde")),
    ("7", Reply("note", None, "7")),
    ("5", Reply("en_route")),
    ("en route, 10 min", Reply("en_route", None, "10 min")),
    ("EN ROUTE 4821", Reply("en_route", "4821")),
    ("6 arbre trop gros", Reply("need_help", None, "arbre trop gros")),
    ("Renfort svp", Reply("need_help", None, "svp")),
    ("Route coupée au rond-point", Reply("note", None, "Route coupée au rond-point")),
    ("", Reply("note", None, "")),
])
def test_replies_are_read_the_way_people_type_them(text, expected):
    assert parse_reply(text) == expected


def test_after_taking_it_the_confirmation_gives_the_codes_of_what_comes_next():
    from notifications.sms_reply import received

    assert received(Reply("ack")) == "Recu : je prends. Ensuite : 5=en route 3=sur place 4=termine 6=renfort"
    assert received(Reply("en_route")) == "Recu : en route."
    assert received(Reply("need_help", None, "arbre")).startswith("Recu : renfort demande (arbre). Le PC est alerte")
