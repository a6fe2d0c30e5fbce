"""``--notify webhook=URL``: after an audit, POST a JSON summary of what moved since the last run.

The payload (docs/operations.md, "Notifications") is built from the plans alone, never from the
inventory: target names, check ids, resources, titles, counts and the waivers' own fields. No
setting value, no endpoint URL, no password or keytab path can reach it, because nothing that holds
one is an input of ``build_payload``.

The webhook URL itself is a secret: Slack, Teams and most chat webhooks carry their token in the
path. So it is never printed or logged whole: every message shows ``scheme://host/…`` (``shown``),
and a URL with ``user:password@`` is refused (a credential in a URL ends up in proxies' logs; a
header-less token in the path is the webhook convention and all we support).

Delivery is best effort with a bounded cost: a few attempts with exponential backoff on connection
errors, timeouts, 5xx and 429 (whose ``Retry-After`` is honoured up to a cap), never on another
4xx (the request itself is wrong; sending it again cannot help), and a deadline for the whole
delivery. A failed notification is a warning on stderr; it never changes the audit's exit code,
which is the verdict on Exchange, not on the chat server.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from compliance.errors import InputError
from compliance.plan import Change, Finding, Plan, WaiverRef
from compliance.reporters.common import combined_exit
from compliance.reporters.context import RunContext

SCHEMA = "uccx-compliance/notify/1"
DEFAULT_EXPIRING_DAYS = 14
LIST_CAP = 100  # entries per list in the payload; the rest is counted, so a chat message stays readable
_VERDICTS = {0: "compliant", 1: "input-error", 2: "drift", 3: "incomplete"}

log = logging.getLogger(__name__)

DriftKey = tuple[str, str, str]  # (target, check, resource), as the history stores drift


class NotifyFailed(Exception):
    """The summary could not be delivered; the message is one line and never holds the URL."""


def shown(url: str) -> str:
    """``scheme://host/…``: enough to tell which webhook, never its token."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


@dataclass(frozen=True)
class Notifier:
    """Where and how to deliver. ``sleep`` and ``clock`` are injectable so tests need not wait."""

    url: str = field(repr=False)  # holds the webhook's token: never in a repr, a message or a log
    timeout_s: float = 10.0  # one attempt
    attempts: int = 4
    backoff_s: float = 1.0  # 1, 2, 4 ... seconds between attempts
    max_wait_s: float = 30.0  # the longest wait between two attempts, Retry-After included
    deadline_s: float = 60.0  # the whole delivery, waits included
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    @property
    def shown(self) -> str:
        return shown(self.url)

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.timeout_s <= 0 or self.deadline_s <= 0:
            raise ValueError("a Notifier needs at least one attempt, a timeout and a deadline")

    def send(self, payload: dict[str, Any]) -> int:
        """POST ``payload``; the number of attempts it took. Raises ``NotifyFailed``."""
        body = json.dumps(payload, sort_keys=True).encode("utf-8")
        start = self.clock()
        attempt = 0
        why = "no time left for an attempt"
        while attempt < self.attempts:
            left = self.deadline_s - (self.clock() - start)
            if left <= 0:
                break
            attempt += 1
            outcome = self._attempt(body, min(self.timeout_s, left))
            if outcome is None:
                log.info("notification delivered to %s (attempt %d)", self.shown, attempt)
                return attempt
            why = outcome.why
            if not outcome.retry or attempt == self.attempts:
                break
            wait = self.backoff_s * 2 ** (attempt - 1) if outcome.wait is None else outcome.wait
            if wait > self.max_wait_s:
                raise NotifyFailed(f"{self.shown}: {why}; it asked to wait {wait:g}s, more than {self.max_wait_s:g}s")
            if self.clock() - start + wait >= self.deadline_s:
                why += f"; no time left within {self.deadline_s:g}s for another attempt"
                break
            log.info("notification to %s: %s; retrying in %gs", self.shown, why, wait)
            self.sleep(wait)
        raise NotifyFailed(f"{self.shown}: {why} (gave up after {attempt} attempt(s))")

    def _attempt(self, body: bytes, timeout: float) -> _Failure | None:
        """One POST: None when delivered (2xx), else why and whether to try again."""
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                response.read(65536)  # drain a little; the body is the server's and never shown
            return None
        except urllib.error.HTTPError as exc:
            status = exc.code
            retry_after = exc.headers.get("Retry-After")
            exc.close()
            if status == 429:
                return _Failure("HTTP 429 (too many requests)", retry=True, wait=_retry_after(retry_after))
            if status >= 500:
                return _Failure(f"HTTP {status}", retry=True)
            # 3xx (redirects are not followed: the payload goes to the configured host only) and 4xx.
            return _Failure(f"HTTP {status}, not retried", retry=False)
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            if isinstance(reason, TimeoutError):
                return _Failure(f"no answer within {timeout:g}s", retry=True)
            text = getattr(reason, "strerror", None) or type(reason).__name__
            return _Failure(f"cannot connect ({text})", retry=True)


@dataclass(frozen=True)
class _Failure:
    why: str  # one line, never the URL
    retry: bool
    wait: float | None = None  # what Retry-After asked for; None: the backoff decides


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx surfaces as HTTPError: the summary is never sent to another host


