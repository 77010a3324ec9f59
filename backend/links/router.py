"""One-tap e-mail links: GET shows what will happen (mail scanners open links), POST does it."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from backend.db import db_now
from backend.deps import SessionDep
from backend.errors import TooManyRequests, VigieError
from backend.events.models import Event
from backend.inbound.models import UsedLink
from backend.links.signing import BadLink, ExpiredLink, LinkClaims, LinkSigner
from backend.pages.models import Page
from backend.people.models import Person
from backend.ratelimit import LINKS_PER_ADDRESS, client_address
from backend.responses import service as response_service
from backend.routing import OneHopRoute
from backend.trace.service import Actor
from notifications.render import severity_label
from notifications.sms_reply import REFUSALS

router = APIRouter(route_class=OneHopRoute, tags=["links"])

LABELS = {"ack": "Je prends", "decline": "Indisponible"}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(status_code=status, content=(
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} — Vigie</title><style>"
        "body{font-family:system-ui,sans-serif;margin:0;padding:24px;background:#111;color:#eee;font-size:18px}"
        "h1{font-size:24px}button{width:100%;min-height:56px;font-size:20px;border:0;border-radius:8px;"
        "background:#1a7f37;color:#fff}button.decline{background:#9a3412}.box{background:#222;padding:16px;"
        "border-radius:8px;margin:16px 0}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"))


def _read(request: Request, token: str, db) -> LinkClaims | HTMLResponse:
    try:
        request.app.state.runtime.rate_limits.take(LINKS_PER_ADDRESS, client_address(request))
    except TooManyRequests as refusal:
        answer = _page("Trop de tentatives", "<p>Réessayez dans quelques minutes, ou appelez le PC.</p>", 429)
        answer.headers["Retry-After"] = str(refusal.retry_after)
        return answer
    signer: LinkSigner = request.app.state.runtime.links
    try:
        return signer.read(token, db_now(db))
    except ExpiredLink:
        return _page("Lien expiré", "<p>Ce lien n'est plus valable. Ouvrez l'application Vigie ou appelez le PC.</p>",
                     410)
    except BadLink:
        return _page("Lien invalide", "<p>Ce lien n'est pas reconnu. Ouvrez l'application Vigie ou appelez le PC."
                     "</p>", 404)


def _resolve(request: Request, token: str, db) -> tuple[LinkClaims, Event, Person] | HTMLResponse:
    claims = _read(request, token, db)
    if isinstance(claims, HTMLResponse):
        return claims
    page = db.get(Page, claims.page_id)
    person = db.get(Person, claims.person_id)
    if page is None or person is None:
        return _page("Lien invalide", "<p>Cette sollicitation n'existe plus.</p>", 404)
    if not person.active:
        return _page("Lien désactivé", "<p>Ce lien n'est plus valable. Appelez le PC.</p>", 410)
    return claims, db.get(Event, page.event_id), person


def _summary(event: Event, person: Person) -> str:
    place = f"<br>{html.escape(event.place)}" if event.place else ""
    return (f'<div class="box"><strong>{html.escape(event.number)} — {severity_label(event.severity)}</strong><br>'
            f"{html.escape(event.title)}{place}</div><p>{html.escape(person.display_name)}</p>")


@router.get("/l/{token}", response_class=HTMLResponse, include_in_schema=False)
def confirm_link(token: str, request: Request, db: SessionDep):
    found = _resolve(request, token, db)
    if isinstance(found, HTMLResponse):
        return found
    claims, event, person = found
    used = db.get(UsedLink, claims.link_id)
    if used is not None:
        return _page("Déjà utilisé", f"{_summary(event, person)}<p>Ce lien a déjà servi le "
                     f"{_when(used.used_at)}. Rien n'a été modifié.</p>", 409)
    css = "decline" if claims.action == "decline" else ""
    return _page(LABELS[claims.action], f'{_summary(event, person)}<form method="post">'
                 f'<button class="{css}" type="submit">{LABELS[claims.action]}</button></form>')


@router.post("/l/{token}", response_class=HTMLResponse, include_in_schema=False)
def use_link(token: str, request: Request, db: SessionDep):
    found = _resolve(request, token, db)
    if isinstance(found, HTMLResponse):
        return found
    claims, event, person = found
    event = db.scalar(select(Event).where(Event.id == event.id).with_for_update(key_share=True))
    if db.get(UsedLink, claims.link_id) is not None:
        return _page("Déjà utilisé", f"{_summary(event, person)}<p>Ce lien a déjà servi. Rien n'a été modifié.</p>",
                     409)
    try:
        with db.begin_nested():
            response_service.record(db_session=db, event=event, kind=claims.action, person_id=person.id,
                                    actor=Actor("person", person.id, person.display_name), via="email",
                                    page_id=claims.page_id, text="", reason="lien e-mail")
            db.add(UsedLink(link_id=claims.link_id, person_id=person.id, page_id=claims.page_id,
                            action=claims.action, used_at=db_now(db)))
            db.flush()
    except VigieError as refusal:
        return _page("Non enregistré", f"{_summary(event, person)}<p>"
                     f"{html.escape(REFUSALS.get(refusal.code, 'Réponse refusée'))}.</p>", 409)
    done = "Vous prenez en charge cet événement." if claims.action == "ack" else "Votre indisponibilité est notée."
    return _page("C'est noté", f"{_summary(event, person)}<p>{done}</p>")


def _when(at: datetime) -> str:
    return at.astimezone(ZoneInfo("Europe/Paris")).strftime("%d/%m à %H:%M")
