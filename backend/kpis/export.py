"""The dashboard's figures as CSV rows a spreadsheet opens as is (French Excel: `;` and a BOM)."""

from __future__ import annotations

import csv
import io

from backend.kpis.service import Period, days


def rows(figures: dict, tz: str) -> list[tuple[str, str, object, object]]:
    calls, fa, rep = figures["calls"], figures["first_action"], figures["reports"]
    first, last = days(Period(figures["period"]["start"], figures["period"]["end"]), tz)
    out = [
        ("période", "du", f"{first:%d/%m/%Y}", ""),
        ("période", "au (inclus)", f"{last:%d/%m/%Y}", ""),
        ("appels", "appels reçus", calls["total"], ""),
        ("appels", "appels décrochés", calls["answered"], ""),
        ("appels", "taux de décroché", calls["pickup_rate"], calls["target"]),
        ("événements", "événements", figures["events"], ""),
        ("première action", "dans l'heure (taux)", fa["within_hour_rate"], fa["target"]),
        ("première action", "dans le délai cible (taux)", fa["within_target_rate"], fa["target"]),
        ("première action", "dans l'heure (événements)", fa["within_hour"], ""),
        ("première action", "dans le délai cible (événements)", fa["within_target"], ""),
        ("première action", "sans action (aucune réponse humaine)", fa["without_action"], 0),
        ("première action", "définition", fa["definition"], ""),
        ("rapports", "rapports envoyés", rep["sent"], ""),
        ("rapports", "rapports par événement", rep["per_event"], rep["target"]),
        ("hors PC", "alertes hors PC", figures["bypassed"]["total"], ""),
    ]
    out += [("par catégorie", name, n, "") for name, n in figures["by_category"].items()]
    out += [("par gravité", sev, n, "") for sev, n in figures["by_severity"].items()]
    out += [("par mois", month, n, "") for month, n in figures["by_month"].items()]
    out += [("acquittement par groupe (médiane s)", g, v["median_s"], "") for g, v in figures["ack_by_group"].items()]
    out += [("profondeur d'escalade", f"{k} personne(s)", v, "")
            for k, v in figures["escalation_depth"]["distribution"].items()]
    out += [("remise par canal (taux)", c, v["success_rate"], "") for c, v in figures["delivery_by_channel"].items()]
    out += [("hors PC par catégorie", c, n, "") for c, n in figures["bypassed"]["by_category"].items()]
    drills = figures["exercises"]
    out += [("exercices (hors convention)", "exercices", drills["events"], ""),
            ("exercices (hors convention)", "première action dans l'heure (taux)",
             drills["first_action"]["within_hour_rate"], ""),
            ("exercices (hors convention)", "première action dans le délai cible (taux)",
             drills["first_action"]["within_target_rate"], ""),
            ("exercices (hors convention)", "sans action", drills["first_action"]["without_action"], "")]
    out += [("exercices : acquittement par groupe (médiane s)", g, v["median_s"], "")
            for g, v in drills["ack_by_group"].items()]
    return out


def to_csv(figures: dict, tz: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["rubrique", "indicateur", "valeur", "objectif"])
    for section, name, value, target in rows(figures, tz):
        writer.writerow([section, name, _fr(value), _fr(target)])
    return "\ufeff" + buffer.getvalue()


def _fr(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".").replace(".", ",")
    return str(value)
