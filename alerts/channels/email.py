"""Email over SMTP: multipart plain text + HTML, UTF-8, with a Message-ID derived from the delivery."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from alerts.channels.base import ChannelError, Envelope
from wagewatch.config import SmtpSettings


def build_email(envelope: Envelope, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = envelope.message.subject
    msg["From"] = formataddr(("欠薪舆情哨兵", sender))
    msg["To"] = formataddr((envelope.person.name, envelope.channel.to or ""))
    msg["Date"] = formatdate(localtime=False)
    # A stable id lets a mail server or client drop a duplicate should one ever slip through.
    msg["Message-ID"] = f"<{envelope.kind}-{envelope.delivery_id}@wagewatch>"
    msg.set_content(envelope.message.text)
    msg.add_alternative(envelope.message.html, subtype="html")
    return msg


def send_email(envelope: Envelope, smtp: SmtpSettings) -> str:
    if not envelope.channel.to:
        raise ChannelError(f"no email address for {envelope.person.id}", permanent=True)
    msg = build_email(envelope, smtp.sender)
    try:
        if smtp.ssl:
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_seconds,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
        with client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            client.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        raise ChannelError(f"recipient refused: {exc}", permanent=True) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"SMTP {smtp.host}:{smtp.port}: {exc}") from exc
    return msg["Message-ID"]
