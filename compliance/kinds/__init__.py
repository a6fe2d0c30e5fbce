"""The resource-kind registry: every Exchange and Windows resource the tool reads, in one table.

Each kind lives in its own module (``imap_settings``, ``receive_connector``...) and declares
everything about its resource (``compliance.kinds.base.ResourceKind``). The live reads, the
offline folder, the collector script, the lab and apply all walk these two tables, so a new kind
is one module plus one line here (docs/architecture.md walks through it).
"""

from __future__ import annotations

from typing import Any

from compliance.errors import ApplyError
from compliance.kinds import (
    ad_permission,
    event_log,
    exchange_server,
    imap_settings,
    mailbox,
    organization_config,
    receive_connector,
    registry_key_time,
    registry_value,
    service,
    service_start,
    throttling_policy,
)
from compliance.kinds.base import Changeable, Endpoint, ResourceKind
from compliance.plan import Change, ChangeKind

# File stem -> kind, in the order the collector script and a live collection read them.
KINDS: dict[str, ResourceKind[Any]] = {
    "GetExchangeServer": exchange_server.KIND,
    "GetImapSettings": imap_settings.KIND,
    "GetReceiveConnector": receive_connector.KIND,
    "GetThrottlingPolicy": throttling_policy.KIND,
    "GetMailbox": mailbox.KIND,
    "GetOrganizationConfig": organization_config.KIND,
    "GetADPermission": ad_permission.KIND,
    "GetItemProperty": registry_value.KIND,
    "GetRegistryKeyTime": registry_key_time.KIND,
    "GetWinEvent": event_log.KIND,
    "GetService": service.KIND,
    "GetServiceStartTime": service_start.KIND,
}

# What apply can change -> the kind that knows how (forward, inverse, observe).
CHANGE_HANDLERS: dict[ChangeKind, Changeable] = {
    ChangeKind.THROTTLING_POLICY: throttling_policy.KIND,
    ChangeKind.THROTTLING_SETTING: throttling_policy.KIND,
    ChangeKind.MAILBOX_POLICY: mailbox.KIND,
    ChangeKind.AD_PERMISSION: ad_permission.KIND,
    ChangeKind.IMAP: imap_settings.KIND,
    ChangeKind.RECEIVE_CONNECTOR: receive_connector.KIND,
    ChangeKind.REGISTRY: registry_value.KIND,
}


def handler(change: Change) -> Changeable:
    """The kind that makes, undoes and observes ``change``."""
    found = CHANGE_HANDLERS.get(change.kind)
    if found is None:
        raise ApplyError(f"{change.check} on {change.resource}: no remediation cmdlet is known for {change.kind}")
    return found


def organization_kinds() -> list[ResourceKind[Any]]:
    return [k for k in KINDS.values() if not k.per_server]


def server_kinds() -> list[ResourceKind[Any]]:
    return [k for k in KINDS.values() if k.per_server]


__all__ = ["CHANGE_HANDLERS", "KINDS", "Endpoint", "ResourceKind", "handler", "organization_kinds", "server_kinds"]
