"""The post record every spider yields; its fields are the `wagewatch parse` contract."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime


@dataclass
class PostItem:
    source: str
    external_id: str
    url: str
    title: str | None
    text: str
    author: str | None
    published_at: datetime | None
    reposts: int | None = None
    comments: int | None = None
    likes: int | None = None
    region: str | None = None
    thread_id: str | None = None
    text_raw: str | None = None
    raw_ref: str | None = None

    def contract_dict(self) -> dict:
        """The JSON object `wagewatch parse` prints (published_at as ISO 8601 with offset)."""
        data = asdict(self)
        data.pop("text_raw")
        data.pop("raw_ref")
        data["published_at"] = self.published_at.isoformat() if self.published_at else None
        return data
