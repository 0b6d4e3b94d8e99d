"""Email over SMTP: multipart plain text + HTML, UTF-8, with a Message-ID derived from the delivery.

Messages are built with the stdlib's compat32 MIME classes: the modern `EmailMessage` API parses and refolds
every header through its header registry, about ten times the cost (4 ms a message, most of a delivery's CPU).
Even compat32 spent most of an alert's remaining cost folding headers and setting charset parameters, so headers
fold once per process (`FoldOnce`), text parts are built directly (`_text`) and the messages so built are
written without the generator's walk (`as_bytes`, byte for byte the generator's output). A drain of many
messages reuses its SMTP connections (`SmtpPool`): one per server and sending thread.
"""

from __future__ import annotations

import functools
import mimetypes
import re
import secrets
import smtplib
import ssl
import threading
from collections.abc import Iterator
from email import base64mime, quoprimime
from email.charset import RFC2047_CHROME_LEN, Charset
from email.encoders import encode_base64
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.policy import Compat32
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path
from typing import Any

from wagewatch.alerts.channels.base import ChannelError, Envelope
from wagewatch.core.config import SmtpSettings

SENDER_NAME = "欠薪舆情哨兵"


class _Utf8(Charset):
    """UTF-8 that splits a header into encoded words in one pass. The stdlib re-encodes the line so far for
    every character it adds (quadratic, "in the interest of being correct rather than fast"), and a new alert's
    subject was a tenth of its email's cost; the base64 length of n bytes is known without encoding them.
    The same lines, so the same header (tested against compat32)."""

    def __init__(self) -> None:
        super().__init__("utf-8")

    def header_encode_lines(self, string: str, maxlengths: Iterator[int]) -> list[str | None]:
        encoded = string.encode("utf-8")
        if base64mime.header_length(encoded) >= quoprimime.header_length(encoded):  # UTF-8's shortest-encoding rule
            return super().header_encode_lines(string, maxlengths)
        chrome = len("utf-8") + RFC2047_CHROME_LEN
        lines: list[str | None] = []
        start = end = 0  # the current line's bytes: encoded[start:end]
        room = next(maxlengths) - chrome
        for character in string:
            width = len(character.encode("utf-8"))
            if 4 * -(-(end + width - start) // 3) > room:  # its base64 with this character would not fit
                lines.append(base64mime.header_encode(encoded[start:end], "utf-8") if end > start or lines else None)
                start, room = end, next(maxlengths) - chrome
            end += width
        lines.append(base64mime.header_encode(encoded[start:], "utf-8"))
        return lines


_UTF8 = _Utf8()


@functools.lru_cache(maxsize=2048)
def _folded(cte_type: str, linesep: str, max_line_length: int | None, name: str, value: str) -> bytes:
    policy = Compat32(cte_type=cte_type, linesep=linesep, max_line_length=max_line_length)
    if value.isascii():
        return policy.fold_binary(name, value)
    try:  # what compat32 does with a non-ASCII value (a UTF-8 Header), less the quadratic split
        return policy.fold_binary(name, Header(value, _UTF8, header_name=name))  # type: ignore[arg-type]
    except UnicodeEncodeError:  # surrogates from undecodable bytes: compat32's own handling
        return policy.fold_binary(name, value)


# Printable ASCII words one space apart: a value compat32 writes unchanged when it fits on the line.
_AS_IS = re.compile(r"[!-~]+(?: [!-~]+)*")


class FoldOnce(Compat32):
    """compat32 that folds each distinct header once per process: Header.encode was half of building an email,
    and a drain writes the same sender, recipients, subject, date and part headers over and over. A short
    ASCII value (the Message-ID, new in every message) needs no folding and is written as it is."""

    def fold_binary(self, name: str, value: Any) -> bytes:
        if not isinstance(value, str):
            return super().fold_binary(name, value)
        if self.max_line_length and len(name) + 2 + len(value) <= self.max_line_length and _AS_IS.fullmatch(value):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return _folded(self.cte_type, self.linesep, self.max_line_length, name, value)


POLICY = FoldOnce()
# Every part is base64, whose alphabet has no "_": a boundary with one can never occur inside a part, so one
# boundary per process serves every message (its headers fold once) and the generator need not search for one.
_BOUNDARY = f"=_wagewatch_{secrets.token_hex(8)}"


@functools.lru_cache(maxsize=4)
def _policy(linesep: str) -> FoldOnce:
    return POLICY.clone(linesep=linesep)


_LINE_END = re.compile(r"\r\n|\r|\n")


def _flat(part: Message, policy: FoldOnce) -> bytes | None:
    """The part as the generator writes it, or None for what only the generator handles (a preamble or
    epilogue, a non-ASCII payload)."""
    nl = policy.linesep
    head = b"".join(policy.fold_binary(name, value) for name, value in part.raw_items()) + nl.encode()
    payload = part.get_payload()
    if isinstance(payload, str):
        return head + _LINE_END.sub(nl, payload).encode("ascii") if payload.isascii() else None
    if part.preamble is not None or part.epilogue is not None or not isinstance(payload, list):
        return None
    texts = []
    for sub in payload:
        text = _flat(sub, policy) if isinstance(sub, Message) else None
        if text is None:
            return None
        texts.append(text)
    boundary = part.get_boundary()
    opening, between, closing = (
        f"{before}--{boundary}{after}".encode() for before, after in (("", nl), (nl, nl), (nl, "--" + nl))
    )
    return head + opening + between.join(texts) + closing


def as_bytes(msg: Message, linesep: str = "\n") -> bytes:
    """`msg.as_bytes()` with `linesep` line ends. The messages `new_email` builds (base64 parts, multiparts
    without preamble) are written here directly, byte for byte what the stdlib's generator writes (tested):
    its walk through the parts was a sixth of a delivery's CPU. Anything else goes through the generator."""
    policy = _policy(linesep)
    flat = _flat(msg, policy)
    return msg.as_bytes(policy=policy) if flat is None else flat


def _attachment(path: Path) -> MIMEBase:
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    maintype, subtype = ctype.split("/", 1)
    part = MIMEBase(maintype, subtype, policy=POLICY)
    part.set_payload(path.read_bytes())
    encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", path.name))
    return part


def _text(text: str, subtype: str) -> Message:
    """A UTF-8 text part in base64, byte for byte what MIMEText writes (less its MIME-Version, which belongs
    to the top part), without MIMEText's charset and parameter handling, a third of building an email."""
    part = Message(policy=POLICY)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "base64"
    part.set_payload(base64mime.body_encode(text.encode("utf-8")))
    return part


def _part(part: Message) -> Message:
    del part["MIME-Version"]  # once per message (the top part keeps it), not once per part
    return part


def new_email(
    sender: str,
    to_name: str,
    to_address: str,
    subject: str,
    message_id: str,
    text: str,
    html: str | None = None,
    attachments: tuple[Path, ...] = (),
) -> Message:
    """A UTF-8 message: plain text (and its HTML alternative), then any attachments."""
    body = _text(text, "plain")
    if html is not None:
        body = MIMEMultipart("alternative", _BOUNDARY + "_a", [body, _text(html, "html")], policy=POLICY)
    if attachments:
        parts = [_part(body), *(_part(_attachment(path)) for path in attachments)]
        msg: Message = MIMEMultipart("mixed", _BOUNDARY + "_m", parts, policy=POLICY)
    else:
        msg = body
    if "MIME-Version" not in msg:
        msg["MIME-Version"] = "1.0"
    msg["Subject"] = subject  # folded as UTF-8 encoded words (compat32 falls back from ASCII)
    msg["From"] = formataddr((SENDER_NAME, sender), charset="utf-8")
    msg["To"] = formataddr((to_name, to_address), charset="utf-8")
    msg["Date"] = formatdate(localtime=False)
    # A stable id lets a mail server or client drop a duplicate should one ever slip through.
    msg["Message-ID"] = message_id
    return msg


def build_email(envelope: Envelope, sender: str) -> Message:
    return new_email(
        sender,
        envelope.person.name,
        envelope.channel.to or "",
        envelope.message.subject,
        f"<{envelope.kind}-{envelope.delivery_id}@wagewatch>",
        envelope.message.text,
        envelope.message.html,
        envelope.attachments,
    )


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


def _wire(msg: Message) -> bytes:
    """The message as DATA carries it: CRLF line ends, leading dots doubled, ended by CRLF . CRLF."""
    data = as_bytes(msg, "\r\n")
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _refused(smtp: SmtpSettings, stage: str, code: int, reply: bytes | str) -> ChannelError:
    """The server answered no before taking the message: 5xx is final, 4xx worth a retry."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return ChannelError(f"SMTP {smtp.host}:{smtp.port}: {stage} refused: {code} {text!r}", permanent=code >= 500)


class _Dropped(ChannelError):
    """The connection broke before the message was complete: nothing was taken, a retry is safe."""


def _open(smtp: SmtpSettings) -> smtplib.SMTP:
    try:
        return _connect(smtp)
    except smtplib.SMTPResponseException as exc:
        raise _refused(smtp, "greeting/login", exc.smtp_code, exc.smtp_error) from exc
    except (smtplib.SMTPException, OSError) as exc:  # nothing was sent yet
        raise ChannelError(f"SMTP {smtp.host}:{smtp.port}: {exc.__class__.__name__}: {exc}") from exc


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()  # a 421 or a broken connection here changes nothing: the server already took the messages
    except (smtplib.SMTPException, OSError):
        client.close()


def smtp_send(msg: Message, smtp: SmtpSettings, pool: SmtpPool | None = None) -> str:
    """Hand one message to the SMTP server and return its Message-ID; raises ChannelError.

    The outcome follows the protocol stage (RFC 5321 §3.3, §4.1.1.4): anything that goes wrong before the
    whole message and its terminating dot have been written means the server cannot have taken it, so it is
    safe to retry; the 250 reply to the data is the server taking responsibility, so the message is sent
    whatever happens at QUIT; only a break while waiting for that reply leaves the outcome unknown.

    With a `pool` the connection stays open for the next message (see SmtpPool); without, it is closed.
    """
    if pool is not None:
        return pool.send(msg, smtp)
    client = _open(smtp)
    try:
        message_id = _transaction(client, msg, smtp)
    except ChannelError:
        client.close()
        raise
    _quit(client)
    return message_id


class SmtpPool:
    """The SMTP connections of one drain: each sending thread keeps one connection per server open from
    message to message (RFC 5321 allows any number of transactions per session) and QUITs them at `close`.

    A connection that breaks or answers no is closed, and the next message opens a new one. When a kept
    connection turns out dead before the message was complete (the server timed it out while idle), the
    message is tried once more on a fresh connection at once: nothing was taken, so this cannot send twice.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[smtplib.SMTP] = []
        self.connections = 0  # opened so far, for the benchmarks

    def _clients(self) -> dict[tuple[str | None, int], smtplib.SMTP]:
        if not hasattr(self._local, "clients"):
            self._local.clients = {}
        return self._local.clients

    def send(self, msg: Message, smtp: SmtpSettings) -> str:
        clients, key = self._clients(), (smtp.host, smtp.port)
        reused = key in clients
        if not reused:
            client = _open(smtp)
            with self._lock:
                self._open.append(client)
                self.connections += 1
            clients[key] = client
        try:
            return _transaction(clients[key], msg, smtp)
        except ChannelError as exc:
            self._drop(key)
            if reused and isinstance(exc, _Dropped):
                return self.send(msg, smtp)
            raise

    def _drop(self, key: tuple[str | None, int]) -> None:
        client = self._clients().pop(key)
        client.close()
        with self._lock:
            self._open.remove(client)

    def close(self) -> None:
        """QUIT every connection still open (call once the sending threads are done)."""
        with self._lock:
            clients, self._open = self._open, []
        for client in clients:
            _quit(client)


def _transaction(client: smtplib.SMTP, msg: Message, smtp: SmtpSettings) -> str:
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
        raise _Dropped(
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


def send_email(envelope: Envelope, smtp: SmtpSettings, pool: SmtpPool | None = None) -> str:
    if not envelope.channel.to:
        raise ChannelError(f"no email address for {envelope.person.id}", permanent=True)
    return smtp_send(build_email(envelope, smtp.sender), smtp, pool)
