"""The live value of each planned resource, read just before apply sends anything (and after).

The whole target is collected again with the plan's baseline and vars (the same reads and
parsers as ``plan``), then each change's resource is looked up in those facts. The value is the
one ``plan`` shows (``Setting.shown``), so it compares directly with a saved change's ``current``
(before) and ``desired`` (after, to verify).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from compliance.apply.commands import Kind, kind_of
from compliance.baseline.load import LoadedBaseline
from compliance.facts.collection import build_facts
from compliance.facts.model import Facts, Settings
from compliance.facts.values import same_name
from compliance.inventory import Target
from compliance.plan import Change


@dataclass(frozen=True)
class Observed:
    """A live value (``None`` is "absent" or ``$null``), or why it could not be read."""

    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def read_facts(
    target: Target,
    loaded: LoadedBaseline,
    *,
    password: str | None,
    allow_insecure_transport: bool = False,
    warn: Callable[[str], None] | None = None,
) -> Facts:
    """Collect ``target`` live, as ``plan`` does, with a password fetched once by the caller."""
    from compliance.remoting.collect import collect

    now = datetime.datetime.now(datetime.timezone.utc)
    raw = collect(
        target,
        loaded.collection_request(),
        password=password,
        allow_insecure_transport=allow_insecure_transport,
        now=now,
        warn=warn,
    )
    return build_facts(raw, source=target.exchange_endpoint, collected_at=now)


def same_value(a: Any, b: Any) -> bool:
    """Values as Exchange shows them: names compare case-insensitively, numbers exactly."""
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def _setting(settings: Settings, name: str, where: str) -> Observed:
    if name not in settings:
        return Observed(error=f"{name} was not in what Exchange returned for {where}")
    return Observed(settings[name].shown)


def observe(change: Change, facts: Facts) -> Observed:
    """The live value of the setting ``change`` changes."""
    kind = kind_of(change)
    setting = change.setting or ""
    if kind is Kind.IMAP:
        if not facts.imap.ok or facts.imap.value is None:
            return Observed(error=facts.imap.error or "IMAP settings not read")
        imap = next((i for i in facts.imap.value if same_name(i.server, change.identity)), None)
        if imap is None:
            return Observed(error=f"Get-ImapSettings returned nothing for {change.identity}")
        return _setting(imap.settings, setting, change.resource)
    if kind is Kind.RECEIVE_CONNECTOR:
        connectors = facts.receive_connectors
        if not connectors.ok or connectors.value is None:
            return Observed(error=connectors.error or "receive connectors not read")
        connector = next((c for c in connectors.value if c.identity.casefold() == change.identity.casefold()), None)
        if connector is None:
            return Observed(error=f"receive connector {change.identity} not found")
        return _setting(connector.settings, setting, change.resource)
    if kind in (Kind.THROTTLING_POLICY, Kind.THROTTLING_SETTING):
        policies = facts.throttling_policies
        if not policies.ok or policies.value is None:
            return Observed(error=policies.error or "throttling policies not read")
        policy = next((p for p in policies.value if same_name(p.name, change.identity)), None)
        if kind is Kind.THROTTLING_POLICY or policy is None:
            # Presence is the policy's name; a setting of a missing policy is absent (None).
            return Observed(policy.name if policy is not None and kind is Kind.THROTTLING_POLICY else None)
        return _setting(policy.settings, setting, change.resource)
    if kind is Kind.MAILBOX_POLICY:
        if not facts.mailbox.ok or facts.mailbox.value is None:
            return Observed(error=facts.mailbox.error or "mailbox not read")
        return Observed(facts.mailbox.value.throttling_policy)
    if kind is Kind.AD_PERMISSION:
        aces = facts.ad_permissions
        if not aces.ok or aces.value is None:
            return Observed(error=aces.error or "AD permissions not read")
        right = str(change.desired).casefold()
        granted = any(not e.deny and right in {r.casefold() for r in e.extended_rights} for e in aces.value)
        return Observed(change.desired if granted else None)
    return _registry(change, facts)


def _registry(change: Change, facts: Facts) -> Observed:
    reading = facts.registry_on(change.server or "")
    if not reading.ok or reading.value is None:
        return Observed(error=reading.error or f"registry of {change.server} not read")
    key = next((k for k in reading.value if k.path.casefold() == change.identity.casefold()), None)
    if key is None or (change.setting or "") not in key.values:
        return Observed(None)
    return Observed(key.values[change.setting or ""].shown)
