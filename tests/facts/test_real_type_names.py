"""The example folders carry the type names and display forms real Exchange 2010 writes.

Each name was confirmed against a real source before it was encoded (cited in the kind modules and
in docs/facts-folder.md): ``SystemConfiguration.ThrottlingPolicy`` (an ``ADConfigurationObject``),
``Management.Mailbox``, ``RecipientTasks.ADAcePresentationObject``, and the extended right as
``Get-ADPermission`` shows it, ``ms-Exch-Store-Visible``. A compliant folder with these names plans
as compliant; the old, unconfirmed ``Management.ThrottlingPolicy`` is refused with a reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compliance.facts.offline import read_clixml
from compliance.kinds import KINDS, ad_permission, mailbox, throttling_policy
from compliance.kinds.base import ResourceKind

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "facts"
COMPLIANT = EXAMPLES / "exchange2010-sp3-compliant"
SP1 = REPO / "baselines" / "uccx-exchange2010-sp1.yaml"
SYSCONF = "Microsoft.Exchange.Data.Directory.SystemConfiguration"

REAL_TYPES: dict[str, tuple[ResourceKind[Any], str]] = {
    "GetThrottlingPolicy.xml": (throttling_policy.KIND, f"{SYSCONF}.ThrottlingPolicy"),
    "GetMailbox.xml": (mailbox.KIND, "Microsoft.Exchange.Data.Directory.Management.Mailbox"),
    "GetADPermission.xml": (ad_permission.KIND, "Microsoft.Exchange.Management.RecipientTasks.ADAcePresentationObject"),
}


@pytest.mark.parametrize("folder", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
@pytest.mark.parametrize("file", sorted(REAL_TYPES))
def test_examples_use_the_real_type_name_and_the_kind_accepts_only_it(folder: str, file: str) -> None:
    kind, real = REAL_TYPES[file]
    assert kind.type_names == (real,)
    objects = read_clixml(EXAMPLES / folder / file)
    no_ace_yet = {
        ("exchange2010-sp3-defaults", "GetADPermission.xml"),
        ("exchange2019-defaults", "GetADPermission.xml"),
    }
    assert objects or (folder, file) in no_ace_yet
    assert [o.type_names[0] for o in objects] == [real] * len(objects)
    assert KINDS[kind.stem] is kind


def test_a_throttling_policy_is_an_ad_configuration_object() -> None:
    [*policies] = read_clixml(COMPLIANT / "GetThrottlingPolicy.xml")
    for policy in policies:
        assert policy.type_names[:3] == (
            f"{SYSCONF}.ThrottlingPolicy",
            f"{SYSCONF}.ADConfigurationObject",
            "Microsoft.Exchange.Data.Directory.ADObject",
        )


def test_the_ace_shows_the_rights_ad_name() -> None:
    [ace] = read_clixml(COMPLIANT / "GetADPermission.xml")
    assert list(ace.get("ExtendedRights")) == ["ms-Exch-Store-Visible"]
    [entry] = ad_permission.KIND.parse([ace], None)
    assert entry.grants("View Information Store status") and entry.grants("ms-exch-store-visible")
    assert not entry.grants("ms-Exch-Store-Admin")


def test_compliant_folder_with_real_names_plans_compliant(cli: Any) -> None:
    result = cli("plan", "--facts", COMPLIANT, "--baseline", SP1, "--format", "json")
    report = json.loads(result.out)
    assert (result.code, report["summary"]["unreadable"], report["summary"]["drift"]) == (0, 0, 0)
    [adp] = [c for c in report["compliant"] if c["check"] == "UCCX-ADP-001"]
    assert adp["evidence"] == "LAB\\uccx has 'View Information Store status' (shown as 'ms-Exch-Store-Visible')"


def test_the_unconfirmed_management_namespace_is_refused(copy_of: Any, cli: Any) -> None:
    folder = copy_of(COMPLIANT)
    path = folder / "GetThrottlingPolicy.xml"
    xml = path.read_text(encoding="utf-8-sig")
    path.write_text(
        xml.replace(
            f"<T>{SYSCONF}.ThrottlingPolicy</T>", "<T>Microsoft.Exchange.Data.Directory.Management.ThrottlingPolicy</T>"
        )
    )
    result = cli("plan", "--facts", folder, "--baseline", SP1, "--format", "json")
    report = json.loads(result.out)
    reasons = {u["reason"] for u in report["unreadable"]}
    assert result.code == 3 and len(reasons) == 1
    [reason] = reasons
    assert reason.startswith("GetThrottlingPolicy.xml: ")
    old = "Microsoft.Exchange.Data.Directory.Management.ThrottlingPolicy"
    assert f"expected {SYSCONF}.ThrottlingPolicy objects, found {old}" in reason
