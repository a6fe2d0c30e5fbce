"""Capacity: the IMAP connections UCCX needs against every limit that can refuse them.

Not a check (the baseline's minimums are the checks); a summary that shows the headroom left, so
an admin sizing a larger contact centre sees which limit runs out first. Each agent desktop opens
2 IMAP connections with the one UCCX account, plus UCCX's own (docs/baselines.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compliance.facts.model import Facts, Settings
from compliance.facts.values import UNLIMITED, Setting, same_name
from compliance.kinds import exchange_server, imap_settings, mailbox, registry_value, throttling_policy

STORE_KEY = r"HKLM\SYSTEM\CurrentControlSet\Services\MSExchangeIS\ParametersSystem"
STORE_VALUE = "Maximum Allowed Service Sessions Per User"
STORE_DEFAULT = 16  # KB 980049: service sessions per user when the value is absent
IMAP_LIMITS = ("MaxConnectionsPerUser", "MaxConnections", "MaxConnectionFromSingleIP")


def connections_needed(variables: Mapping[str, Any]) -> int | None:
    agents, own = variables.get("agents"), variables.get("uccx_server_connections", 0)
    if not isinstance(agents, int) or not isinstance(own, int):
        return None
    return 2 * agents + own


def _row(server: str, limit: str, setting: Setting | None, needed: int, note: str = "") -> dict[str, Any]:
    if setting is None:
        return {
            "server": server,
            "limit": limit,
            "value": None,
            "needed": needed,
            "headroom": None,
            "ok": None,
            "note": note or "not read",
        }
    if setting.value is UNLIMITED:
        return {
            "server": server,
            "limit": limit,
            "value": "Unlimited",
            "needed": needed,
            "headroom": "unlimited",
            "ok": True,
            "note": note,
        }
    if not isinstance(setting.value, int) or isinstance(setting.value, bool):
        return {
            "server": server,
            "limit": limit,
            "value": setting.shown,
            "needed": needed,
            "headroom": None,
            "ok": None,
            "note": note or "not a number",
        }
    return {
        "server": server,
        "limit": limit,
        "value": setting.value,
        "needed": needed,
        "headroom": setting.value - needed,
        "ok": setting.value >= needed,
        "note": note,
    }


def _imap_rows(facts: Facts, needed: int) -> list[dict[str, Any]]:
    reading = facts.of(imap_settings.KIND)
    if (found := reading.get()) is None:
        return [_row("-", f"IMAP {limit}", None, needed, reading.reason) for limit in IMAP_LIMITS]
    rows = []
    for imap in found:
        for limit in IMAP_LIMITS:
            note = (
                "worst case: every connection from one address (NAT, virtual desktops)"
                if limit == "MaxConnectionFromSingleIP"
                else ""
            )
            rows.append(_row(imap.server, f"IMAP {limit}", imap.settings.get(limit), needed, note))
    return rows


def _policy_row(facts: Facts, needed: int) -> dict[str, Any]:
    """IMAPMaxConcurrency of the policy that applies to the UCCX mailbox (assigned, else default)."""
    label = "throttling IMAPMaxConcurrency"
    box, listed = facts.of(mailbox.KIND), facts.of(throttling_policy.KIND)
    found, policies = box.get(), listed.get()
    if found is None or policies is None:
        return _row("-", label, None, needed, box.reason or listed.reason)
    assigned = found.throttling_policy
    policy = (
        next((p for p in policies if same_name(p.name, assigned)), None)
        if assigned
        else next((p for p in policies if p.is_default), None)
    )
    if policy is None:
        return _row("-", label, None, needed, f"policy {assigned or '(default)'} not found")
    setting = _imap_concurrency(policy.settings)
    return _row("-", f"{label} ({policy.name})", setting, needed)


def _imap_concurrency(settings: Settings) -> Setting | None:
    for name in ("IMAPMaxConcurrency", "ImapMaxConcurrency"):
        if name in settings:
            return settings[name]
    return None


def _store_rows(facts: Facts, needed: int) -> list[dict[str, Any]]:
    rows = []
    servers = facts.of(exchange_server.KIND).get() or []
    for server in (s for s in servers if s.has_role("Mailbox")):
        reading = facts.on(registry_value.KIND, server.name)
        label = f"store {STORE_VALUE}"
        if (keys := reading.get()) is None:
            rows.append(_row(server.name, label, None, needed, reading.reason))
            continue
        key = next((k for k in keys if k.path.casefold() == STORE_KEY.casefold()), None)
        if key is not None and STORE_VALUE in key.values:
            rows.append(_row(server.name, label, key.values[STORE_VALUE], needed))
        else:
            rows.append(
                _row(
                    server.name,
                    label,
                    Setting(STORE_DEFAULT, STORE_DEFAULT),
                    needed,
                    "value absent: the store's default of 16 applies (KB 980049)",
                )
            )
    return rows


def capacity(facts: Facts, variables: Mapping[str, Any]) -> list[dict[str, Any]]:
    needed = connections_needed(variables)
    if needed is None:
        return []
    return [*_imap_rows(facts, needed), _policy_row(facts, needed), *_store_rows(facts, needed)]
