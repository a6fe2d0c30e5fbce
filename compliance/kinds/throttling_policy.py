"""``Get-ThrottlingPolicy``, ``New-``/``Set-``/``Remove-ThrottlingPolicy``: the dedicated UCCX policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compliance import parameters as known
from compliance.cmdlet import EXCHANGE, CommandSpec
from compliance.errors import InputError
from compliance.facts.model import Facts, Settings
from compliance.facts.values import same_name
from compliance.kinds.base import Observed, ResourceKind, about, setting_value, settings_of, text
from compliance.plan import Action, Change, ChangeKind


@dataclass(frozen=True)
class ThrottlingPolicy:
    name: str
    is_default: bool
    settings: Settings


class ThrottlingPolicyKind(ResourceKind[list[ThrottlingPolicy]]):
    stem = "GetThrottlingPolicy"
    cmdlet = "Get-ThrottlingPolicy"
    # Get-ThrottlingPolicy returns Exchange's own class: "public sealed class ThrottlingPolicy :
    # ADConfigurationObject" in namespace Microsoft.Exchange.Data.Directory.SystemConfiguration
    # (Microsoft.Exchange.Data.Directory.dll, 2013+, decompiled in PiratesRE/exchange_diff; Microsoft's
    # EWS throttling docs link microsoft.exchange.data.directory.systemconfiguration.throttlingpolicy).
    # No real source shows a Management.ThrottlingPolicy (the examples once used it), so only this
    # name is accepted. Exchange 2010's namespace is from the corrected shared reference, not from a
    # 2010 export (docs/facts-folder.md).
    type_names = ("Microsoft.Exchange.Data.Directory.SystemConfiguration.ThrottlingPolicy",)
    output_type = "ThrottlingPolicy"
    lab_cmdlets = ("get-throttlingpolicy", "new-throttlingpolicy", "set-throttlingpolicy", "remove-throttlingpolicy")
    change_kinds = (ChangeKind.THROTTLING_POLICY, ChangeKind.THROTTLING_SETTING)
    # Set-ThrottlingPolicy: Exchange 2010's and 2013+'s parameters (they differ; both are listed).
    parameters = known.by_cmdlet(
        {
            "New-ThrottlingPolicy": known.NEW_THROTTLING_POLICY,
            "Set-ThrottlingPolicy": known.SET_THROTTLING_POLICY,
            "Remove-ThrottlingPolicy": known.REMOVE_THROTTLING_POLICY,
        }
    )
    settings = known.THROTTLING_SETTINGS
    collector = """
Save-Facts 'GetThrottlingPolicy.xml' 'Get-ThrottlingPolicy' { Get-ThrottlingPolicy -ErrorAction Stop }
"""

    def parse(self, objects: list[Any], server: str | None) -> list[ThrottlingPolicy]:
        policies = []
        for obj in self.accepted(objects):
            # Exchange 2010 settings are Nullable<UInt32> and $null means "no limit". 2013+ policies
            # (recognisable by ThrottlingPolicyScope) say Unlimited instead, and there $null means
            # "not set here: inherit from the organization/global policy".
            is_2010 = not obj.has("ThrottlingPolicyScope")
            policies.append(
                ThrottlingPolicy(
                    name=str(text(obj, "Name")),
                    is_default=obj.get("IsDefault") is True,
                    settings=settings_of(obj, null_means_unlimited=is_2010),
                )
            )
        return policies

    def forward(self, change: Change) -> CommandSpec:
        if change.kind is ChangeKind.THROTTLING_POLICY:
            return self.command(EXCHANGE, "New-ThrottlingPolicy", {"Name": change.identity})
        return self.merged_set(change.identity, [change])

    def merged_set(self, identity: str, changes: list[Change]) -> CommandSpec:
        """One ``Set-ThrottlingPolicy`` with every setting of the policy."""
        parameters: dict[str, Any] = {"Identity": identity}
        seen: set[str] = set()
        for change in changes:
            setting = self.setting_of(change, "Set-ThrottlingPolicy")
            if setting.casefold() in seen:  # PowerShell would refuse a parameter given twice
                raise InputError(f"{about(change)}: {setting} is set twice in one policy")
            seen.add(setting.casefold())
            parameters[setting] = change.desired
        return self.command(EXCHANGE, "Set-ThrottlingPolicy", parameters)

    def inverse(self, change: Change, old: Any) -> CommandSpec | None:
        if change.kind is ChangeKind.THROTTLING_POLICY:
            return self.command(EXCHANGE, "Remove-ThrottlingPolicy", {"Identity": change.identity, "Confirm": False})
        if change.action is Action.CREATE:
            return None  # a setting of a policy apply created: the policy itself is removed
        setting = self.setting_of(change, "Set-ThrottlingPolicy")
        return self.command(EXCHANGE, "Set-ThrottlingPolicy", {"Identity": change.identity, setting: old})

    def observe(self, change: Change, facts: Facts) -> Observed:
        reading = facts.of(self)
        if (policies := reading.get()) is None:
            return Observed(error=reading.reason)
        policy = next((p for p in policies if same_name(p.name, change.identity)), None)
        if change.kind is ChangeKind.THROTTLING_POLICY:
            return Observed(policy.name if policy is not None else None)  # presence is the policy's name
        if policy is None:
            return Observed(None)  # a setting of a missing policy is absent
        return setting_value(policy.settings, change.setting or "", change.resource)


KIND = ThrottlingPolicyKind()
