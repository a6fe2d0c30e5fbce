"""The read-only PowerShell 2.0 collector script, assembled from the resource kinds' fragments.

The frame (parameters, ``Save-Facts``, the server list, ``collection.txt``) is here; each kind in
``compliance.kinds`` brings the fragment that writes its file, organization-wide kinds once and
per-server kinds inside the loop over servers (``$s``, ``$name``). ``uccx-compliance
collector-script`` prints the result, and the tests check it statically.
"""

from __future__ import annotations

from compliance.kinds import organization_kinds, server_kinds

_HEAD = r"""<#
.SYNOPSIS
    Collects, read-only, the Exchange facts that uccx-compliance checks for Cisco UCCX email.

.DESCRIPTION
    Run in the Exchange Management Shell (Exchange 2010 and later; PowerShell 2.0 is enough).
    Writes one Export-Clixml file per cmdlet into -OutputPath, plus collection.txt. Nothing is
    changed: only Get-* cmdlets run. Registry, event log and service reads go to each server over
    Invoke-Command (WinRM), so WinRM must reach every server in scope.

    A read that fails prints a warning naming the server and the error, and its file is left out:
    uccx-compliance then reports those checks as "not collected", never as compliant.

    Copy the whole folder to the machine that runs uccx-compliance and point it there:
        uccx-compliance plan --facts <folder> ...

.PARAMETER UccxMailbox
    The mailbox UCCX signs in with (alias, SMTP address or identity).

.PARAMETER OutputPath
    Folder to write. Default: .\uccx-facts-<yyyyMMdd-HHmmss> under the current directory.

.PARAMETER EventLookbackDays
    How many days of the Application log to search for events 9646 and 1021. Default 7.

.PARAMETER Server
    Collect only these servers (by name). The folder then describes only them.

.EXAMPLE
    .\collect-uccx-facts.ps1 -UccxMailbox uccx
#>
param(
    [Parameter(Mandatory = $true)]
    [string]$UccxMailbox,

    [string]$OutputPath = (Join-Path -Path (Get-Location).Path -ChildPath ('uccx-facts-' + (Get-Date -Format 'yyyyMMdd-HHmmss'))),

    [ValidateRange(1, 365)]
    [int]$EventLookbackDays = 7,

    [string[]]$Server
)

$CollectorVersion = '1.1.0'
$CollectedAt = (Get-Date).ToUniversalTime()

# Runs one read and exports what it returned. Any error (including a non-terminating one from an
# Exchange cmdlet) stops that read only: a warning names it and no file is written, because a
# missing file means "not collected" while an empty one means "nothing there".
function Save-Facts {
    param([string]$FileName, [string]$What, [scriptblock]$Read)
    $ErrorActionPreference = 'Stop'
    try {
        $result = @(& $Read)
        # Piped, not -InputObject: an empty result then writes an empty <Objs> root instead of
        # one serialized empty array.
        $result | Export-Clixml -Path (Join-Path -Path $OutputPath -ChildPath $FileName) -Encoding UTF8
    }
    catch {
        Write-Warning ("{0} not written ({1}): {2}" -f $FileName, $What, $_.Exception.Message)
    }
}

New-Item -Path $OutputPath -ItemType Directory -Force -ErrorAction Stop | Out-Null

# Servers in scope. If they cannot be listed, the server-scoped reads are skipped (their files stay
# absent, "not collected"); the organization-wide reads still run.
$servers = @()
$serversListed = $false
try {
    $servers = @(Get-ExchangeServer -ErrorAction Stop | Where-Object { -not $Server -or $Server -contains $_.Name })
    $serversListed = $true
    foreach ($wanted in @($Server | Where-Object { $_ })) {
        if (-not ($servers | Where-Object { $_.Name -eq $wanted })) { Write-Warning "No Exchange server named $wanted" }
    }
}
catch {
    Write-Warning ("Get-ExchangeServer failed, server facts not collected: {0}" -f $_.Exception.Message)
}

"""

_SERVERS = r"""# Host reads, one WinRM session per server. The results come back deserialized
# ("Deserialized." type names); uccx-compliance matches type names by suffix.
$storeKey = 'HKLM:\SYSTEM\CurrentControlSet\Services\MSExchangeIS\ParametersSystem'
foreach ($s in @($servers | Where-Object { -not $_.IsEdgeServer })) {
    $name = $s.Name
"""

_FOOT = r"""$who = [System.Security.Principal.WindowsIdentity]::GetCurrent().Name
@(
    'CollectedAtUtc: ' + $CollectedAt.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"),
    'EventLookbackDays: ' + $EventLookbackDays,
    'CollectedBy: ' + $who,
    'CollectorVersion: ' + $CollectorVersion,
    'Servers: ' + (@($servers | ForEach-Object { $_.Name }) -join ', ')
) | Out-File -FilePath (Join-Path -Path $OutputPath -ChildPath 'collection.txt') -Encoding UTF8

Write-Host ("Facts written to {0}" -f $OutputPath)
"""


def script() -> str:
    """The whole collector script, as printed by ``uccx-compliance collector-script``."""
    organization = "".join(kind.collector for kind in organization_kinds())
    per_server = "".join(kind.collector for kind in server_kinds())
    return _HEAD + organization.lstrip("\n") + "\n" + _SERVERS + per_server.lstrip("\n") + "}\n\n" + _FOOT
