"""A commune's directory as a spreadsheet saves it: UTF-8 (with or without BOM) or Excel's French
cp1252, `;` or `,` or tab between columns, headers in French with or without accents."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass

from backend.errors import Unprocessable

MAX_BYTES = 1024 * 1024
MAX_ROWS = 2000

# The columns Vigie reads, under the names a commune's file gives them (compared without accents,
# case, spaces, dashes or underscores).
COLUMNS = {
    "last_name": ("nom", "nomdefamille", "lastname"),
    "first_name": ("prenom", "firstname"),
    "employee_number": ("matricule", "numeroagent", "employeenumber"),
    "job_title": ("fonction", "poste", "role", "jobtitle"),
    "mobile": ("mobile", "portable", "telephone", "telephonemobile", "tel", "sms", "phone"),
    "email": ("email", "mail", "courriel", "adresseemail", "adressemail"),
    "groups": ("groupes", "groupe", "groups", "astreintes"),
}
REQUIRED = ("last_name", "first_name")


@dataclass(frozen=True)
class Sheet:
    headers: dict[str, str]  # field -> the column's name as the file spells it
    ignored: list[str]  # columns Vigie does not read
    rows: list[tuple[int, dict[str, str]]]  # (row number as the spreadsheet shows it, field -> text)
    encoding: str
    delimiter: str


def _key(header: str) -> str:
    plain = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    return "".join(c for c in plain if c.isalnum())


FIELD_OF = {alias: field for field, aliases in COLUMNS.items() for alias in aliases}


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 when it is, else the cp1252 Excel writes in France."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        raise Unprocessable("le fichier n'est ni en UTF-8 ni en Windows-1252 : enregistrez-le en « CSV UTF-8 »",
                            code="import_bad_encoding") from None


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (";", ",", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ";"


def read(data: bytes) -> Sheet:
    if len(data) > MAX_BYTES:
        raise Unprocessable(f"le fichier dépasse {MAX_BYTES // 1024} Ko : découpez-le", code="import_too_large")
    text, encoding = decode(data)
    if "\x00" in text:
        raise Unprocessable("ce fichier n'est pas un CSV (enregistrez la feuille au format CSV)",
                            code="import_not_csv")
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if not first:
        raise Unprocessable("le fichier est vide", code="import_empty")
    delimiter = _delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(_bounded(reader))
    except csv.Error as exc:
        raise Unprocessable(f"le fichier CSV est mal formé (ligne {reader.line_num}) : {exc}",
                            code="import_not_csv") from None
    header_index = next(i for i, record in enumerate(records) if any(cell.strip() for cell in record))
    header = [cell.strip() for cell in records[header_index]]
    headers: dict[str, str] = {}
    positions: dict[str, int] = {}
    ignored = []
    for position, name in enumerate(header):
        field = FIELD_OF.get(_key(name))
        if field is None or field in headers:
            if name:
                ignored.append(name)
            continue
        headers[field] = name
        positions[field] = position
    missing = [field for field in REQUIRED if field not in headers]
    if missing:
        names = ", ".join({"last_name": "nom", "first_name": "prénom"}[f] for f in missing)
        raise Unprocessable(f"colonne(s) manquante(s) : {names} (la première ligne porte les noms des colonnes)",
                            code="import_missing_columns", details={"missing": missing, "found": header})
    rows = []
    for index in range(header_index + 1, len(records)):
        record = records[index]
        if not any(cell.strip() for cell in record):
            continue
        values = {field: (record[p].strip() if p < len(record) else "") for field, p in positions.items()}
        rows.append((index + 1, values))
    if len(rows) > MAX_ROWS:
        raise Unprocessable(f"le fichier a plus de {MAX_ROWS} personnes : découpez-le", code="import_too_many_rows")
    return Sheet(headers=headers, ignored=ignored, rows=rows, encoding=encoding, delimiter=delimiter)


def _bounded(reader):
    # A file of a million empty lines is small in bytes: stop reading well past the row bound.
    for count, record in enumerate(reader):
        if count > MAX_ROWS * 2 + 10:
            raise Unprocessable(f"le fichier a plus de {MAX_ROWS} lignes : découpez-le", code="import_too_many_rows")
        yield record
