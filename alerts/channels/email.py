"""Email over SMTP: multipart plain text + HTML, UTF-8, with a Message-ID derived from the delivery."""

from __future__ import annotations

import mimetypes
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr

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
    for path in envelope.attachments:
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
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
    try:
        client.ehlo_or_helo_if_needed()
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
    except BaseException:
        client.close()
        raise
    return client


def _wire(msg: EmailMessage) -> bytes:
    """The message as DATA carries it: CRLF line ends, leading dots doubled, ended by CRLF . CRLF."""
    data = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _refused(smtp: SmtpSettings, stage: str, code: int, reply: bytes | str) -> ChannelError:
    """The server answered no before taking the message: 5xx is final, 4xx worth a retry."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return ChannelError(f"SMTP {smtp.host}:{smtp.port}: {stage} refused: {code} {text!r}", permanent=code >= 500)


def smtp_send(msg: EmailMessage, smtp: SmtpSettings) -> str:
    """Hand one message to the SMTP server and return its Message-ID; raises ChannelError.

    The outcome follows the protocol stage (RFC 5321 §3.3, §4.1.1.4): anything that goes wrong before the
    whole message and its terminating dot have been written means the server cannot have taken it, so it is
    safe to retry; the 250 reply to the data is the server taking responsibility, so the message is sent
    whatever happens at QUIT; only a break while waiting for that reply leaves the outcome unknown.
    """
    try:
        client = _connect(smtp)
    except smtplib.SMTPResponseException as exc:
        raise _refused(smtp, "greeting/login", exc.smtp_code, exc.smtp_error) from exc
    except (smtplib.SMTPException, OSError) as exc:  # nothing was sent yet
        raise ChannelError(f"SMTP {smtp.host}:{smtp.port}: {exc.__class__.__name__}: {exc}") from exc
    try:
        message_id = _transaction(client, msg, smtp)
    except ChannelError:
        client.close()
        raise
    try:
        client.quit()  # a 421 or a broken connection here changes nothing: the server already took the message
    except (smtplib.SMTPException, OSError):
        client.close()
    return message_id


def _transaction(client: smtplib.SMTP, msg: EmailMessage, smtp: SmtpSettings) -> str:
    where = f"SMTP {smtp.host}:{smtp.port}"
    steps = (
        ("MAIL FROM", lambda: client.mail(parseaddr(msg["From"])[1]), 250),
        ("RCPT TO", lambda: client.rcpt(parseaddr(msg["To"])[1]), 250),
        ("DATA", lambda: client.docmd("DATA"), 354),
    )
    try:
        for stage, step, expected in steps:
            code, reply = step()
            if code != expected and not (stage == "RCPT TO" and code == 251):
                raise _refused(smtp, stage, code, reply)
        client.send(_wire(msg))
    except (smtplib.SMTPException, OSError) as exc:  # the terminating dot never left: not taken
        raise ChannelError(
            f"{where}: connection lost before the message was complete: {exc.__class__.__name__}: {exc}"
        ) from exc
    try:
        code, reply = client.getreply()
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(
            f"{where}: connection lost after sending the message, before the server's reply: "
            f"{exc.__class__.__name__}: {exc}",
            ambiguous=True,
        ) from exc
    if code != 250:
        raise _refused(smtp, "message", code, reply)
    return msg["Message-ID"]


def send_email(envelope: Envelope, smtp: SmtpSettings) -> str:
    if not envelope.channel.to:
        raise ChannelError(f"no email address for {envelope.person.id}", permanent=True)
    return smtp_send(build_email(envelope, smtp.sender), smtp)
