"""Who hears of a swap: the colleague when it is offered, the cadre on call once it is agreed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.groups.models import OnCallGroup
from backend.orgs.models import Organization
from backend.outbox import service as outbox_service
from backend.people.models import Person
from backend.schedule import service as schedule_service
from backend.schedule.models import SwapRequest, SwapStatus
from notifications import notice as notices


def tell(*, db_session: Session, swap: SwapRequest, who: str, now: datetime) -> None:
    organization = db_session.get(Organization, swap.organization_id)
    group = db_session.get(OnCallGroup, swap.group_id)
    zone = ZoneInfo(organization.timezone or "Europe/Paris")
    mine, theirs = schedule_service.swap_turns(db_session, group, swap)
    mine_local = (mine.turn.start.astimezone(zone), mine.turn.end.astimezone(zone))
    theirs_local = (theirs.turn.start.astimezone(zone), theirs.turn.end.astimezone(zone)) if theirs else None
    names = schedule_service.names_of(db_session, [swap.requester_id, swap.counterpart_id])
    if who == "counterpart":
        target_id = swap.counterpart_id
        notice = notices.swap_request(org_code=organization.code, group=group.name,
                                      requester=names[swap.requester_id], mine=mine_local, theirs=theirs_local,
                                      swap_id=swap.id)
    else:
        cadre = schedule_service.cadre_on_call(db_session=db_session, organization_id=organization.id, at=now)
        target_id = cadre.id if cadre else None
        notice = notices.swap_info(org_code=organization.code, group=group.name, requester=names[swap.requester_id],
                                   counterpart=names[swap.counterpart_id], mine=mine_local, theirs=theirs_local,
                                   needs_approval=swap.status == SwapStatus.AWAITING_APPROVAL, swap_id=swap.id)
    if target_id is None:
        return
    target = db_session.scalar(select(Person).options(selectinload(Person.contact_methods))
                               .where(Person.id == target_id))
    outbox_service.enqueue_notice(db_session=db_session, organization_id=organization.id, person=target,
                                  notice=notice, now=now)
