"""Recognise block, captcha and login pages so a blocked source never looks like a quiet day.

Markers are looked for where a block page puts them (status, URL, redirect target, page title, or the
whole body of a short answer), never anywhere in a long page: a post that merely quotes "请先登录" must
not stop a crawl.
"""

from __future__ import annotations

import json
import re

BLOCK_STATUSES = {
    403: "HTTP 403 禁止访问",
    418: "HTTP 418 反爬拦截",
    429: "HTTP 429 请求过于频繁",
    432: "HTTP 432 微博要求登录Cookie",
}
_URL_MARKERS = (
    ("wappass.baidu.com/static/captcha", "百度验证码跳转"),
    ("wappass.baidu.com", "百度验证跳转"),
    ("passport.baidu.com", "百度登录跳转"),
    ("passport.weibo.com", "微博登录跳转"),
    ("passport.weibo.cn", "微博登录跳转"),
    ("m.weibo.cn/login", "微博登录跳转"),
    ("weibo.com/login", "微博登录跳转"),
    ("login.sina.com.cn", "新浪登录跳转"),
)
_TITLE_MARKERS = (
    ("百度安全验证", "百度安全验证码页面"),
    ("Sina Visitor System", "微博访客验证页面"),
    ("新浪通行证", "新浪登录页面"),
)
_SHORT_BODY_MARKERS = (
    ("百度安全验证", "百度安全验证码页面"),
    ("请输入验证码", "验证码页面"),
    ("访问过于频繁", "访问过于频繁"),
    ("操作过于频繁", "操作过于频繁"),
    ("请求过于频繁", "请求过于频繁"),
    ("频率过快", "请求过于频繁"),
    ("请先登录", "需要登录"),
    ("未登录", "需要登录"),
)
SHORT_BODY = 4000  # block and rate-limit answers are small; content pages are not
REDIRECT_PAGE = SHORT_BODY * 4  # a page that only sends the browser on carries little else
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_META = re.compile(r"<meta\b[^>]*>", re.I)
_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"\s>]+)", re.I)
# location = "…", location.href = '…', window.location.replace("…"), top.location.assign('…')
_SCRIPT_REDIRECT = re.compile(
    r"(?<![\w.-])(?:(?:window|top|self|document|parent)\.)?location"
    r"(?:\.href\s*=\s*|\s*=\s*|\.(?:replace|assign)\(\s*)[\"']([^\"']+)[\"']"
)
_JSON_URL_KEYS = ("url", "redirect", "redirect_url", "redirectUrl", "location", "jump_url", "login_url")


class BlockedError(Exception):
    """The site answered with a block, captcha or login page instead of content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def redirect_block_reason(location: str) -> str | None:
    """Why a redirect to `location` is a block (captcha or login), or None for an ordinary redirect."""
    for marker, reason in _URL_MARKERS:
        if marker in location:
            return reason
    return None


def redirect_targets(body: str) -> list[str]:
    """Where a small page sends the browser on: a meta refresh or a script assigning `location`
    (JavaScript-escaped slashes undone)."""
    if len(body) > REDIRECT_PAGE:
        return []
    targets = [
        m[1]
        for tag in _META.findall(body)
        if "refresh" in tag.lower()
        for m in [_REFRESH_URL.search(tag.split("content", 1)[-1])]
        if m
    ]
    targets += _SCRIPT_REDIRECT.findall(body)
    return [t.replace("\\/", "/") for t in targets]


def json_block_reason(body: str) -> str | None:
    """A small JSON answer that is a login or verification wall: Weibo's `{"ok": -100, "url": …login…}`,
    or any answer whose redirect field points to a login or captcha page."""
    if len(body) > SHORT_BODY or not body.lstrip().startswith("{"):
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    nested = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    for value in (payload.get(k) for k in _JSON_URL_KEYS):
        if isinstance(value, str) and (reason := redirect_block_reason(value)):
            return reason
    for value in (nested.get(k) for k in _JSON_URL_KEYS):
        if isinstance(value, str) and (reason := redirect_block_reason(value)):
            return reason
    if payload.get("ok") == -100:
        return "微博要求登录"
    return None


def block_reason(status: int, url: str, body: str, refresh: str | None = None) -> str | None:
    """Why this response is a block, or None if it looks like content. `refresh` is a `Refresh` header."""
    if status in BLOCK_STATUSES:
        return BLOCK_STATUSES[status]
    if reason := redirect_block_reason(url):
        return reason
    if refresh and (reason := redirect_block_reason(refresh)):
        return reason
    for target in redirect_targets(body):
        if reason := redirect_block_reason(target):
            return reason
    if reason := json_block_reason(body):
        return reason
    head = body[: SHORT_BODY * 4]
    if title := _TITLE.search(head):
        for marker, reason in _TITLE_MARKERS:
            if marker in title[1]:
                return reason
    if 200 <= status < 300 and not body.strip():
        return "空响应（疑似限流）"
    if len(body) <= SHORT_BODY:
        for marker, reason in _SHORT_BODY_MARKERS:
            if marker in body:
                return reason
    return None
