"""Every channel on its real wire: SMTP through aiosmtpd, WeCom and DingTalk robots and an SMS gateway
through a local server that checks formats and DingTalk's signature, the generic webhook, the outbox —
and hostile post text that must not turn into markup anywhere."""

from __future__ import annotations

import os
import random
import re
import shutil
import stat
from email import message_from_bytes, policy
from email.policy import Compat32
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from tests.alerts.conftest import DINGTALK_SECRET, SMS_KEY, dingtalk_check, make_incident, use_robots
from wagewatch.alerts.channels.base import ChannelError, Envelope
from wagewatch.alerts.channels.dingtalk import sign, signed_url
from wagewatch.alerts.channels.email import POLICY, as_bytes, new_email
from wagewatch.alerts.channels.outbox import write_eml
from wagewatch.alerts.channels.webhook import build_request, send_webhook
from wagewatch.alerts.render import AlertView, PostView, render
from wagewatch.core.config import Channel, Person, WebhookTemplate
from wagewatch.core.store.models import AlertDelivery
from wagewatch.stages.dispatch import dispatch

HOSTILE = (
    "工地欠薪<script>alert(1)</script><img src=x onerror=alert(2)> [点此领取补偿](http://evil.example/x) "
    '**紧急** @all <font color="warning">假预警</font>\n### 签收与反馈：http://evil.example/sign'
)
EVIL_URL = "javascript:alert(document.cookie)"


def _statuses(store) -> dict[tuple[str, str], str]:
    with store.db.session() as session:
        return {(d.recipient_id, d.channel): d.status for d in session.scalars(select(AlertDelivery))}


def test_email_over_real_smtp_with_html_text_and_one_click_link(store, config_files, smtp_server):
    config_files.update("settings.yaml", lambda s: s["smtp"].update(host="127.0.0.1", port=smtp_server.port))
    config = store.reload()
    make_incident(store.db, city="潍坊", severity=3, title="潍坊某项目拖欠60名工人工资", amount=800_000, workers=60)
    assert dispatch(store.db, config)["sent"] == 2
    smtp_server.wait_for(2)
    mail = smtp_server.to("duty-day@weifang.example.gov.cn")[0]
    assert "橙色预警" in mail["Subject"] and "潍坊" in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    for needed in ("潍坊市", "重大", "80万元", "60人", "办结时限", "下一步", "https://m.weibo.cn/detail/1"):
        assert needed in text, needed
    link = re.search(r"签收与反馈：(\S+)", text)[1]
    assert link.startswith(config.settings.public_base_url) and "/leads/" in link and "?t=" in link
    assert f'href="{link}"' in html and "#f57c00" in html  # the orange of a severity 3 warning
    assert smtp_server.to("leader@weifang.example.gov.cn")


def test_wecom_robot_markdown(store, robots, monkeypatch):
    use_robots(monkeypatch, robots, "jinan", "wecom")
    config = store.reload()
    make_incident(store.db, city="济南", severity=4, title="济南某工地百余名农民工讨薪", workers=120)
    dispatch(store.db, config)
    [message] = robots.accepted("/wecom/jinan")
    [mention] = robots.mentions("/wecom/jinan")
    body = message.json()
    assert body["msgtype"] == "markdown"
    # The on-duty officer is @-mentioned by mobile, so a muted group still rings their phone.
    ring = mention.json()
    assert ring["msgtype"] == "text" and ring["text"]["mentioned_mobile_list"] == ["00000000011"]
    assert ring["text"]["content"].startswith("请济南白班值班员查看上条消息并及时签收")
    content = body["markdown"]["content"]
    assert '<font color="warning">红色预警</font>' in content and "特别重大" in content
    # The group reads it: the person on duty is named, and the link carries no personal token.
    assert re.search(r"\[签收与反馈\]\(http://localhost:8000/leads/\d+\)\*\*　请 济南白班值班员 签收", content)
    assert "?t=" not in content
    assert _statuses(store)[("jinan-duty-day", "wecom")] == "sent"


