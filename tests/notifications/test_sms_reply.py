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
    ("5", Reply("note", None, "5")),
    ("", Reply("note", None, "")),
])
def test_replies_are_read_the_way_people_type_them(text, expected):
    assert parse_reply(text) == expected
