"""The month's payroll items as payroll reads them: CSV (French Excel: `;`, a BOM, decimal commas), XLSX, JSON."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from backend.payroll.items import fr

if TYPE_CHECKING:
    from backend.payroll.service import Computation

# Who, then what. The name follows the matricule so that a row without one can still be attributed.
COLUMNS = ("période", "collectivité", "matricule", "nom", "prénom", "code_rubrique", "libellé", "quantité", "taux",
           "montant", "référence")
NUMBERS = tuple(COLUMNS.index(name) for name in ("quantité", "taux", "montant"))
MONEY = "#,##0.00"


def rows(c: Computation) -> list[tuple]:
    """One row per item, agents in name order, items in time order (Decimals kept)."""
    return [(c.month, c.collectivite, agent.employee_number or "", agent.last_name, agent.first_name, item.code,
             item.label, item.quantity, item.rate, item.amount, item.reference)
            for agent in c.agents for item in agent.items]


def to_csv(c: Computation) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows(c):
        writer.writerow([fr(value) if index in NUMBERS else value for index, value in enumerate(row)])
    return "\ufeff" + buffer.getvalue()


def to_xlsx(c: Computation, *, version: int, now: datetime) -> bytes:
    """Three sheets: the items (as in the CSV, numbers as numbers), a summary per agent, the warnings."""
    book = Workbook()
    items = book.active
    items.title = "Éléments variables"
    _add(items, list(COLUMNS))
    for row in rows(c):
        _add(items, list(row))
        for name in ("taux", "montant"):
            items.cell(items.max_row, COLUMNS.index(name) + 1).number_format = MONEY
    summary = book.create_sheet("Synthèse")
    _add(summary, ["matricule", "agent", "régime", "astreintes", "majorations", "interventions", "total",
                    "repos compensateur (h)", "alertes"])
    for agent in c.agents:
        _add(summary, [agent.employee_number or "", agent.name, " ; ".join(agent.regimes), agent.total("astreinte"),
                        agent.total("majoration"), agent.total("intervention"), agent.total(),
                        agent.time_off_hours(), len(agent.warnings)])
        for column in (4, 5, 6, 7):
            summary.cell(summary.max_row, column).number_format = MONEY
    _add(summary, ["", "Total", "", *(_sum(a.total(s) for a in c.agents) for s in ("astreinte", "majoration",
                                                                                     "intervention")),
                    total(c), _sum(a.time_off_hours() for a in c.agents),
                    sum(len(a.warnings) for a in c.agents) + len(c.warnings)])
    for column in range(1, 10):
        summary.cell(summary.max_row, column).font = Font(bold=True)
    for column in (4, 5, 6, 7):
        summary.cell(summary.max_row, column).number_format = MONEY
    _add(summary, [])
    _add(summary, ["", f"{c.organization_name} — {c.month} — version {version}, produite le "
                        f"{now.strftime('%d/%m/%Y %H:%M')} UTC"])
    alerts = book.create_sheet("Alertes")
    _add(alerts, ["matricule", "agent", "alerte"])
    for message in c.warnings:
        _add(alerts, ["", "", message])
    for agent in c.agents:
        for message in agent.warnings:
            _add(alerts, [agent.employee_number or "", agent.name, message])
    for person in c.excluded:
        _add(alerts, ["", person["person"], f"Non payé : {person['reason']}."])
    for sheet, widths in ((items, (9, 12, 12, 18, 16, 14, 50, 10, 10, 10, 90)), (summary, (12, 24, 60, 12, 12, 14, 12, 14, 8)),
                          (alerts, (12, 24, 120))):
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    book.properties.title = _printable(f"Éléments variables de paie {c.month} — {c.organization_name}")
    book.properties.creator = "Vigie"
    book.properties.created = now.replace(tzinfo=None)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _add(sheet, values: list) -> None:
    sheet.append([_printable(value) if isinstance(value, str) else value for value in values])


def _printable(text: str) -> str:
    # A name typed with a control character (pasted from another tool) would make every export of
    # the commune fail: XLSX cannot hold them.
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def total(c: Computation) -> Decimal:
    return _sum(a.total() for a in c.agents)


def _sum(values) -> Decimal:
    return sum(values, Decimal("0.00"))


def summary(c: Computation) -> dict:
    """What the API shows of an export (amounts as strings, like the CSV but with decimal points)."""
    return {
        "month": c.month, "collectivite": c.collectivite, "complete": c.complete,
        "totals": {"amount": str(total(c)), "lines": len(rows(c)), "agents": len(c.agents),
                   "time_off_hours": str(_sum(a.time_off_hours() for a in c.agents))},
        "agents": [{
            "person_id": a.person_id, "person": a.name, "employee_number": a.employee_number,
            "regimes": a.regimes, "intervention_mode": a.intervention_mode,
            "astreinte_amount": str(a.total("astreinte")), "majoration_amount": str(a.total("majoration")),
            "intervention_amount": str(a.total("intervention")), "total_amount": str(a.total()),
            "time_off_hours": str(a.time_off_hours()), "lines": len(a.items), "warnings": a.warnings,
        } for a in c.agents],
        "warnings": [{"person_id": None, "person": None, "message": m} for m in c.warnings]
        + [{"person_id": a.person_id, "person": a.name, "message": m} for a in c.agents for m in a.warnings],
        "excluded": c.excluded,
        "settings": c.settings,
    }

