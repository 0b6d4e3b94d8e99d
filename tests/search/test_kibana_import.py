"""`wagewatch kibana setup` against a local HTTP server that checks the request the way Kibana's
saved-objects import API documents it: POST [/s/<space>]/api/saved_objects/_import?overwrite=true, a
kbn-xsrf header, multipart/form-data with the NDJSON in the field `file`."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import send_json
from tests.helpers import wagewatch
from wagewatch.core.config import ElasticsearchSettings, KibanaSettings
from wagewatch.index.kibana.builder import build_objects
from wagewatch.index.kibana.importer import KibanaError, import_objects


@dataclass
class FakeKibana:
    """Answers like Kibana 8 when the request is right, and records why it is not otherwise."""

    port: int = 0
    expected_path: str = "/api/saved_objects/_import"
    credentials: tuple[str, str] | None = None
    script: list[int] = field(default_factory=list)  # statuses to answer before the real answer
    refuse_ids: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    imported: list[dict] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def check(self, handler: BaseHTTPRequestHandler, body: bytes) -> list[dict]:
        parts = urlsplit(handler.path)
        if parts.path != self.expected_path:
            self.problems.append(f"path {parts.path}")
        if parse_qs(parts.query).get("overwrite") != ["true"]:
            self.problems.append(f"query {parts.query}")
        if not handler.headers.get("kbn-xsrf"):
            self.problems.append("no kbn-xsrf header")
        content_type = handler.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data; boundary="):
            self.problems.append(f"content type {content_type}")
            return []
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        files = [p for p in message.iter_parts() if p.get_param("name", header="content-disposition") == "file"]
        if len(files) != 1 or not files[0].get_filename("").endswith(".ndjson"):
            self.problems.append("no single .ndjson file in the form field `file`")
            return []
        lines = files[0].get_payload(decode=True).decode("utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture
def kibana() -> Iterator[FakeKibana]:
    fake = FakeKibana()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if fake.script:
                self._answer(fake.script.pop(0), {"statusCode": 503, "message": "Kibana server is not ready yet"})
                return
            if (
                fake.credentials
                and self.headers.get("Authorization")
                != "Basic " + base64.b64encode(":".join(fake.credentials).encode()).decode()
            ):
                self._answer(401, {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"})
                return
            objects = fake.check(self, body)
            if fake.problems:
                self._answer(400, {"statusCode": 400, "error": "Bad Request", "message": "; ".join(fake.problems)})
                return
            fake.imported.extend(objects)
            ok = [o for o in objects if o["id"] not in fake.refuse_ids]
            bad = [o for o in objects if o["id"] in fake.refuse_ids]
            self._answer(
                200,
                {
                    "success": not bad,
                    "successCount": len(ok),
                    "warnings": [],
                    "successResults": [
                        {
                            "type": o["type"],
                            "id": o["id"],
                            "overwrite": True,
                            "meta": {"title": o["attributes"].get("name") or o["attributes"]["title"]},
                        }
                        for o in ok
                    ],
                    **(
                        {
                            "errors": [
                                {
                                    "type": o["type"],
                                    "id": o["id"],
                                    "meta": {"title": o["attributes"]["title"]},
                                    "error": {
                                        "type": "missing_references",
                                        "references": [{"type": "index-pattern", "id": "gone"}],
                                    },
                                }
                                for o in bad
                            ]
                        }
                        if bad
                        else {}
                    ),
                },
            )

        def _answer(self, status: int, payload: dict) -> None:
            send_json(self, status, payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield fake
    server.shutdown()


def test_import_into_a_space_with_credentials(kibana, monkeypatch):
    monkeypatch.setenv("WAGEWATCH_ES_PASSWORD", "s3cret")
    kibana.expected_path = "/s/analysts/api/saved_objects/_import"
    kibana.credentials = ("elastic", "s3cret")
    objects = build_objects("wagewatch")
    report = import_objects(
        KibanaSettings(url=kibana.url + "/", space="analysts"), ElasticsearchSettings(username="elastic"), objects
    )
    assert not kibana.problems
    assert report.success and len(report.imported) == len(objects)
    assert [o["id"] for o in kibana.imported] == [o["id"] for o in objects]
    lines = "\n".join(report.lines())
    assert "仪表板 欠薪舆情总览" in lines and "保存的检索 逾期未办结" in lines
    assert f"共 {len(objects)} 个对象导入成功" in lines


def test_waits_for_a_starting_kibana_and_reports_refusals(kibana):
    kibana.script = [503, 503]
    kibana.refuse_ids = {"wagewatch-map-shandong"}
    report = import_objects(KibanaSettings(url=kibana.url), ElasticsearchSettings(), build_objects("wagewatch"))
    assert not report.success
    assert report.errors == [("map", "wagewatch-map-shandong", "missing_references: index-pattern/gone")]


def test_bad_credentials_and_unreachable_kibana_say_so(kibana):
    kibana.credentials = ("elastic", "right")
    with pytest.raises(KibanaError, match="credentials"):
        import_objects(
            KibanaSettings(url=kibana.url, username="elastic"), ElasticsearchSettings(), build_objects("wagewatch")
        )
    with pytest.raises(KibanaError, match="unavailable"):
        import_objects(KibanaSettings(url="http://127.0.0.1:9"), ElasticsearchSettings(), [], attempts=1)


def test_cli_kibana_setup(kibana, config_files, monkeypatch):
    kibana.expected_path = "/s/ops/api/saved_objects/_import"
    config_files.update(
        "settings.yaml",
        lambda s: s.update(kibana={"url": kibana.url, "space": "ops"}, elasticsearch={"index_prefix": "sd"}),
    )
    done = wagewatch(config_files.root, "kibana", "setup")
    assert done.returncode == 0, done.stderr
    assert not kibana.problems
    assert "已导入 imported 仪表板 台账与处置 (sd-dashboard-ledger)" in done.stdout
    assert {o["attributes"]["title"] for o in kibana.imported if o["type"] == "index-pattern"} == {
        "sd-posts",
        "sd-incidents",
        "sd-leads",
        "sd-places",
    }
    kibana.refuse_ids = {"sd-search-overdue"}
    assert wagewatch(config_files.root, "kibana", "setup").returncode == 1
