from __future__ import annotations

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel

from backend.attachments import service
from backend.attachments.models import Attachment
from backend.db import db_now
from backend.deps import CurrentPrincipal, SessionDep, SettingsDep
from backend.errors import Forbidden, NotFound
from backend.events.dependencies import actor_of, visible_event
from backend.orgs.schemas import Id
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["attachments"])


class AttachmentOut(BaseModel):
    id: int
    event_id: int
    content_type: str
    size: int
    sha256: str
    url: str


def _out(a: Attachment) -> AttachmentOut:
    return AttachmentOut(id=a.id, event_id=a.event_id, content_type=a.content_type, size=a.size, sha256=a.sha256,
                         url=f"/api/v1/attachments/{a.id}")


@router.post("/events/{event_id}/photos", status_code=201, response_model=AttachmentOut)
def add_photo(event_id: Id, db: SessionDep, principal: CurrentPrincipal, settings: SettingsDep,
              photo: UploadFile = File(...), caption: str = Form("", max_length=500)):
    if principal.role == "referent":
        raise Forbidden("a referent follows events but does not report from the field", code="role_forbidden")
    event = visible_event(db, principal, event_id, lock=True)
    data = photo.file.read(service.MAX_BYTES + 1)
    attachment = service.store_photo(db_session=db, event=event, data=data, caption=caption,
                                     actor=actor_of(principal), person_id=principal.person_id,
                                     user_id=principal.user.id, root=settings.var_dir, now=db_now(db))
    return _out(attachment)


@router.get("/attachments/{attachment_id}")
def read_attachment(attachment_id: Id, db: SessionDep, principal: CurrentPrincipal, settings: SettingsDep):
    attachment = db.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("attachment")
    visible_event(db, principal, attachment.event_id)
    return FileResponse(settings.var_dir / attachment.path, media_type=attachment.content_type)
