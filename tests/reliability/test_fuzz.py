"""Over 10,000 generated bad inputs to `classify`, the configuration files, saved responses for `parse` and
the officers' web forms: no traceback, no 5xx, each bad item refused with a message that names it, and every
good item still comes through. Generated from a fixed seed, in-process, so the test is fast and repeatable."""

from __future__ import annotations

import json
import random
import string
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from scrapy.http import Request, TextResponse

from tests.alerts.conftest import make_incident
from wagewatch.cli import cli
from wagewatch.core import clock
from wagewatch.core.config import CitiesFile, ConfigError, Policy, Settings, SourcesFile, read_model
from wagewatch.core.store.models import Lead
from wagewatch.crawlers.blocks import BlockedError
from wagewatch.crawlers.runner import spider_class
from wagewatch.crawlers.spiders.base import MalformedResponse
from wagewatch.ledger import tokens
from wagewatch.stages.dispatch import plan_alerts
from wagewatch.web.app import create_app

SEED = 20261204
NASTY_STRINGS = [
    "\ud800",
    "\udfff",
    "\x00",
    "\u202e",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "-0",
    "9" * 400,
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "%s%n",
    "\r\n\r\n",
    "𠀀" * 50,
    "",
]


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _bad_value(rng: random.Random):
    return rng.choice(
        [
            None,
            True,
            3,
            -1,
            1.5,
            float("nan"),
            float("inf"),
            [],
            {},
            [1, [2, [3]]],
            {"a": {"b": None}},
            rng.choice(NASTY_STRINGS),
            "".join(rng.choices(string.printable, k=rng.randint(0, 40))),
        ]
    )


def _bad_jsonl_line(rng: random.Random) -> str:
    kind = rng.randrange(8)
    if kind == 0:
        return json.dumps({"id": "x", "text": "工地欠薪" + rng.choice(["\ud800", "\udc00", "a\udfffb"])})
    if kind == 1:
        return json.dumps({"id": "x", "text": rng.choice([None, True, 3, -1, 1.5, [], {}, ["欠薪"], {"t": "欠薪"}])})
    if kind == 2:
        return '{"id": "x", "text": "a", "extra": ' + _deep(rng.randint(2_000, 50_000)) + "}"
    if kind == 3:
        return '{"id": "x", "text": "欠薪", "amount": ' + rng.choice(["NaN", "Infinity", "-Infinity"]) + "}"
    if kind == 4:
        return json.dumps(_bad_value(rng)) if rng.random() < 0.5 else "[1, 2"
    if kind == 5:
        return "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randint(1, 60)))
    if kind == 6:
        return '{"id": "x", "text": ' + json.dumps("短") + ", " * rng.randint(1, 3) + "}"
    return '{"text": "' + "\\u" + rng.choice(["d800", "DFFF", "d83d"]) + '"}'


def test_classify_drops_each_bad_line_and_keeps_the_good(tmp_path):
    rng = random.Random(SEED)
    lines, good = [], []
    for n in range(4_000):
        lines.append(_bad_jsonl_line(rng))
        if n % 80 == 0:
            good.append(f"good-{n}")
            lines.append(
                json.dumps(
                    {"id": f"good-{n}", "text": f"济南某工地拖欠{n % 50 + 2}名农民工工资三个月"}, ensure_ascii=False
                )
            )
    source = tmp_path / "in.jsonl"
    source.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + b"\n\xff\xfe binary tail\n")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["classify", "--input", str(source), "--output", str(out)])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, result.output[-2000:]
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in written] == good  # every good line, in order, and nothing else
    assert all(r["label"] in ("real", "false", "irrelevant") for r in written)
    warnings = [line for line in result.stderr.splitlines() if line.startswith(f"{source}: line ")]
    assert len(warnings) == len(lines) + 1 - len(good)  # one warning naming each bad line (the tail included)


CONFIG_MODELS = {
    "settings.yaml": Settings,
    "policy.yaml": Policy,
    "cities.yaml": CitiesFile,
    "sources.yaml": SourcesFile,
}


def _bad_yaml(rng: random.Random, shipped: str) -> bytes:
    kind = rng.randrange(7)
    if kind == 0:
        return b""
    if kind == 1:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
    if kind == 2:
        return ("a: " + _deep(rng.randint(50, 200))).encode()
    if kind == 3 and len(shipped) < 5_000:  # a small shipped file with one line mangled
        lines = shipped.splitlines()
        i = rng.randrange(len(lines))
        lines[i] = lines[i][: rng.randint(0, len(lines[i]))] + rng.choice(
            [": [", " {", "\t", ": .nan", ": 1e999", ": -5", ": ~", ": 'x", ": &a *a"]
        )
        return "\n".join(lines).encode()
    if kind == 4:
        return json.dumps(
            {
                k: _bad_value(rng)
                for k in rng.sample(
                    [
                        "database_url",
                        "smtp",
                        "scheduler",
                        "escalation",
                        "province",
                        "cities",
                        "keywords",
                        "sources",
                        "link_valid_hours",
                        "digest",
                    ],
                    3,
                )
            },
            default=str,
        ).encode()
    if kind == 5:
        return b"- 1\n- 2\n"
    return "\n".join(
        f"{rng.choice(string.ascii_letters)}: {rng.choice(NASTY_STRINGS)!r}" for _ in range(rng.randint(1, 20))
    ).encode("utf-8", "surrogatepass")