def test_dingtalk_robot_signed_as_dingtalk_checks_it(store, robots, monkeypatch):
    use_robots(monkeypatch, robots, "qingdao", "dingtalk")
    config = store.reload()
    make_incident(store.db, city="青岛", severity=2, title="青岛某装修队拖欠工资")
    dispatch(store.db, config)
    [message] = robots.accepted("/dingtalk/qingdao")
    assert message.query["access_token"] == "t-qingdao"
    assert dingtalk_check(message.query, DINGTALK_SECRET) is None
    markdown = message.json()["markdown"]
    assert message.json()["at"] == {"atMobiles": ["00000000021"], "isAtAll": False}
    assert markdown["text"].endswith("\n\n@00000000021")  # DingTalk rings only a mobile named in the text
    assert markdown["title"].startswith("【黄色预警·较大】")
    assert '<font color="#fbc02d">黄色预警</font>' in markdown["text"]


def test_dingtalk_wrong_secret_is_refused_and_falls_back_to_sms(store, robots, monkeypatch):
    use_robots(monkeypatch, robots, "qingdao", "dingtalk")
    monkeypatch.setenv("WAGEWATCH_ROBOT_QINGDAO_SECRET", "not-the-robot-secret")
    config = store.reload()
    make_incident(store.db, city="青岛", severity=3)
    dispatch(store.db, config)
    [refused] = [r for r in robots.received if r.path.startswith("/dingtalk")]  # the SMS lane runs alongside
    assert not robots.accepted("/dingtalk") and refused.answer["errcode"] == 310000
    statuses = _statuses(store)
    assert statuses[("qingdao-duty-day", "dingtalk")] == "dead"
    assert statuses[("qingdao-duty-day", "sms")] == "sent"  # the fallback, in the same run
    sms = [r.json() for r in robots.accepted("/sms")]
    assert {s["mobile"] for s in sms} == {"00000000021", "00000000024"}  # duty officer and leader
    assert _statuses(store)[("sd-ops", "email")] == "sent"  # ops told about the dead letter


def test_dingtalk_sign_matches_the_documented_recipe():
    # Recomputed independently of the channel code, by DingTalk's published steps.
    import base64
    import hashlib
    import hmac
    from urllib.parse import quote_plus

    ts = 1700000000000
    raw = hmac.new(b"SECabc", f"{ts}\nSECabc".encode(), hashlib.sha256).digest()
    assert sign("SECabc", ts) == quote_plus(base64.b64encode(raw))
    assert signed_url("https://oapi.dingtalk.com/robot/send?access_token=x", "SECabc", ts) == (
        f"https://oapi.dingtalk.com/robot/send?access_token=x&timestamp={ts}&sign={sign('SECabc', ts)}"
    )


def test_sms_gateway_template(store, robots, monkeypatch, config_files):
    monkeypatch.setenv("WAGEWATCH_SMS_URL", robots.url("/sms"))
    monkeypatch.setenv("WAGEWATCH_SMS_KEY", SMS_KEY)
    config = store.reload()
    make_incident(store.db, city="泰安", severity=3, title="泰安某工地拖欠工资\n换行")
    dispatch(store.db, config)
    messages = robots.accepted("/sms")
    assert len(messages) == 2 and messages[0].headers["authorization"] == f"Bearer {SMS_KEY}"
    content = messages[0].json()["content"]
    assert content.startswith("【欠薪舆情哨兵】橙色预警") and "\n" not in content and "?t=" in content


def _view(text: str, url: str) -> AlertView:
    return AlertView(
        incident_id=7,
        label="real",
        title=text,
        city="济南",
        county="历下区",
        severity=3,
        severity_score=70.0,
        explanation=[f"地点依据：“{text}”"],
        company=text,
        project=None,
        amount_yuan=None,
        workers=None,
        posts=[PostView("weibo", url, text, None)],
        reason="severity-3",
        deadline=None,
        link="http://localhost:8000/leads/7?t=abc",
        recipient_name="值班员",
    )


