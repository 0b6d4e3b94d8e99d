"""Secrets never reach a log line: officers' link tokens (`?t=`, the session cookie), robot keys (`key=`,
`access_token=`, `sign=`), bearer credentials and any other credential-like query parameter are replaced before a record is formatted by any handler —
httpx's request lines, uvicorn's access log and our own messages alike (a log record factory sees every
record, whichever logger or handler it goes through)."""

from __future__ import annotations

import logging
import re

SECRET_PARAMETER = re.compile(
    r"(?i)([?&;](?:t|key|access_token|token|sign|signature|secret|apikey|api_key|password|passwd)=)[^&#\s\"'<>]+"
)
HIDDEN = "[已隐去]"


# The session cookie (in Set-Cookie and Cookie headers a debug log may print) and bearer credentials.
SECRET_HEADER_VALUE = re.compile(r"(?i)((?:wagewatch_token=)|(?:bearer\s+))[^;&\s\"'<>,)]+")


def redact(text: str) -> str:
    """`text` with the values of secret-bearing query parameters, cookies and bearer credentials hidden."""
    return SECRET_HEADER_VALUE.sub(rf"\1{HIDDEN}", SECRET_PARAMETER.sub(rf"\1{HIDDEN}", text))


def _clean(value: object) -> object:
    """A log argument with secrets hidden; numbers stay numbers (for %d), URL objects become text if needed."""
    if isinstance(value, (int, float)) or value is None:
        return value
    text = str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


def redact_url(url: str) -> str:
    """A database or service URL with its password hidden."""
    return re.sub(r"(//[^:/@]+:)[^@/]*@", rf"\1{HIDDEN}@", redact(url))


def install() -> None:
    """Redact every log record made from now on in this process (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacting", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        # Argument by argument, keeping their shape: uvicorn's access formatter unpacks the args tuple.
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        return record

    factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