def test_config_files_refuse_bad_content_naming_the_file(config_files):
    rng = random.Random(SEED + 1)
    refused = 0
    for n in range(2_000):
        name = rng.choice(list(CONFIG_MODELS))
        path = config_files.root / f"fuzz-{n % 7}-{name}"
        path.write_bytes(_bad_yaml(rng, (config_files.root / name).read_text(encoding="utf-8")))
        try:
            read_model(CONFIG_MODELS[name], path)
        except ConfigError as exc:
            assert str(path) in str(exc), exc
            refused += 1
    assert refused > 1_500
    for name, model in CONFIG_MODELS.items():  # the good files still load
        read_model(model, config_files.root / name)


def test_parse_never_tracebacks_on_a_bad_saved_response():
    rng = random.Random(SEED + 2)
    weibo = spider_class("weibo", None)
    good = json.dumps({"ok": 1, "data": {"cards": []}})
    for _ in range(1_500):
        kind = rng.randrange(5)
        if kind == 0:
            body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
        elif kind == 1:
            body = ('{"ok": 1, "data": {"cards": ' + _deep(rng.randint(100, 20_000)) + "}}").encode()
        elif kind == 2:
            body = json.dumps(
                {"ok": 1, "data": {"cards": [{"card_type": 9, "mblog": _bad_value(rng)} for _ in range(3)]}}
            ).encode()
        elif kind == 3:
            body = good[: rng.randrange(len(good))].encode()
        else:
            body = json.dumps({"ok": _bad_value(rng), "data": _bad_value(rng)}, default=str).encode()
        response = TextResponse(
            "https://m.weibo.cn/api/container/getIndex?q=1",
            body=body,
            encoding="utf-8",
            request=Request("https://m.weibo.cn/"),
        )
        try:
            posts = weibo.parse_saved(response)
        except (BlockedError, MalformedResponse):
            continue
        assert all(json.dumps(p.contract_dict(), ensure_ascii=False) for p in posts)


@pytest.fixture
def web(store):
    incident = make_incident(store.db, city="济南", severity=2)
    plan_alerts(store.db, store.config)
    with store.db.session() as session:
        token = tokens.mint(session, "jinan-duty-day", clock.now(), 24)
    client = TestClient(create_app(store.config, store.db), cookies={"wagewatch_token": token}, follow_redirects=False)
    return store, client, incident


def test_web_forms_answer_every_bad_request_below_500(web):
    store, client, _ = web
    rng = random.Random(SEED + 3)
    origin = {"Origin": "http://testserver"}
    fields = [
        "status",
        "notes",
        "amount_recovered",
        "workers_paid",
        "verdict",
        "kind",
        "version",
        "to",
        "other",
        "note",
        "confirmed",
    ]
    for _ in range(2_000):
        path = rng.choice(
            [
                "/leads/1/update",
                "/leads/1/transfer",
                "/leads/1/ack",
                "/leads/1/clarify",
                "/leads/1/reopen",
                f"/leads/{rng.choice(['0', '-1', '1e9', '9' * 30, 'x', '1%00'])}/ack",
                "/console/bulk",
            ]
        )
        data = {k: str(_bad_value(rng)) for k in rng.sample(fields, rng.randint(0, len(fields)))}
        if rng.random() < 0.3:
            data["version"] = "1"
        # Encoded by hand: a lone surrogate goes out as the invalid UTF-8 bytes a hostile client would send.
        body = urlencode(data, encoding="utf-8", errors="surrogatepass")
        headers = {"Content-Type": "application/x-www-form-urlencoded", **(origin if rng.random() < 0.9 else {})}
        response = client.post(path, content=body, headers=headers)
        assert response.status_code < 500, (path, data, response.text[-500:])
    for _ in range(500):
        query = urlencode(
            [
                (rng.choice(["status", "msg", "moved", "t", "city"]), rng.choice(NASTY_STRINGS))
                for _ in range(rng.randint(0, 4))
            ],
            encoding="utf-8",
            errors="surrogatepass",
        )
        response = client.get(rng.choice(["/leads", "/leads/1", "/console"]) + "?" + query)
        assert response.status_code < 500, (query, response.text[-500:])
    # A good request still goes through after all that.
    status, version = _status_and_version(store)
    ok = client.post(
        "/leads/1/update", data={"version": str(version), "status": status, "notes": "已核实"}, headers=origin
    )
    assert ok.status_code == 303, ok.text[-500:]


def _status_and_version(store) -> tuple[str, int]:
    with store.db.session() as session:
        lead = session.get(Lead, 1)
        return lead.status, lead.version