def test_hostile_post_text_cannot_inject_markup():
    message = render(_view(HOSTILE, EVIL_URL))
    # HTML: tags and attributes arrive as text; a javascript: link is dropped.
    assert "<script>" not in message.html and "<img" not in message.html and "&lt;script&gt;" in message.html
    assert "javascript:" not in message.html
    assert message.html.count("<a href=") == 1  # only our own link
    # Markdown (WeCom and DingTalk): no link, emphasis, heading, font tag or @mention comes from the post.
    for flavour, markdown in message.markdown.items():
        assert markdown.count("](") == 1, flavour  # only 签收与反馈
        assert "evil.example/x)" not in markdown and "**紧急**" not in markdown and "@all" not in markdown
        assert markdown.count("<font") == 1 and "### 签收" not in markdown
        assert not any(line.startswith("###") and "签收" in line for line in markdown.splitlines())
    # Plain text and SMS: the post's line break cannot start a fake "签收与反馈" line.
    assert [line for line in message.text.splitlines() if line.startswith("签收与反馈")] == [
        "签收与反馈：http://localhost:8000/leads/7?t=abc"
    ]
    assert "\n" not in message.short


def test_webhook_json_template_quotes_every_value():
    template = WebhookTemplate(body='{"text": {{ text }}, "to": {{ to }}, "n": {{ incident_id }}}')
    message = render(_view('"}, "admin": true, "x": {"', "https://example.org/p"))
    envelope = Envelope(
        1,
        Person(id="p", name="n", role="duty", channels=[Channel(type="email", to="a@b.c")]),
        Channel(type="webhook", url_env="X", template="t", to='13"00'),
        message,
    )
    from wagewatch.alerts.channels.webhook import template_values

    body = build_request(template, template_values(envelope))["json"]
    assert set(body) == {"text", "to", "n"} and body["to"] == '13"00' and body["n"] == 7
    assert '"admin": true' in body["text"]  # kept as text, not as structure


def test_generic_webhook_form_template_and_failures(robots, monkeypatch):
    monkeypatch.setenv("HOOK_URL", robots.url("/form"))
    monkeypatch.setenv("HOOK_KEY", SMS_KEY)
    template = WebhookTemplate(
        content_type="form",
        fields={"mobile": "{{ to }}", "text": "{{ short }}", "apikey": "{{ secret }}"},
        success_field="code",
    )
    envelope = Envelope(
        3,
        Person(id="p", name="n", role="duty", channels=[Channel(type="email", to="a@b.c")]),
        Channel(type="sms", url_env="HOOK_URL", secret_env="HOOK_KEY", template="t", to="13800"),
        render(_view("某工地欠薪 & 讨薪=1", "https://example.org/p")),
    )
    assert send_webhook(envelope, template, 5) == "sms:3"
    [request] = robots.accepted("/form")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "某工地欠薪 & 讨薪=1" in parse_qs(request.body.decode())["text"][0]
    # The gateway saying no is permanent; a missing secret is a permanent configuration error.
    wrong = envelope.channel.model_copy(update={"to": "not-a-number"})
    with pytest.raises(ChannelError, match="code='1'") as refused:
        send_webhook(Envelope(4, envelope.person, wrong, envelope.message), template, 5)
    assert refused.value.permanent
    monkeypatch.delenv("HOOK_KEY")
    with pytest.raises(ChannelError, match="HOOK_KEY is not set") as missing:
        send_webhook(envelope, template, 5)
    assert missing.value.permanent


def test_without_smtp_every_email_lands_in_the_outbox(store):
    make_incident(store.db, city="滨州", severity=3, text=HOSTILE)
    assert dispatch(store.db, store.config)["sent"] == 2
    files = sorted((store.root / "outbox").glob("delivery-*-email.eml"))
    mails = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert {m["To"].addresses[0].addr_spec for m in mails} == {
        "duty-day@binzhou.example.gov.cn",
        "leader@binzhou.example.gov.cn",
    }
    html = mails[0].get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_unset_robot_urls_are_skipped_for_the_next_channel(store):
    # Nothing in the environment: the robot and the SMS gateway are skipped, email is used.
    make_incident(store.db, city="济南", severity=3)
    dispatch(store.db, store.config)
    assert _statuses(store) == {("jinan-duty-day", "email"): "sent", ("jinan-leader", "email"): "sent"}


