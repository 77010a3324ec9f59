"""The dashboard as a page a meeting can project: figures against their targets, and SVG charts (pygal,
rendered here, no script from the internet)."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

import pygal
from pygal.style import Style

from escalation.severity import SEVERITIES

STYLE = Style(background="white", plot_background="white", foreground="#1b1f24", foreground_strong="#1b1f24",
              foreground_subtle="#6b7280", colors=("#1d4ed8", "#16a34a", "#dc2626", "#f59e0b", "#7c3aed"),
              font_family="DejaVu Sans, Liberation Sans, Arial, sans-serif", label_font_size=13,
              major_label_font_size=13, value_font_size=13, title_font_size=17, legend_font_size=13,
              no_data_font_size=22)
SEVERITY_FR = {str(level): rule.label for level, rule in SEVERITIES.items()}
CHANNEL_FR = {"push": "Push", "fcm": "Push (FCM)", "sms": "SMS", "email": "E-mail"}


def _svg(chart) -> str:
    # No pygal.js (it would be fetched from the internet) and no XML prolog inside the HTML page.
    chart.config.js = []
    chart.config.disable_xml_declaration = True
    return chart.render(is_unicode=True)


def _bar(title: str, labels: list[str], values: list[float], *, percent: bool = False,
         horizontal: bool = False) -> str:
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    top = 100 if percent else max([1, *values])
    step = 10 if percent else max(1, round(top / 8))
    chart = kind(style=STYLE, width=640, height=320, show_legend=False, title=title, print_values=True,
                 range=(0, top), margin=16, no_data_text="Aucune donnée",
                 value_formatter=(lambda v: f"{v:.0f} %") if percent else (lambda v: f"{v:.0f}"))
    chart.y_labels = list(range(0, int(top) + 1, step))  # counts are whole: no 0, 0, 1, 1 ticks
    chart.x_labels = labels
    chart.add(title, values)
    return _svg(chart)


def charts(figures: dict) -> dict[str, str]:
    fa = figures["first_action"]["by_severity"]
    severities = sorted(fa)
    delivery = figures["delivery_by_channel"]
    return {
        "by_month": _bar("Événements par mois", list(figures["by_month"]), list(figures["by_month"].values())),
        "by_category": _bar("Événements par catégorie", list(figures["by_category"])[:10],
                            list(figures["by_category"].values())[:10], horizontal=True),
        "first_action": _bar("Première action dans le délai cible, par gravité (%)",
                             [SEVERITY_FR.get(s, s) for s in severities],
                             [100 * fa[s]["within_target"] / fa[s]["events"] if fa[s]["events"] else 0
                              for s in severities], percent=True),
        "delivery": _bar("Messages remis, par canal (%)", [CHANNEL_FR.get(c, c) for c in delivery],
                         [100 * (d["success_rate"] or 0) for d in delivery.values()], percent=True),
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %".replace(".", ",")


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds / 60:.1f} min".replace(".", ",") if seconds >= 60 else f"{seconds:.0f} s"


def page(figures: dict, *, title: str, tz: str) -> str:
    zone = ZoneInfo(tz)
    start = figures["period"]["start"].astimezone(zone)
    end = figures["period"]["end"].astimezone(zone)
    calls, fa, rep = figures["calls"], figures["first_action"], figures["reports"]

    def tile(label: str, value: str, target: str, ok: bool | None) -> str:
        colour = "#16a34a" if ok else "#dc2626" if ok is False else "#6b7280"
        return (f"<div class='tile'><div class='label'>{html.escape(label)}</div>"
                f"<div class='value' style='color:{colour}'>{html.escape(value)}</div>"
                f"<div class='target'>objectif {html.escape(target)}</div></div>")

    def ok(value, target):
        return None if value is None else value >= target

    tiles = "".join([
        tile("Taux de décroché", _pct(calls["pickup_rate"]), "≥ 85 %", ok(calls["pickup_rate"], 0.85)),
        tile("Première action < 1 h", _pct(fa["within_hour_rate"]), "100 %", ok(fa["within_hour_rate"], 1.0)),
        tile("Première action dans le délai cible", _pct(fa["within_target_rate"]), "100 %",
             ok(fa["within_target_rate"], 1.0)),
        tile("Rapports par événement", "—" if rep["per_event"] is None else f"{rep['per_event']:.2f}".replace(".", ","),
             "≥ 1", ok(rep["per_event"], 1.0)),
        tile("Alertes hors PC", str(figures["bypassed"]["total"]), "à suivre", None),
    ])
    ack_rows = "".join(f"<tr><td>{html.escape(g)}</td><td>{v['pages']}</td><td>{_minutes(v['median_s'])}</td>"
                       f"<td>{_minutes(v['max_s'])}</td></tr>" for g, v in figures["ack_by_group"].items())
    depth = figures["escalation_depth"]
    svgs = "".join(f"<figure>{svg}</figure>" for svg in charts(figures).values())
    return f"""<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:'DejaVu Sans','Liberation Sans',Arial,sans-serif;margin:24px;color:#1b1f24;background:#fff}}
h1{{font-size:26px;margin:0 0 4px}} .period{{color:#6b7280;margin-bottom:18px}}
.tiles{{display:flex;gap:14px;flex-wrap:wrap;margin-bottom:18px}} .tile{{border:1px solid #d1d5db;border-radius:10px;
padding:12px 16px;min-width:200px}} .label{{font-size:14px;color:#374151}} .value{{font-size:32px;font-weight:700}}
.target{{font-size:13px;color:#6b7280}} .charts{{display:grid;grid-template-columns:repeat(2,640px);gap:12px}}
figure{{margin:0;border:1px solid #e5e7eb;border-radius:10px}} table{{border-collapse:collapse;margin:12px 0}}
td,th{{border-bottom:1px solid #e5e7eb;padding:6px 12px;text-align:left}}</style></head><body>
<h1>{html.escape(title)}</h1>
<div class="period">Du {start:%d/%m/%Y} au {end:%d/%m/%Y} · {figures['events']} événements · {calls['total']} appels
({calls['missed']} manqués)</div>
<div class="tiles">{tiles}</div>
<div class="charts">{svgs}</div>
<h2>Délai d'acquittement par groupe</h2>
<table><tr><th>Groupe</th><th>Sollicitations prises</th><th>Médiane</th><th>Maximum</th></tr>{ack_rows or
'<tr><td colspan=4>Aucune</td></tr>'}</table>
<p>Profondeur d'escalade : {depth['mean'] if depth['mean'] is not None else '—'} personne(s) sollicitée(s) en moyenne
par sollicitation · {depth['unreached']} sollicitation(s) sans réponse.</p>
<p class="period">Calculé le {datetime.now(zone):%d/%m/%Y à %H:%M} à partir de la main courante.</p>
</body></html>"""
