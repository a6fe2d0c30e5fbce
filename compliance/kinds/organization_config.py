"""``Get-OrganizationConfig``: the organization's name and DN (what Get-ADPermission reads)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compliance.kinds.base import FactError, ResourceKind, text


@dataclass(frozen=True)
class Organization:
    name: str
    distinguished_name: str


class OrganizationConfigKind(ResourceKind[Organization]):
    stem = "GetOrganizationConfig"
    cmdlet = "Get-OrganizationConfig"
    type_names = ("Microsoft.Exchange.Data.Directory.Management.OrganizationConfig",)
    output_type = "OrganizationConfig"
    lab_cmdlets = ("get-organizationconfig",)
    # Read first on its own: Get-ADPermission needs its DistinguishedName.
    collector = """
$org = $null
try {
    $org = Get-OrganizationConfig -ErrorAction Stop
    Save-Facts 'GetOrganizationConfig.xml' 'Get-OrganizationConfig' { $org }
}
catch {
    Write-Warning ("GetOrganizationConfig.xml and GetADPermission.xml not written: {0}" -f $_.Exception.Message)
}
"""

    def parse(self, objects: list[Any], server: str | None) -> Organization:
        found = self.accepted(objects)
        if len(found) != 1:
            raise FactError(f"expected one organization, found {len(found)}")
        return Organization(
            name=str(text(found[0], "Name")), distinguished_name=str(text(found[0], "DistinguishedName"))
        )


KIND = OrganizationConfigKind()