@pytest.mark.parametrize(
    "name, value",
    [
        ("Message-ID", "<delivery-123@wagewatch>"),
        ("Date", "Fri, 04 Dec 2026 19:08:28 -0000"),
        ("X-Test", "two  spaces"),
        ("X-Test", " leading space"),
        ("X-Test", "tab\there"),
        ("X-Test", "=?utf-8?b?5rWL6K+V?="),
        ("Message-ID", "<" + "x" * 70 + "@wagewatch>"),
        ("Subject", "济南市某工地拖欠农民工工资"),
        ("X-Test", "line\nbreak"),
    ],
)
def test_headers_are_folded_byte_for_byte_as_compat32_folds_them(name, value):
    assert POLICY.fold_binary(name, value) == Compat32().fold_binary(name, value)


def test_an_outbox_file_is_private_and_replaces_a_leftover(tmp_path):
    outbox = tmp_path / "outbox"
    outbox.mkdir(mode=0o755)
    (outbox / "delivery-1.tmp").write_bytes(b"half a message from a crash")
    (outbox / "delivery-1.tmp").chmod(0o644)
    msg = new_email("wagewatch@localhost", "测试", "duty@example.org", "主题", "<delivery-1@wagewatch>", "正文")
    path = write_eml(msg, outbox, "delivery-1")
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert message_from_bytes(Path(path).read_bytes(), policy=policy.default)["Subject"] == "主题"
    assert sorted(p.name for p in outbox.iterdir()) == ["delivery-1.eml"]
    shutil.rmtree(outbox)  # removed while the service runs: the next message makes it again
    path = write_eml(msg, outbox, "delivery-2")
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700 and Path(path).exists()


@pytest.mark.parametrize("linesep", ["\n", "\r\n"])
@pytest.mark.parametrize("html", [None, "<p>正文</p>\n" * 80])
@pytest.mark.parametrize("attach", [False, True])
def test_emails_are_written_byte_for_byte_as_the_stdlib_generator_writes_them(tmp_path, linesep, html, attach):
    files = ()
    if attach:
        (tmp_path / "情况表.xlsx").write_bytes(bytes(range(256)) * 40)
        (tmp_path / "notes.txt").write_text("第一行\r\n第二行\r第三行\n", encoding="utf-8")
        files = (tmp_path / "情况表.xlsx", tmp_path / "notes.txt")
    msg = new_email(
        "wagewatch@localhost",
        '张三 <evil@example.org>, "李四"',
        "duty@example.org",
        "【红色预警】济南市历下区某建筑工地拖欠120名农民工工资约350万元 <script>alert(1)</script> " * 2,
        "<delivery-1@wagewatch>",
        "正文第一行\n\n.以点开头的行\r\n" * 50,
        html,
        files,
    )
    assert as_bytes(msg, linesep) == msg.as_bytes(policy=POLICY.clone(linesep=linesep))
    msg.preamble = "This is a MIME message."  # not a shape dispatch builds: the generator writes it
    assert as_bytes(msg, linesep) == msg.as_bytes(policy=POLICY.clone(linesep=linesep))


def test_non_ascii_headers_are_folded_as_compat32_folds_them():
    rng = random.Random(7)
    alphabet = "济南市历下区拖欠农民工工资约万元【红色预警】（）：，。 0123456789abcXYZ<>&\"'😀é"
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 220))) for _ in range(400)]
    values += ["行\n续行", "😀" * 40, " 前后空格 ", "a" * 90 + "济", "undecodable \udcff bytes"]
    for name in ("Subject", "To", "X-A-Rather-Long-Header-Name-For-The-First-Line"):
        for value in values:
            assert POLICY.fold_binary(name, value) == Compat32().fold_binary(name, value), (name, value)
