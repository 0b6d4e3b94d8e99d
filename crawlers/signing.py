"""Request signatures of the sites that sign their web APIs, isolated so a changed algorithm or secret is
one function and one config value to update (docs/crawlers.md, Sources)."""

from __future__ import annotations

import hashlib
import json
import secrets
import string
from typing import Any


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def compact_json(value: Any) -> str:
    """JSON as a browser's JSON.stringify writes it: no spaces, non-ASCII kept, key order kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def liuyan_signature(path: str, param_json: str, app_code: str, token: str = "") -> str:
    """人民网领导留言板: md5(path + param string exactly as sent + md5(appCode)[0:16] + token)."""
    return md5_hex(path + param_json + md5_hex(app_code)[:16] + token)


def liuyan_body(path: str, param: dict[str, Any], app_code: str, token: str = "") -> str:
    """The JSON envelope the message board's front end POSTs; `param` travels as a compact JSON string."""
    param_json = compact_json(param)
    return compact_json(
        {
            "appCode": app_code,
            "token": token,
            "signature": liuyan_signature(path, param_json, app_code, token),
            "param": param_json,
        }
    )


def heimao_signature(secret: str, page_size: int, page: int, ts: str, rs: str, keywords: str) -> str:
    """黑猫投诉 search: sha256 of the six values sorted as strings and concatenated."""
    parts = sorted([secret, str(page_size), str(page), ts, rs, keywords])
    return hashlib.sha256("".join(parts).encode("utf-8")).hexdigest()


def random_token(length: int = 16) -> str:
    """The `rs` nonce of 黑猫投诉: random letters and digits."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def tieba_sign(params: dict[str, Any], secret: str) -> str:
    """Tieba's client signing convention: md5 of the key-sorted `key=value` pairs concatenated + secret."""
    return md5_hex("".join(f"{k}={params[k]}" for k in sorted(params)) + secret)