_OPENER = urllib.request.build_opener(_NoRedirect)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())


def parse_notify(spec: str, **options: Any) -> Notifier:
    """The value of ``--notify``: ``webhook=URL`` with an http(s) URL and no userinfo."""
    kind, sep, url = spec.partition("=")
    if not sep or kind.strip() != "webhook":
        # Name a mistyped kind ("slack"), but never echo a value: it may be the URL, token and all.
        name = kind.strip()
        got = f", got {name!r}" + ("=…" if sep else "") if name.isidentifier() and len(name) <= 20 else ""
        raise InputError(f"--notify: expected webhook=URL{got}")
    url = url.strip()
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018  # raises ValueError on a port that is not a number
    except ValueError:
        raise InputError("--notify: webhook URL is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        scheme = parts.scheme or "none"
        raise InputError(f"--notify: webhook URL must be http:// or https:// with a host (scheme {scheme!r})")
    if parts.username is not None or parts.password is not None:
        raise InputError(
            f"--notify: webhook URL {shown(url)} holds user:password@; a credential in a URL leaks into "
            "logs and proxies (put the token where the service expects it, usually the path)"
        )
    return Notifier(url=url, **options)


def deliver(notifier: Notifier, payload: dict[str, Any]) -> bool:
    """Send; on failure one warning on stderr. True when delivered. Never raises, never exits."""
    from compliance import output

    try:
        notifier.send(payload)
    except NotifyFailed as exc:
        output.note(f"warning: --notify: notification not delivered: {exc}")
        return False
    return True


def _key(plan: Plan) -> str:
    return plan.target or plan.source


def _drift(plan: Plan) -> Iterable[Change | Finding]:
    yield from plan.changes
    yield from plan.findings


def _entry(target: str, result: Change | Finding) -> dict[str, Any]:
    return {
        "target": target,
        "check": result.check,
        "resource": result.resource,
        "title": result.title,
        "severity": result.severity,
    }


def _capped(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"count": len(entries), "items": entries[:LIST_CAP], "more": max(0, len(entries) - LIST_CAP)}


def build_payload(
    plans: Sequence[Plan],
    *,
    previous_drift: set[DriftKey] | None,
    expiring: Sequence[WaiverRef],
    run: RunContext,
    expiring_days: int = DEFAULT_EXPIRING_DAYS,
) -> dict[str, Any]:
    """The summary one audit posts (schema in docs/operations.md).

    ``previous_drift`` is the drift of the previous run from the history, as (target, check,
    resource); None means there is no history, and then every drift counts as appeared. Drift
    is "fixed" only when that check on that resource is compliant now: unreadable or waived is not
    fixed. ``expiring`` are the waivers in use that expire within ``expiring_days`` (the caller
    picks them, from the waivers file, so a waiver that matched nothing still warns); one already
    expired is left out, since it is a finding of its own and so already drift.
    """
    targets: list[dict[str, Any]] = []
    appeared: list[dict[str, Any]] = []
    fixed: list[dict[str, Any]] = []
    now_drift: set[DriftKey] = set()
    for plan in plans:
        target = _key(plan)
        verdict = "not-planned" if plan.not_planned is not None else _VERDICTS[int(plan.exit_code)]
        targets.append({"target": target, "verdict": verdict, **plan.summary()})
        for result in _drift(plan):
            key = (target, result.check, result.resource)
            now_drift.add(key)
            if previous_drift is None or key not in previous_drift:
                appeared.append(_entry(target, result))
        if previous_drift:
            for ok in plan.compliant:
                was = (target, ok.check, ok.resource)
                if was in previous_drift and was not in now_drift:
                    fixed.append({"target": target, "check": ok.check, "resource": ok.resource, "title": ok.title})
    today = run.started_at.astimezone(datetime.timezone.utc).date()
    soon = sorted(
        (w for w in expiring if 0 <= (w.expires - today).days <= expiring_days),
        key=lambda w: (w.expires, w.check, w.resource),
    )
    waivers = [
        {
            "check": w.check,
            "resource": w.resource,
            "approver": w.approver,
            "expires": w.expires.isoformat(),
            "days_left": (w.expires - today).days,
            "source": w.source,
        }
        for w in soon
    ]
    exit_code = int(combined_exit(plans))
    text = (
        f"uccx-compliance audit {run.run_id}: {_VERDICTS.get(exit_code, exit_code)} "
        f"({len(targets)} target(s)); drift appeared {len(appeared)}, fixed {len(fixed)}, "
        f"waivers expiring within {expiring_days} days {len(waivers)}"
    )
    return {
        "schema": SCHEMA,
        "text": text,  # one line for chat webhooks that show only ``text`` (Slack)
        "run": {
            "id": run.run_id,
            "started_at": run.started_at.astimezone(datetime.timezone.utc).isoformat(),
            "duration_s": round(run.duration_s, 3),
        },
        "exit_code": exit_code,
        "compared_with_previous_run": previous_drift is not None,
        "targets": targets,
        "drift_appeared": _capped(appeared),
        "drift_fixed": _capped(fixed),
        "waivers_expiring": {"within_days": expiring_days, **_capped(waivers)},
    }
