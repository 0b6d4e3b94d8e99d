"""What an SMTP failure means depends on where in the protocol it happened: before the server has the whole
message nothing was sent (retry, or dead for a 5xx refusal), after its 250 the message is sent whatever QUIT
says, and only a break while waiting for that 250 leaves the outcome unknown."""

from __future__ import annotations

import pytest

from wagewatch.alerts.channels import ChannelError
from wagewatch.alerts.channels.email import new_email, smtp_send
from wagewatch.bench.sends import FlakySmtpServer
from wagewatch.core.config import SmtpSettings


def _send(stage: str) -> tuple[FlakySmtpServer, str | ChannelError]:
    with FlakySmtpServer(1.0, 1, {stage: 1}) as server:
        msg = new_email("wagewatch@localhost", "测试", "duty@example.org", "主题", "<delivery-1@wagewatch>", "正文")
        try:
            return server, smtp_send(msg, SmtpSettings(host="127.0.0.1", port=server.port, timeout_seconds=5))
        except ChannelError as exc:
            return server, exc


@pytest.mark.parametrize("stage", ["ehlo", "mail", "rcpt", "data-cmd", "mail-451"])
def test_a_failure_before_the_message_is_complete_is_retried(stage):
    server, outcome = _send(stage)
    assert isinstance(outcome, ChannelError) and not outcome.ambiguous and not outcome.permanent, outcome
    assert not server.log.taken and not server.log.maybe


def test_a_5xx_refusal_is_final():
    server, outcome = _send("rcpt-550")
    assert isinstance(outcome, ChannelError) and outcome.permanent and not outcome.ambiguous
    assert "550" in str(outcome) and not server.log.taken


def test_a_drop_after_the_data_before_its_reply_is_ambiguous():
    server, outcome = _send("after-data")
    assert isinstance(outcome, ChannelError) and outcome.ambiguous
    assert server.log.maybe == ["<delivery-1@wagewatch>"]


def test_accepted_then_421_at_quit_is_sent_once():
    server, outcome = _send("quit-421")
    assert outcome == "<delivery-1@wagewatch>"
    assert server.log.taken == ["<delivery-1@wagewatch>"]
