"""Reminder channels behind one small interface: SMS over an HTTP gateway, SMTP, the outbox.

A channel sends one message and says how it went by raising one of three errors:
`TransientError` (nothing harmful can come of trying again: the request never arrived, or
the provider refuses repeats of the idempotency key), `PermanentError` (trying again will
not help: an invalid number), `UncertainError` (it may have been delivered; never retried
blindly). `confirm()` asks the provider whether a key was delivered, when it can tell.

A new channel (Zalo ZNS, say) is one class and one `register_channel("zalo", factory)`.
"""

from __future__ import annotations

import http.client
import json
import re
import smtplib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from enum import Enum
from typing import Protocol
from urllib.parse import quote, urlsplit

from sqlalchemy import insert, select

from ..extensions import db
from ..models import OutboxMessage


@dataclass(frozen=True)
class Message:
    """One reminder ready to go: ids, recipient, text and the idempotency key."""

    group_id: int
    reminder_id: int
    recipient: str
    text: str
    idempotency_key: str
    locale: str = "vi"


class ChannelError(Exception):
    """Base: `reason` is a short code kept in `last_error` (never a number or the text)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:120]


class TransientError(ChannelError):
    """Safe to try again later."""


class PermanentError(ChannelError):
    """Trying again will not help."""


class UncertainError(ChannelError):
    """The message may have been delivered."""


class Confirmation(Enum):
    SENT = "sent"
    NOT_SENT = "not_sent"
    UNKNOWN = "unknown"


class Channel(Protocol):
    """What the send task needs of a channel."""

    name: str

    def send(self, message: Message) -> str:
        """Deliver; return the provider's message id, or raise a ChannelError."""
        ...

    def confirm(self, group_id: int, reminder_id: int, idempotency_key: str
                ) -> tuple[Confirmation, str | None]:
        """Whether this key was delivered (and its message id), if the provider can tell."""
        ...


# --- outbox -------------------------------------------------------------------------------


class OutboxChannel:
    """Stores the text for a coordinator to read: in the send task's own transaction, so it
    is exactly-once (one row per reminder, enforced by a unique constraint)."""

    name = "outbox"
    #: Writes in the send task's own transaction (see worker.tasks.reminders.deliver).
    transactional = True

    def send(self, message: Message) -> str:
        # No look-up first: the send task's compare-and-set already makes this the only
        # send of the reminder, and UNIQUE (group_id, reminder_id) backs that up.
        row = OutboxMessage(group_id=message.group_id, reminder_id=message.reminder_id,
                            recipient=message.recipient, body=message.text)
        db.session.add(row)
        db.session.flush()
        return f"outbox:{row.id}"

    def send_many(self, messages: list[Message]) -> dict[int, str]:
        """Store a batch of messages in one statement; their message ids by reminder id."""
        if not messages:
            return {}
        rows = db.session.execute(
            # Any order: each row comes back with its reminder's id.
            insert(OutboxMessage).returning(OutboxMessage.id, OutboxMessage.reminder_id),
            [{"group_id": m.group_id, "reminder_id": m.reminder_id, "recipient": m.recipient,
              "body": m.text} for m in messages],
        ).all()
        return {reminder_id: f"outbox:{outbox_id}" for outbox_id, reminder_id in rows}

    def confirm(self, group_id: int, reminder_id: int, idempotency_key: str
                ) -> tuple[Confirmation, str | None]:
        existing = db.session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.reminder_id == reminder_id)
        )
        if existing is None:
            return Confirmation.NOT_SENT, None
        return Confirmation.SENT, f"outbox:{existing}"


# --- SMS over an HTTP gateway -------------------------------------------------------------

_local = threading.local()
_CODE_RE = re.compile(r"^[a-z0-9_.-]{1,40}$")


