"""How refusals are read: the markers the probes rely on, checked on the servers' own words."""

from __future__ import annotations

from compliance.probe.advice import ProbeContext, classify_imap, classify_smtp, is_connection_limit_reply
from compliance.probe.result import Outcome, Refusal
from compliance.probe.session import FailureKind, SessionFailed

EXCHANGE_421 = (
    "421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel"
)
CTX = ProbeContext("mail.example.test", 143, "uccx@example.test", 60.0)


def refusal(session: int, stage: str, kind: FailureKind, words: str | None) -> Refusal:
    return Refusal(session, SessionFailed(stage, kind, words or "no words", words=words))


def test_exchange_421_4_3_2_is_the_connection_limit() -> None:
    assert is_connection_limit_reply(EXCHANGE_421)
    assert not is_connection_limit_reply("421 4.4.2 Connection dropped")
    assert not is_connection_limit_reply("450 4.3.2 mailbox busy")
    assert not is_connection_limit_reply(None)


def test_exchange_no_authenticate_failed_on_the_first_session_is_auth_rejected() -> None:
    # The words in the checklist's capture: Exchange says the same for a bad password.
    outcome, advice = classify_imap(CTX, 0, refusal(1, "login", FailureKind.NO, "A1 NO AUTHENTICATE failed."))
    assert outcome is Outcome.AUTH_REJECTED
    assert "probe while UCCX and the agents are logged off" in advice


def test_exchange_no_authenticate_failed_after_sixteen_is_throttled() -> None:
    outcome, advice = classify_imap(CTX, 16, refusal(17, "login", FailureKind.NO, "A2 NO AUTHENTICATE failed."))
    assert outcome is Outcome.THROTTLED
    assert "16 is the default of both MaxConnectionsPerUser" in advice
    assert "KB 980049" in advice


def test_refusal_before_login_points_at_per_source_limits() -> None:
    outcome, advice = classify_imap(CTX, 5, refusal(6, "greeting", FailureKind.DROPPED, None))
    assert outcome is Outcome.THROTTLED
    assert "MaxConnectionFromSingleIP" in advice


def test_smtp_first_connection_421_is_throttled_with_zero_accepted() -> None:
    outcome, advice = classify_smtp(CTX, 0, refusal(1, "greeting", FailureKind.REPLY, EXCHANGE_421))
    assert outcome is Outcome.THROTTLED
    assert "event 1021" in advice


def test_budget_is_incomplete_not_a_verdict() -> None:
    outcome, _ = classify_imap(CTX, 2, refusal(3, "login", FailureKind.BUDGET, None))
    assert outcome is Outcome.INCOMPLETE
