"""A directory import over HTTP: the preview of a file, the import applied, the imports made."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ImportRowOut(BaseModel):
    row: int = Field(description="the row as the spreadsheet numbers it (the header is row 1)")
    action: str = Field(description="create | update | unchanged")
    person_id: int | None = Field(description="the person matched (by matricule, else e-mail, else mobile)")
    display_name: str
    employee_number: str | None
    job_title: str | None
    mobile: str | None = Field(description="E.164")
    email: str | None
    groups: list[str]
    changes: list[str] = Field(description="what an update changes: fields, mobile, email, groups")


class ImportErrorOut(BaseModel):
    row: int
    column: str = Field(description="the column's name as the file gives it")
    message: str = Field(description="in French, for the commune")


class ImportPreviewOut(BaseModel):
    organization_id: int
    encoding: str = Field(description="utf-8 or cp1252")
    delimiter: str
    columns: dict[str, str] = Field(description="field read -> the file's column")
    ignored_columns: list[str]
    rows: int
    created: int
    updated: int
    unchanged: int
    items: list[ImportRowOut]
    errors: list[ImportErrorOut] = Field(description="any error: the import would write nothing")


class ImportOut(BaseModel):
    id: int
    organization_id: int
    at: datetime
    user: str
    filename: str
    rows: int
    created: int
    updated: int
    unchanged: int


class ImportedPersonOut(BaseModel):
    person_id: int
    display_name: str
    action: str = Field(description="create | change")
    what: str


class ImportDetailOut(ImportOut):
    people: list[ImportedPersonOut]
