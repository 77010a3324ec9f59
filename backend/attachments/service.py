"""Photos from the field: checked, stored under var_dir by their hash, and written into the trace."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from backend.attachments.models import Attachment
from backend.errors import NotFound, Unprocessable
from backend.events.models import Event
from backend.people.models import Person
from backend.responses import relay
from backend.responses import service as response_service
from backend.trace import service as trace_service
from backend.trace.kinds import TraceKind
from backend.trace.service import Actor

MAX_BYTES = 8 * 1024 * 1024
# Magic numbers, not the client's word: only real images are kept.
SIGNATURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"RIFF": "image/webp"}
SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


def sniff(data: bytes) -> str | None:
    for magic, kind in SIGNATURES.items():
        if data.startswith(magic) and (kind != "image/webp" or data[8:12] == b"WEBP"):
            return kind
    return None


def store_photo(*, db_session: Session, event: Event, data: bytes, caption: str, actor: Actor,
                person_id: int | None, user_id: int | None, root: Path, now: datetime) -> Attachment:
    if person_id is not None:
        person = db_session.get(Person, person_id)
        if person is None:
            raise NotFound("person")
        response_service.ensure_may_answer(db_session=db_session, event=event, person=person)
    if not data:
        raise Unprocessable("the photo is empty", code="empty_file")
    if len(data) > MAX_BYTES:
        raise Unprocessable(f"a photo is at most {MAX_BYTES // (1024 * 1024)} MB", code="file_too_large")
    kind = sniff(data)
    if kind is None:
        raise Unprocessable("only JPEG, PNG or WebP photos are accepted", code="unsupported_file")
    digest = hashlib.sha256(data).hexdigest()
    relative = Path("photos") / digest[:2] / f"{digest}{SUFFIX[kind]}"
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    attachment = Attachment(event_id=event.id, organization_id=event.organization_id, person_id=person_id,
                            user_id=user_id, content_type=kind, size=len(data), sha256=digest,
                            path=str(relative), created_at=now)
    db_session.add(attachment)
    db_session.flush()
    trace_service.append(db_session=db_session, event=event, kind=TraceKind.RESPONSE_PHOTO, actor=actor, at=now, data={
        "attachment_id": attachment.id, "sha256": digest, "size": len(data), "content_type": kind,
        "caption": caption, "person_id": person_id})
    relay.relay(db_session=db_session, event=event, kind="photo", author_id=person_id, text=caption, now=now,
                attachment_id=attachment.id)
    return attachment
