"""Every table, imported once so that Alembic and the tests see the whole metadata."""

from backend.attachments.models import Attachment  # noqa: F401
from backend.auth.models import ApiToken, User  # noqa: F401
from backend.calendars.models import CalendarFeed  # noqa: F401
from backend.calls.models import BypassedAlert, Call  # noqa: F401
from backend.cap.models import CapAlert  # noqa: F401
from backend.coverage.models import CoverageException, CoverageSettings  # noqa: F401
from backend.db import Base  # noqa: F401
from backend.directory.models import DirectoryImport  # noqa: F401
from backend.enrolment.models import Enrolment  # noqa: F401
from backend.events.models import Event, EventCounter  # noqa: F401
from backend.groups.models import DistributionList, DistributionMember, GroupMember, OnCallGroup  # noqa: F401
from backend.inbound.models import InboundReceipt, InboundSms, UsedLink  # noqa: F401
from backend.integrations.models import IdempotentRequest, Integration, IntegrationAlarm  # noqa: F401
from backend.orgs.models import Organization  # noqa: F401
from backend.outbox.models import Notification  # noqa: F401
from backend.pages.models import Page  # noqa: F401
from backend.payroll.models import PayrollExport, PayrollPersonSettings, PayrollSettings, PayrollStatement  # noqa: F401
from backend.people.models import ContactMethod, Person  # noqa: F401
from backend.privacy.models import PersonalDataAccess  # noqa: F401
from backend.procedures.models import Procedure, ProcedureReportList, ProcedureStep, ProcedureVersion  # noqa: F401
from backend.reports.models import Report  # noqa: F401
from backend.responses.models import Response  # noqa: F401
from backend.schedule.models import Override, Rotation, SwapRequest  # noqa: F401
from backend.trace.models import GroupTraceEntry, TraceEntry  # noqa: F401
from backend.watch.models import GapReport, WatchTurn  # noqa: F401
from backend.webhooks.models import WebhookDelivery, WebhookSubscription  # noqa: F401
from backend.worker.models import WorkerHeartbeat  # noqa: F401
