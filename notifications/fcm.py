"""Firebase Cloud Messaging (HTTP v1, through firebase-admin's async API) to a native app.

The address of an FCM message is the app's registration token (`FirebaseMessaging.getToken()`).
The message is a data message (the app builds the notification itself, as the service worker
does for Web Push) mirroring the Web Push document, every value a string:
`title`, `body`, `notification_id`, `urgent` ("true"/"false") and `data` (the message data, as JSON).
FCM answering 200 only means it accepted the message: the result is SENT, not DELIVERED.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading

import firebase_admin
import google.auth.exceptions
import google.auth.transport.requests
from firebase_admin import credentials, exceptions, messaging

from escalation.severity import severity as severity_table
from notifications.base import ChannelKind, OutboundMessage, SendResult
from notifications.webpush import push_document, push_policy, retry_after_seconds, severity_of

log = logging.getLogger("vigie.fcm")

# FCM refuses data payloads over 4096 bytes; keep a margin for the keys and JSON quoting.
MAX_DATA_BYTES = 3800


def _as_strings(doc: dict) -> dict[str, str]:
    return {"title": str(doc["title"]), "body": str(doc["body"]), "notification_id": str(doc["notification_id"]),
            "urgent": "true" if doc["urgent"] else "false",
            "data": json.dumps(doc["data"], ensure_ascii=False, separators=(",", ":"), default=str)}


def _response_json(exc: exceptions.FirebaseError) -> dict:
    response = exc.http_response
    if response is None:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _invalid_token(exc: exceptions.InvalidArgumentError) -> bool:
    """INVALID_ARGUMENT names the token (FCM: a BadRequest field violation on message.token), not our message."""
    error = _response_json(exc).get("error") or {}
    for detail in error.get("details") or []:
        for violation in detail.get("fieldViolations") or []:
            if "token" in str(violation.get("field", "")).lower():
                return True
    return "registration token" in str(exc).lower()


def _retry_after(exc: exceptions.FirebaseError) -> float | None:
    response = exc.http_response
    return retry_after_seconds(response.headers.get("Retry-After")) if response is not None else None


def result_from_error(exc: Exception) -> SendResult:
    detail = f"{type(exc).__name__}: {exc}"[:300]
    if isinstance(exc, (messaging.UnregisteredError, messaging.SenderIdMismatchError)):
        return SendResult.failed(detail, gone=True)
    if isinstance(exc, exceptions.InvalidArgumentError):
        return SendResult.failed(detail, gone=_invalid_token(exc))
    if isinstance(exc, (exceptions.ResourceExhaustedError,  # includes QuotaExceededError
                        exceptions.UnavailableError, exceptions.InternalError, exceptions.DeadlineExceededError)):
        return SendResult.retry(detail, retry_after=_retry_after(exc))
    if isinstance(exc, exceptions.UnknownError):
        # No response at all (a transport failure) or an unmapped 5xx: transient.
        status = exc.http_response.status_code if exc.http_response is not None else None
        if status is None or status == 429 or status >= 500:
            return SendResult.retry(detail, retry_after=_retry_after(exc))
    return SendResult.failed(detail)


class FcmChannel:
    kind = ChannelKind.FCM

    def __init__(self, app: firebase_admin.App) -> None:
        self.app = app
        self._refresh_lock = threading.Lock()

    @classmethod
    def from_service_account(cls, path: str, name: str = "vigie", http_timeout_s: float = 10.0) -> FcmChannel:
        """A channel on a firebase_admin app built from a service-account JSON file.

        The app is registered under `name`; an app of that name made from the same service account
        (another Runtime in the same process) is reused, one made from another account is an error.
        """
        cred = credentials.Certificate(path)
        try:
            app = firebase_admin.get_app(name)
        except ValueError:
            app = firebase_admin.initialize_app(cred, options={"httpTimeout": http_timeout_s}, name=name)
        else:
            same = (isinstance(app.credential, credentials.Certificate)
                    and app.credential.service_account_email == cred.service_account_email
                    and app.project_id == cred.project_id)
            if not same:
                raise ValueError(f"a firebase app named {name!r} already exists with other credentials")
        return cls(app)

    async def aclose(self) -> None:
        """Delete the firebase app (in a thread: delete_app runs its own event loop)."""
        await asyncio.to_thread(firebase_admin.delete_app, self.app)

    def message(self, message: OutboundMessage) -> messaging.Message:
        severity = severity_of(message)
        _, ttl = push_policy(severity)
        fcm_message = messaging.Message(
            data=_as_strings(push_document(message, MAX_DATA_BYTES)),
            android=messaging.AndroidConfig(priority="high" if severity_table(severity).urgent else "normal", ttl=ttl),
        )
        # A registration token goes in `token` (firebase-admin 7.5+ deprecates the constructor
        # argument in favour of `fid`, an installation ID: another identifier, which our apps do
        # not register). Set as an attribute, it is encoded the same without the warning.
        fcm_message.token = message.address.strip()
        return fcm_message

    def _refresh_token(self, credential) -> None:
        with self._refresh_lock:  # concurrent sends: one refresh, the others find the token valid
            if not credential.valid:
                credential.refresh(google.auth.transport.requests.Request())

    async def send(self, message: OutboundMessage) -> SendResult:
        if not message.address.strip():
            return SendResult.failed("empty FCM registration token", gone=True)
        try:
            fcm_message = self.message(message)
        except ValueError as exc:
            return SendResult.failed(f"invalid FCM message: {exc}")
        # firebase-admin's async client refreshes an expired OAuth token inside its httpx auth flow
        # with a blocking `requests` call, on the event loop. Refresh it in a thread beforehand.
        credential = self.app.credential.get_credential()
        if not credential.valid:
            try:
                await asyncio.to_thread(self._refresh_token, credential)
            except google.auth.exceptions.RefreshError as exc:
                if getattr(exc, "retryable", False):
                    return SendResult.retry(f"FCM credentials: {exc}"[:300])
                return SendResult.failed(f"FCM credentials refused: {exc}"[:300])
            except google.auth.exceptions.TransportError as exc:
                return SendResult.retry(f"FCM token endpoint unreachable: {exc}"[:300])
        try:
            batch = await messaging.send_each_async([fcm_message], app=self.app)
        except ValueError as exc:
            return SendResult.failed(f"invalid FCM message: {exc}"[:300])
        except exceptions.FirebaseError as exc:
            return result_from_error(exc)
        response = batch.responses[0]
        if response.success:
            return SendResult.sent("accepted by FCM", provider_ref=response.message_id)
        return result_from_error(response.exception)
