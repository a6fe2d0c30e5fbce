<#
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

$CollectorVersion = '1.0.0'
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

if ($serversListed) {
    Save-Facts 'GetExchangeServer.xml' 'Get-ExchangeServer' { $servers }
    Save-Facts 'GetImapSettings.xml' 'Get-ImapSettings on each Client Access server' {
        foreach ($s in @($servers | Where-Object { $_.IsClientAccessServer })) {
            Get-ImapSettings -Server $s.Name -ErrorAction Stop
        }
    }
    Save-Facts 'GetReceiveConnector.xml' 'Get-ReceiveConnector on each Hub Transport server' {
        foreach ($s in @($servers | Where-Object { $_.IsHubTransportServer })) {
            Get-ReceiveConnector -Server $s.Name -ErrorAction Stop
        }
    }
}
Save-Facts 'GetThrottlingPolicy.xml' 'Get-ThrottlingPolicy' { Get-ThrottlingPolicy -ErrorAction Stop }
Save-Facts 'GetMailbox.xml' "Get-Mailbox $UccxMailbox" { Get-Mailbox -Identity $UccxMailbox -ErrorAction Stop }

$org = $null
try {
    $org = Get-OrganizationConfig -ErrorAction Stop
    Save-Facts 'GetOrganizationConfig.xml' 'Get-OrganizationConfig' { $org }
}
catch {
    Write-Warning ("GetOrganizationConfig.xml and GetADPermission.xml not written: {0}" -f $_.Exception.Message)
}
if ($org) {
    # "View Information Store status" is granted on the organization object to the UCCX account.
    Save-Facts 'GetADPermission.xml' "Get-ADPermission for $UccxMailbox" {
        Get-ADPermission -Identity $org.DistinguishedName -User $UccxMailbox -ErrorAction Stop
    }
}

# Host reads, one WinRM session per server. The results come back deserialized
# ("Deserialized." type names); uccx-compliance matches type names by suffix.
$storeKey = 'HKLM:\SYSTEM\CurrentControlSet\Services\MSExchangeIS\ParametersSystem'
foreach ($s in @($servers | Where-Object { -not $_.IsEdgeServer })) {
    $name = $s.Name
    if ($s.IsMailboxServer) {
        Save-Facts "GetItemProperty-$name.xml" "store registry key on $name" {
            Invoke-Command -ComputerName $name -ErrorAction Stop -ArgumentList $storeKey -ScriptBlock {
                param($key)
                Get-ItemProperty -Path $key -ErrorAction Stop
            }
        }
    }
    Save-Facts "GetWinEvent-$name.xml" "Application log on $name" {
        Invoke-Command -ComputerName $name -ErrorAction Stop -ArgumentList $EventLookbackDays -ScriptBlock {
            param($days)
            $filter = @{
                LogName      = 'Application'
                ProviderName = 'MSExchangeIS', 'MSExchangeTransport'
                Id           = 9646, 1021
                StartTime    = (Get-Date).AddDays(-$days)
            }
            try {
                Get-WinEvent -FilterHashtable $filter -ErrorAction Stop
            }
            catch {
                # Get-WinEvent reports "no match" as an error ("No events were found that match the
                # specified selection criteria"); that is an empty result, anything else is not.
                if ($_.FullyQualifiedErrorId -notlike 'NoMatchingEventsFound*') { throw }
            }
        }
    }
    Save-Facts "GetService-$name.xml" "services on $name" {
        Invoke-Command -ComputerName $name -ErrorAction Stop -ScriptBlock {
            # A role that is not installed has no such service: leave it out rather than fail.
            Get-Service -Name 'MSExchangeIS', 'MSExchangeIMAP4' -ErrorAction SilentlyContinue
        }
    }
}

$who = [System.Security.Principal.WindowsIdentity]::GetCurrent().Name
@(
    'CollectedAtUtc: ' + $CollectedAt.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"),
    'EventLookbackDays: ' + $EventLookbackDays,
    'CollectedBy: ' + $who,
    'CollectorVersion: ' + $CollectorVersion,
    'Servers: ' + (@($servers | ForEach-Object { $_.Name }) -join ', ')
) | Out-File -FilePath (Join-Path -Path $OutputPath -ChildPath 'collection.txt') -Encoding UTF8

Write-Host ("Facts written to {0}" -f $OutputPath)