class SmsGatewayChannel:
    """POST {"to", "text", "idempotency_key"} as JSON to the gateway, with the key also in an
    `Idempotency-Key` header; the gateway must refuse to send a key twice (409 or the first
    answer again). That is what makes a retry after a timeout safe."""

    name = "sms"

    def __init__(self, url: str, token: str | None, timeout: float, confirms: bool) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("REMINDER_SMS_GATEWAY_URL must be an http(s) URL")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.path = parts.path or "/"
        self.token = token
        self.timeout = timeout
        self.confirms = confirms

    def _connection(self) -> http.client.HTTPConnection:
        # One keep-alive connection per thread and gateway: a new TCP (and TLS) handshake
        # per reminder would cost more than the request.
        key = (self.scheme, self.host, self.port)
        pool = getattr(_local, "connections", None)
        if pool is None:
            pool = _local.connections = {}
        conn = pool.get(key)
        if conn is None:
            cls = (http.client.HTTPSConnection if self.scheme == "https"
                   else http.client.HTTPConnection)
            conn = pool[key] = cls(self.host, self.port, timeout=self.timeout)
        return conn

    def _drop(self) -> None:
        pool = getattr(_local, "connections", {})
        conn = pool.pop((self.scheme, self.host, self.port), None)
        if conn is not None:
            conn.close()

    def _request(self, method: str, path: str, body: bytes | None, headers: dict
                 ) -> tuple[int, dict]:
        for fresh in (False, True):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                raw = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError) as exc:
                self._drop()
                # A kept-alive connection the server had closed: the request never left.
                # Once, on a fresh connection; a second failure is a real one.
                if not fresh:
                    continue
                raise TransientError("connection_lost") from exc
            except TimeoutError as exc:
                self._drop()
                raise TransientError("timeout") from exc
            except OSError as exc:
                self._drop()
                raise TransientError("connection_error") from exc
            if response.getheader("Connection", "").lower() == "close":
                self._drop()
            try:
                data = json.loads(raw) if raw else {}
            except ValueError:
                data = {}
            return response.status, data if isinstance(data, dict) else {}
        raise TransientError("connection_lost")  # pragma: no cover - the loop returns

    def _headers(self, key: str) -> dict:
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "Idempotency-Key": key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def send(self, message: Message) -> str:
        body = json.dumps({"to": message.recipient, "text": message.text,
                           "idempotency_key": message.idempotency_key}).encode()
        status, data = self._request("POST", self.path, body,
                                     self._headers(message.idempotency_key))
        message_id = str(data.get("id") or data.get("message_id") or "")[:120]
        if 200 <= status < 300 or status == 409:
            # 409: the gateway already has this key, i.e. it was sent before.
            return message_id or f"sms:{message.idempotency_key}"
        if status == 429 or status >= 500 or status == 408:
            raise TransientError(f"http_{status}")
        # Provider texts may echo the number: keep only a short code of our alphabet.
        code = str(data.get("error") or data.get("code") or "")
        suffix = f":{code}" if _CODE_RE.match(code) else ""
        raise PermanentError(f"http_{status}{suffix}")

    def confirm(self, group_id: int, reminder_id: int, idempotency_key: str
                ) -> tuple[Confirmation, str | None]:
        if not self.confirms:
            return Confirmation.UNKNOWN, None
        path = self.path.rstrip("/") + "/" + quote(idempotency_key, safe="")
        try:
            status, data = self._request("GET", path, None, self._headers(idempotency_key))
        except TransientError:
            return Confirmation.UNKNOWN, None
        if status == 200:
            return Confirmation.SENT, str(data.get("id") or f"sms:{idempotency_key}")[:120]
        if status == 404:
            return Confirmation.NOT_SENT, None
        return Confirmation.UNKNOWN, None


# --- e-mail over SMTP ---------------------------------------------------------------------

SUBJECTS = {"vi": "Lời nhắc", "en": "Reminder"}


