"""Capacity: the IMAP connections UCCX needs against every limit that can refuse them.

Not a check (the baseline's minimums are the checks); a summary that shows the headroom left, so
an admin sizing a larger contact centre sees which limit runs out first. Each agent desktop opens
2 IMAP connections with the one UCCX account, plus UCCX's own: the formula is ``compliance.sizing``,
the same one ``probe imap`` uses (docs/baselines.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compliance import sizing
from compliance.baseline.model import Baseline
from compliance.facts.model import Facts
from compliance.facts.values import UNLIMITED, Setting, same_name
from compliance.kinds import exchange_server, imap_settings, mailbox, registry_value, throttling_policy

STORE_KEY = r"HKLM\SYSTEM\CurrentControlSet\Services\MSExchangeIS\ParametersSystem"
STORE_VALUE = "Maximum Allowed Service Sessions Per User"
STORE_DEFAULT = 16  # KB 980049: service sessions per user when the value is absent
IMAP_LIMITS = ("MaxConnectionsPerUser", "MaxConnections", "MaxConnectionFromSingleIP")
# The throttling setting's name differs by version: 2010 IMAPMaxConcurrency, 2013+ ImapMaxConcurrency.
CONCURRENCY_2010, CONCURRENCY_2013 = "IMAPMaxConcurrency", "ImapMaxConcurrency"


def connections_needed(variables: Mapping[str, Any]) -> int | None:
    agents, own = variables.get("agents"), variables.get("uccx_server_connections", 0)
    if not isinstance(agents, int) or not isinstance(own, int) or agents < 0 or own < 0:
        return None
    return sizing.connections_needed(agents, own)


def concurrency_name(baseline: Baseline | None) -> str:
    """The IMAP concurrency setting as the baseline's Exchange version spells it.

    The baseline's own throttling check names it when it has one; otherwise its ``applies_to``
    decides: a range that starts at 15 (2013) or later is the 2013+ policy model.
    """
    if baseline is None:
        return CONCURRENCY_2010
    rules = baseline.rules.throttling_policy
    for check in rules.checks if rules else []:
        if check.setting.casefold() == CONCURRENCY_2010.casefold():
            return check.setting
    lower = [bound for op, bound in baseline.version_range.clauses if op in (">=", ">", "==")]
    return CONCURRENCY_2013 if lower and max(lower)[0] >= 15 else CONCURRENCY_2010


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


def _policy_row(facts: Facts, needed: int, setting_name: str, uccx_mailbox: str | None) -> dict[str, Any]:
    """The IMAP concurrency of the policy that applies to the UCCX mailbox (assigned, else default)."""
    label = f"throttling {setting_name}"
    box, listed = facts.of(mailbox.KIND), facts.of(throttling_policy.KIND)
    found, policies = box.get(), listed.get()
    if found is None or policies is None:
        return _row("-", label, None, needed, box.reason or listed.reason)
    if uccx_mailbox and not found.answers_to(uccx_mailbox):
        # Another mailbox's policy says nothing about UCCX's (the check says the same: unreadable).
        return _row("-", label, None, needed, f"GetMailbox.xml holds another mailbox, not {uccx_mailbox!r}")
    assigned = found.throttling_policy
    policy = (
        next((p for p in policies if same_name(p.name, assigned)), None)
        if assigned
        else next((p for p in policies if p.is_default), None)
    )
    if policy is None:
        return _row("-", label, None, needed, f"policy {assigned or '(default)'} not found")
    setting = policy.settings.get(setting_name)  # Settings look names up case-insensitively
    return _row("-", f"{label} ({policy.name})", setting, needed)


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


def capacity(facts: Facts, variables: Mapping[str, Any], baseline: Baseline | None = None) -> list[dict[str, Any]]:
    """The rows; ``baseline`` names the settings as its Exchange version does."""
    needed = connections_needed(variables)
    if needed is None:
        return []
    mailbox_rule = baseline.rules.mailbox_policy if baseline is not None else None
    uccx = str(variables.get("uccx_mailbox") or (mailbox_rule.mailbox if mailbox_rule else "")) or None
    policy = _policy_row(facts, needed, concurrency_name(baseline), uccx)
    return [*_imap_rows(facts, needed), policy, *_store_rows(facts, needed)]
