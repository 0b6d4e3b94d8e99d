"""Email over SMTP: multipart plain text + HTML, UTF-8, with a Message-ID derived from the delivery."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from wagewatch.alerts.channels.base import ChannelError, Envelope
from wagewatch.core.config import SmtpSettings

SENDER_NAME = "欠薪舆情哨兵"


def new_email(sender: str, to_name: str, to_address: str, subject: str, message_id: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = formataddr((SENDER_NAME, sender))
    msg["To"] = formataddr((to_name, to_address))
    msg["Date"] = formatdate(localtime=False)
    # A stable id lets a mail server or client drop a duplicate should one ever slip through.
    msg["Message-ID"] = message_id
    return msg


def build_email(envelope: Envelope, sender: str) -> EmailMessage:
    msg = new_email(
        sender,
        envelope.person.name,
        envelope.channel.to or "",
        envelope.message.subject,
        f"<{envelope.kind}-{envelope.delivery_id}@wagewatch>",
    )
    msg.set_content(envelope.message.text)
    msg.add_alternative(envelope.message.html, subtype="html")
    return msg


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    if not smtp.host:  # nothing can have been sent: a plain failure, not an ambiguous one
        raise smtplib.SMTPException("no SMTP server configured (settings.yaml: smtp.host)")
    client: smtplib.SMTP
    if smtp.ssl:
        client = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=smtp.timeout_seconds, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
    if smtp.starttls:
        client.starttls(context=ssl.create_default_context())
    if smtp.username:
        client.login(smtp.username, smtp.password or "")
    return client


def smtp_send(msg: EmailMessage, smtp: SmtpSettings) -> str:
    """Hand one message to the SMTP server and return its Message-ID; raises ChannelError."""
    try:
        client = _connect(smtp)
    except (smtplib.SMTPException, OSError) as exc:  # nothing was sent yet
        raise ChannelError(f"SMTP {smtp.host}:{smtp.port}: {exc}") from exc
    try:
        with client:
            client.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        raise ChannelError(f"recipient refused: {exc}", permanent=True) from exc
    except smtplib.SMTPResponseException as exc:  # the server answered "no": the message was not taken
        raise ChannelError(
            f"SMTP {smtp.host}:{smtp.port}: {exc.smtp_code} {exc.smtp_error!r}", permanent=exc.smtp_code >= 500
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(
            f"SMTP {smtp.host}:{smtp.port}: connection lost while sending: {exc}", ambiguous=True
        ) from exc
    return msg["Message-ID"]


def send_email(envelope: Envelope, smtp: SmtpSettings) -> str:
    if not envelope.channel.to:
        raise ChannelError(f"no email address for {envelope.person.id}", permanent=True)
    return smtp_send(build_email(envelope, smtp.sender), smtp)
