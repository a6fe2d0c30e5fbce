"""Static checks of the collector script: what can be proved without a PowerShell binary.

Exchange 2010 runs Windows PowerShell 2.0, and the script must only read. So: every command it
invokes is on a read-only allow-list, no PowerShell 3.0+ construct appears, every fact-folder file
of the contract is written, and the command prints or saves exactly the packaged text.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from compliance.commands import collector_script
from compliance.errors import InputError
from compliance.kinds import KINDS

SCRIPT = collector_script.script_text()

# Writes allowed besides Get-*: the output folder, the exports, collection.txt and messages.
ALLOWED = {
    "Export-Clixml",
    "New-Item",
    "Join-Path",
    "Test-Path",
    "Write-Warning",
    "Write-Host",
    "Invoke-Command",
    "Out-File",
    "Out-Null",
    "Where-Object",
    "ForEach-Object",
    # In memory only: the RegQueryInfoKey wrapper compiled for the registry key's last write time,
    # and the object of it that reads the time. Nothing on the server changes.
    "Add-Type",
    "New-Object",
}
CONTRACT_FILES = [
    "GetExchangeServer.xml",
    "GetImapSettings.xml",
    "GetReceiveConnector.xml",
    "GetThrottlingPolicy.xml",
    "GetMailbox.xml",
    "GetOrganizationConfig.xml",
    "GetADPermission.xml",
    "collection.txt",
]
PER_SERVER_FILES = [
    "GetItemProperty-$name.xml",
    "GetWinEvent-$name.xml",
    "GetService-$name.xml",
    "GetServiceStartTime-$name.xml",
]
# PowerShell 3.0+ only (or Exchange-2010-hostile) constructs, each with why it is banned.
PS3_CONSTRUCTS = {
    r"ConvertTo-Json|ConvertFrom-Json": "JSON cmdlets arrived in PowerShell 3.0",
    r"\[ordered\]": "ordered hashtables are 3.0",
    r"\[pscustomobject\]": "the [pscustomobject] accelerator is 3.0",
    r"::new\(": "::new() is PowerShell 5.0",
    r"-ErrorAction\s+Ignore": "ErrorAction Ignore is 3.0",
    r"\$PSItem": "$PSItem is 3.0",
    r"-Depth\b": "Export-Clixml -Depth must not be relied on (and ConvertTo-Json is 3.0)",
    r"\$using:": "$using: is 3.0",
    r"\s-(not)?in\s": "-in/-notin are 3.0",
    r"\.(ForEach|Where)\(": ".ForEach()/.Where() are 4.0",
    r"Get-CimInstance": "CIM cmdlets are 3.0",
}


def code_only(text: str) -> str:
    """The script without comments, so help text may name cmdlets (Set-...) it never runs."""
    text = re.sub(r"<#.*?#>", "", text, flags=re.DOTALL)
    return "\n".join(line.split("#", 1)[0] if not line.lstrip().startswith("#") else "" for line in text.splitlines())


def invoked_commands(text: str) -> set[str]:
    words = set(re.findall(r"\b([A-Z][a-z]+-[A-Z][A-Za-z0-9]+)\b", code_only(text)))
    defined = set(re.findall(r"^\s*function\s+([A-Za-z]+-[A-Za-z0-9]+)", text, flags=re.MULTILINE))
    return words - defined


def test_only_read_only_commands_are_invoked() -> None:
    commands = invoked_commands(SCRIPT)
    not_allowed = sorted(c for c in commands if not c.startswith("Get-") and c not in ALLOWED)
    assert not_allowed == []
    # The check above must be able to fail: it sees the Exchange reads it is meant to see.
    assert {"Get-ImapSettings", "Get-ReceiveConnector", "Get-ADPermission", "Get-WinEvent"} <= commands


def test_the_allow_list_check_catches_a_change() -> None:
    assert invoked_commands(SCRIPT + "\nSet-ImapSettings -Server EX01 -MaxConnections 2400\n") - invoked_commands(
        SCRIPT
    ) == {"Set-ImapSettings"}
    assert "Set-ImapSettings" not in invoked_commands(SCRIPT + "\n# Set-ImapSettings is for the admin\n")


@pytest.mark.parametrize("pattern", sorted(PS3_CONSTRUCTS))
def test_no_powershell_3_constructs(pattern: str) -> None:
    match = re.search(pattern, code_only(SCRIPT), flags=re.IGNORECASE)
    assert match is None, f"{PS3_CONSTRUCTS[pattern]}: {match.group(0) if match else ''}"


def test_script_is_ascii_so_powershell_2_reads_it_in_any_code_page() -> None:
    SCRIPT.encode("ascii")


def test_every_contract_file_is_written() -> None:
    for name in [*CONTRACT_FILES, *PER_SERVER_FILES]:
        assert f"'{name}'" in SCRIPT or f'"{name}"' in SCRIPT, name
    # Exports go through UTF-8 (with BOM on Windows PowerShell), as the contract's files are.
    assert "Export-Clixml -Path (Join-Path -Path $OutputPath -ChildPath $FileName) -Encoding UTF8" in SCRIPT


def test_parameters_and_no_match_handling() -> None:
    assert re.search(r"\[Parameter\(Mandatory = \$true\)\]\s*\[string\]\$UccxMailbox", SCRIPT)
    assert re.search(r"\[int\]\$EventLookbackDays = 7", SCRIPT)
    assert "[string[]]$Server" in SCRIPT and "$OutputPath = (Join-Path" in SCRIPT
    # Get-WinEvent's "no events" and "no such provider here" errors are empty; anything else is rethrown.
    assert "NoMatchingEventsFound" in SCRIPT and "NoMatchingProvidersFound" in SCRIPT and "{ throw }" in SCRIPT


def test_braces_and_parentheses_are_balanced() -> None:
    # Strings can hold brackets (format strings do), so count in code without quoted strings.
    code = re.sub(r"'[^'\n]*'|\"[^\"\n]*\"", "''", code_only(SCRIPT))
    for opening, closing in ("{}", "()", "[]"):
        depth = 0
        for char in code:
            depth += (char == opening) - (char == closing)
            assert depth >= 0, f"unbalanced {closing}"
        assert depth == 0, f"unbalanced {opening}{closing}"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="uccx-compliance collector-script")
    collector_script.add_arguments(parser)
    return parser.parse_args(argv)


def test_command_prints_the_assembled_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert collector_script.run(parse([])) == 0
    out = capsys.readouterr().out
    assert out == SCRIPT
    # Every kind's fragment is in it, in registry order.
    fragments = [kind.collector.strip() for kind in KINDS.values()]
    positions = [out.find(fragment) for fragment in fragments]
    assert -1 not in positions and positions == sorted(positions)


def test_out_writes_a_bom_crlf_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "collect-uccx-facts.ps1"
    assert collector_script.run(parse(["--out", str(target)])) == 0
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf<#")
    assert raw[3:].decode("utf-8").replace("\r\n", "\n") == SCRIPT.replace("\r\n", "\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert capsys.readouterr().out == ""  # the script goes to the file only


def test_out_to_an_unwritable_place_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot write the collector script"):
        collector_script.run(parse(["--out", str(tmp_path / "missing" / "x.ps1")]))