class SmtpChannel:
    """Plain SMTP. E-mail cannot confirm delivery, so a failure after the message data may
    have gone out is uncertain; a refusal the server states (4xx, 5xx) is not."""

    name = "email"

    def __init__(self, cfg: Mapping) -> None:
        self.host = cfg["REMINDER_SMTP_HOST"]
        self.port = int(cfg.get("REMINDER_SMTP_PORT") or 25)
        self.user = cfg.get("REMINDER_SMTP_USER")
        self.password = cfg.get("REMINDER_SMTP_PASSWORD")
        self.starttls = bool(cfg.get("REMINDER_SMTP_STARTTLS"))
        self.sender = cfg.get("REMINDER_EMAIL_FROM") or "no-reply@localhost"
        self.timeout = float(cfg.get("REMINDER_CHANNEL_TIMEOUT") or 10)

    def send(self, message: Message) -> str:
        domain = self.sender.rsplit("@", 1)[-1] or "localhost"
        message_id = f"<{message.idempotency_key.replace(':', '.')}@{domain}>"
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Subject"] = SUBJECTS.get(message.locale, SUBJECTS["vi"])
        # A stable Message-ID: mail systems drop a second copy with the same id.
        email["Message-ID"] = message_id
        email.set_content(message.text)
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientError("smtp_connect") from exc
        try:
            try:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls()
                    smtp.ehlo()
                if self.user:
                    smtp.login(self.user, self.password or "")
            except smtplib.SMTPAuthenticationError as exc:
                raise PermanentError("smtp_auth") from exc
            except (OSError, smtplib.SMTPException) as exc:
                raise TransientError("smtp_session") from exc
            try:
                refused = smtp.send_message(email)
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                if codes and all(400 <= c < 500 for c in codes):
                    raise TransientError(f"smtp_{codes[0]}") from exc
                raise PermanentError(f"smtp_{codes[0] if codes else 550}") from exc
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                # The server answered with a refusal: nothing was accepted.
                if 400 <= exc.smtp_code < 500:
                    raise TransientError(f"smtp_{exc.smtp_code}") from exc
                raise PermanentError(f"smtp_{exc.smtp_code}") from exc
            except (OSError, smtplib.SMTPException) as exc:
                # Cut off mid-conversation: the server may have accepted the message.
                raise UncertainError("smtp_interrupted") from exc
            if refused:
                raise PermanentError("smtp_refused")
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return message_id

    def confirm(self, group_id: int, reminder_id: int, idempotency_key: str
                ) -> tuple[Confirmation, str | None]:
        return Confirmation.UNKNOWN, None


# --- registry -----------------------------------------------------------------------------

#: name -> factory(config) returning a channel, or None when that channel is not configured.
_FACTORIES: dict[str, Callable[[Mapping], Channel | None]] = {}


def register_channel(name: str, factory: Callable[[Mapping], Channel | None]) -> None:
    """Add a channel (e.g. "zalo" for Zalo ZNS); reminders whose channel is `name` use it."""
    _FACTORIES[name] = factory


def _sms(cfg: Mapping) -> Channel | None:
    url = cfg.get("REMINDER_SMS_GATEWAY_URL")
    if not url:
        return None
    return SmsGatewayChannel(url, cfg.get("REMINDER_SMS_GATEWAY_TOKEN"),
                             float(cfg.get("REMINDER_CHANNEL_TIMEOUT") or 10),
                             bool(cfg.get("REMINDER_SMS_GATEWAY_CONFIRMS", True)))


def _email(cfg: Mapping) -> Channel | None:
    return SmtpChannel(cfg) if cfg.get("REMINDER_SMTP_HOST") else None


register_channel("sms", _sms)
register_channel("email", _email)
register_channel("outbox", lambda cfg: OutboxChannel())


def channel_for(name: str, cfg: Mapping) -> Channel:
    """The channel that delivers reminders of `name`; the outbox when it is not configured."""
    factory = _FACTORIES.get(name)
    channel = factory(cfg) if factory else None
    return channel or OutboxChannel()
