"""One agent's statement of the month, as a PDF the manager signs before payroll (reportlab)."""

from __future__ import annotations

import html
import io
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from backend.payroll.items import fr, local

if TYPE_CHECKING:
    from backend.payroll.service import AgentPay, Computation

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
GRID = TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#cccccc")),
                   ("VALIGN", (0, 0), (-1, -1), "TOP"), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3f4f6"))])


def month_label(month: str) -> str:
    year, number = month.split("-")
    return f"{MONTHS[int(number) - 1]} {year}"


def euros(value: Decimal | None) -> str:
    return "" if value is None else f"{fr(value)} €"


def statement_pdf(c: Computation, agent: AgentPay, *, export_id: int, version: int, now: datetime) -> bytes:
    styles = getSampleStyleSheet()
    small = ParagraphStyle("small", parent=styles["BodyText"], fontSize=8.5, leading=10.5)
    right = ParagraphStyle("right", parent=small, alignment=2)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=14 * mm,
                            bottomMargin=14 * mm, author="Vigie", lang="fr",
                            title=f"Relevé d'astreintes {c.month} — {agent.name}")

    def p(text: str, style=small) -> Paragraph:
        return Paragraph(html.escape(text), style)

    def table(rows, widths):
        found = Table(rows, colWidths=widths, repeatRows=1)
        found.setStyle(GRID)
        return found

    mode = "repos compensateur" if agent.intervention_mode == "time_off" else "paiement"
    facts = [("Agent", agent.name), ("Matricule", agent.employee_number or "MANQUANT — à renseigner"),
             ("Régime", " ; ".join(agent.regimes) or "—"), ("Interventions compensées en", mode),
             ("Collectivité", f"{c.organization_name} ({c.collectivite})")]
    flow = [Paragraph(f"Relevé d'astreintes et d'interventions — {month_label(c.month)}", styles["Title"]),
            Paragraph(html.escape(c.organization_name), styles["Heading3"])]
    facts_table = Table([[p(k), p(v)] for k, v in facts], colWidths=[45 * mm, 133 * mm])
    facts_table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#cccccc")),
                                     ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    flow.append(facts_table)

    astreintes = [i for i in agent.items if i.section in ("astreinte", "majoration")]
    flow += [Spacer(1, 4 * mm), Paragraph("Astreintes", styles["Heading2"])]
    if astreintes:
        rows = [[p("Période"), p("Unité"), p("Rubrique"), p("Montant", right)]]
        rows += [[p(f"{local(i.start, c.tz)} → {local(i.end, c.tz)}"), p(_what(i)), p(i.code),
                  p(euros(i.amount), right)] for i in astreintes]
        flow.append(table(rows, [40 * mm, 90 * mm, 24 * mm, 24 * mm]))
    else:
        flow.append(p("Aucune."))

    interventions = [i for i in agent.items if i.section in ("intervention", "repos")]
    flow += [Spacer(1, 4 * mm), Paragraph("Interventions", styles["Heading2"])]
    if interventions:
        rows = [[p("Intervention"), p("Créneau"), p("Rubrique"), p("Quantité", right), p("Taux", right),
                 p("Montant", right)]]
        rows += [[p(i.reference), p(i.detail), p(i.code), p(f"{fr(i.quantity)} h", right), p(euros(i.rate), right),
                  p(euros(i.amount) or "repos", right)] for i in interventions]
        flow.append(table(rows, [52 * mm, 52 * mm, 20 * mm, 18 * mm, 18 * mm, 18 * mm]))
    else:
        flow.append(p("Aucune."))

    totals = [("Astreintes", euros(agent.total("astreinte"))),
              ("Majorations de prévenance", euros(agent.total("majoration"))),
              ("Interventions payées", euros(agent.total("intervention"))), ("Total à payer", euros(agent.total()))]
    if agent.time_off_hours():
        totals.append(("Repos compensateur acquis", f"{fr(agent.time_off_hours())} h"))
    flow += [Spacer(1, 4 * mm), Paragraph("Totaux", styles["Heading2"])]
    totals_table = Table([[p(k), p(v, right)] for k, v in totals], colWidths=[60 * mm, 40 * mm])
    totals_table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#cccccc")),
                                      ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold")]))
    flow.append(totals_table)

    flow += [Spacer(1, 4 * mm), Paragraph("Points à vérifier", styles["Heading2"])]
    warnings = c.warnings + agent.warnings
    flow += [p(f"• {w}") for w in warnings] if warnings else [p("Aucun.")]

    flow += [Spacer(1, 8 * mm), Paragraph("Validation", styles["Heading2"])]
    signatures = Table([[p("Visa du responsable hiérarchique"), p("Visa de l'agent")],
                        [p("Nom, date et signature :"), p("Date et signature :")]],
                       colWidths=[89 * mm, 89 * mm], rowHeights=[None, 24 * mm])
    signatures.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#999999")),
                                    ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    flow.append(signatures)
    produced = now.astimezone(ZoneInfo(c.tz)).strftime("%d/%m/%Y à %H:%M")
    flow += [Spacer(1, 6 * mm), p(f"Export n° {export_id}, version {version}, établi le {produced} par Vigie à partir "
                                  "du planning d'astreinte et de la main courante. Montants selon les barèmes "
                                  "réglementaires en vigueur, à valider avant transmission à la paie.")]
    doc.build(flow)
    return buffer.getvalue()


def _what(item) -> str:
    if item.section == "majoration":
        return f"{item.label} ({item.detail})"
    return item.detail or item.label
