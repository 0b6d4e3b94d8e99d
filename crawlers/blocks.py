"""Recognise block, captcha and login pages so a blocked source never looks like a quiet day."""

from __future__ import annotations

BLOCK_STATUSES = {403: "HTTP 403 禁止访问", 418: "HTTP 418 反爬拦截", 429: "HTTP 429 请求过于频繁",
                  432: "HTTP 432 微博要求登录Cookie"}
_BODY_MARKERS = (
    ("百度安全验证", "百度安全验证码页面"),
    ("wappass.baidu.com/static/captcha", "百度验证码跳转"),
    ("passport.baidu.com", "百度登录跳转"),
    ("passport.weibo.com", "微博登录跳转"),
    ("Sina Visitor System", "微博访客验证页面"),
    ("请输入验证码", "验证码页面"),
    ("访问过于频繁", "访问过于频繁"),
    ("操作过于频繁", "操作过于频繁"),
    ("请求过于频繁", "请求过于频繁"),
    ("请先登录", "需要登录"),
)


class BlockedError(Exception):
    """The site answered with a block, captcha or login page instead of content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def block_reason(status: int, url: str, body: str) -> str | None:
    """Why this response is a block, or None if it looks like content."""
    if status in BLOCK_STATUSES:
        return BLOCK_STATUSES[status]
    for marker, reason in _BODY_MARKERS:
        if marker in url or marker in body[:20000]:
            return reason
    return None
