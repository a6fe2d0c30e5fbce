"""Each resource is matched to the baseline's identity, never to whatever a file holds.

A ``GetMailbox.xml`` that holds another mailbox (``Administrator``) must not be judged as the UCCX
mailbox: that check is unreadable with a reason naming the file and what it held, and no change,
no ps1 line, targets the other mailbox. The same for ``GetADPermission.xml`` entries of another
user. The folders are the shipped examples with one file rewritten.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compliance.facts.model import Facts
from compliance.kinds import ad_permission, mailbox
from compliance.pipeline import FactsFolder, plan_folder, read
from compliance.plan import Action, Change, ChangeKind
from compliance.reporters.json import report_dict

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "facts"
DEFAULTS = EXAMPLES / "exchange2010-sp3-defaults"
COMPLIANT = EXAMPLES / "exchange2010-sp3-compliant"
SP1 = REPO / "baselines" / "uccx-exchange2010-sp1.yaml"
UCCX_IDENTITY = "lab.local/Users/UCCX Email"


def as_administrator(xml: str) -> str:
    """The example's UCCX mailbox renamed into the Administrator's (alias, name, SMTP, DN, identity)."""
    return xml.replace("UCCX Email", "Administrator").replace("uccx", "Administrator")


def folder_with(copy_of: Any, source: Path, name: str, text: str) -> Path:
    folder: Path = copy_of(source)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def by_check(report: dict[str, Any], check: str) -> dict[str, list[Any]]:
    return {key: [r for r in report[key] if r["check"] == check] for key in ("changes", "unreadable", "compliant")}


@pytest.mark.parametrize("source", [DEFAULTS, COMPLIANT], ids=["defaults", "compliant"])
def test_another_mailbox_is_unreadable_and_nothing_targets_it(source: Path, copy_of: Any, cli: Any) -> None:
    xml = (source / "GetMailbox.xml").read_text(encoding="utf-8-sig")
    folder = folder_with(copy_of, source, "GetMailbox.xml", as_administrator(xml))
    result = cli("plan", "--facts", folder, "--baseline", SP1, "--format", "json")
    report = json.loads(result.out)
    mbx = by_check(report, "UCCX-MBX-001")
    assert mbx["changes"] == [] and mbx["compliant"] == []
    assert [u["reason"] for u in mbx["unreadable"]] == ["GetMailbox.xml holds mailbox 'Administrator', not 'uccx'"]
    assert result.code == 3
    assert not [c for c in report["changes"] if "Administrator" in json.dumps(c)]
    # Nor does the capacity summary show the other mailbox's throttling policy as UCCX's.
    [policy_row] = [row for row in report["capacity"] if str(row["limit"]).startswith("throttling")]
    assert policy_row["value"] is None and "another mailbox" in str(policy_row["note"]), policy_row
    # The reviewable script runs nothing against the other mailbox, nor any Set-Mailbox at all; it
    # only says why (in a comment).
    script = cli("plan", "--facts", folder, "--baseline", SP1, "--format", "ps1").out
    code = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in code if "Set-Mailbox" in line or "Administrator" in line]
    assert "# " in script and "GetMailbox.xml holds mailbox 'Administrator', not 'uccx'" in script
    # The AD permission check is still judged: the ACE says LAB\uccx, which the baseline names.
    adp = by_check(report, "UCCX-ADP-001")
    assert len(adp["compliant"] if source == COMPLIANT else adp["changes"]) == 1


@pytest.mark.parametrize(
    "wanted",
    [
        "uccx",  # alias
        "UCCX",  # case-insensitively
        "UCCX Email",  # name
        "uccx@lab.local",  # primary SMTP address
        "CN=UCCX Email,CN=Users,DC=lab,DC=local",  # DN
        "cn=uccx email,cn=users,dc=lab,dc=local",
        UCCX_IDENTITY,  # the identity Get-Mailbox shows
        "LAB\\uccx",  # domain\sam
    ],
)
def test_the_mailbox_is_found_by_each_identity_the_baseline_may_give(wanted: str) -> None:
    report = report_dict([plan_folder(SP1, COMPLIANT, {"uccx_mailbox": wanted})])
    assert report["summary"] == {"compliant": 29, "drift": 0, "unreadable": 0, "waived": 0}, report["unreadable"]
    [mbx] = by_check(report, "UCCX-MBX-001")["compliant"]
    assert mbx["evidence"] == "ThrottlingPolicy is UCCX"
    # The defaults folder: the change targets the mailbox's own identity, whichever name was given.
    changes = report_dict([plan_folder(SP1, DEFAULTS, {"uccx_mailbox": wanted})])["changes"]
    [change] = [c for c in changes if c["check"] == "UCCX-MBX-001"]
    assert change["identity"] == UCCX_IDENTITY


@pytest.mark.parametrize(
    "wanted", ["uccx2", "Administrator", "uccx@lab.local.example", "CN=UCCX,CN=Users,DC=lab,DC=local"]
)
def test_a_near_miss_is_not_the_mailbox(wanted: str) -> None:
    report = report_dict([plan_folder(SP1, COMPLIANT, {"uccx_mailbox": wanted})])
    [reason] = [u["reason"] for u in by_check(report, "UCCX-MBX-001")["unreadable"]]
    assert reason == f"GetMailbox.xml holds mailbox 'uccx', not {wanted!r}"
    assert not by_check(report, "UCCX-MBX-001")["compliant"]


def mailbox_change(identity: str) -> Change:
    return Change(
        check="UCCX-MBX-001",
        title="t",
        severity="critical",
        resource="mailbox uccx",
        identity=identity,
        setting="ThrottlingPolicy",
        current=None,
        desired="UCCX",
        requirement="exactly UCCX",
        action=Action.UPDATE,
        kind=ChangeKind.MAILBOX_POLICY,
    )


def facts_with(copy_of: Any, source: Path, name: str, text: str) -> Facts:
    return read(FactsFolder(folder_with(copy_of, source, name, text)))


def test_apply_re_read_of_another_mailbox_is_an_error_not_a_value(copy_of: Any) -> None:
    xml = (COMPLIANT / "GetMailbox.xml").read_text(encoding="utf-8-sig")
    assert mailbox.KIND.observe(mailbox_change(UCCX_IDENTITY), read(FactsFolder(COMPLIANT))).value == "UCCX"
    observed = mailbox.KIND.observe(
        mailbox_change(UCCX_IDENTITY), facts_with(copy_of, COMPLIANT, "GetMailbox.xml", as_administrator(xml))
    )
    assert observed.error == f"GetMailbox.xml holds mailbox 'Administrator', not {UCCX_IDENTITY!r}"


ACE_USER = "<ToString>LAB\\uccx</ToString>"


def ace_file(*users_and_rights: tuple[str, str, bool]) -> str:
    """GetADPermission.xml with one copy of the compliant example's ACE per (user, right, deny)."""
    xml = (COMPLIANT / "GetADPermission.xml").read_text(encoding="utf-8-sig")
    head, rest = xml.split("<Obj ", 1)
    body, tail = rest.rsplit("</Obj>", 1)
    objs = []
    for number, (user, right, deny) in enumerate(users_and_rights):
        obj = body.replace("LAB\\uccx", user).replace(">ms-Exch-Store-Visible<", f">{right}<")
        obj = obj.replace('<B N="Deny">false</B>', f'<B N="Deny">{str(deny).lower()}</B>')
        # RefIds must stay unique in one file: each copy gets its own range.
        objs.append("<Obj " + obj.replace('RefId="', f'RefId="{number}0'))
    return head + "</Obj>".join(objs) + "</Obj>" + tail


def test_the_example_ace_is_what_the_rewrites_start_from() -> None:
    xml = (COMPLIANT / "GetADPermission.xml").read_text(encoding="utf-8-sig")
    assert xml.count("<Obj RefId=") >= 1 and ACE_USER in xml and ">ms-Exch-Store-Visible<" in xml
    assert '<B N="Deny">false</B>' in xml


def adp(copy_of: Any, text: str, source: Path = COMPLIANT) -> dict[str, list[Any]]:
    folder = folder_with(copy_of, source, "GetADPermission.xml", text)
    return by_check(report_dict([plan_folder(SP1, folder, {})]), "UCCX-ADP-001")


@pytest.mark.parametrize(
    "right", ["ms-Exch-Store-Visible", "View Information Store status", "VIEW INFORMATION STORE STATUS"]
)
def test_the_right_is_recognised_in_either_form(right: str, copy_of: Any) -> None:
    [ok] = adp(copy_of, ace_file(("LAB\\uccx", right, False)))["compliant"]
    assert ok["evidence"].startswith("LAB\\uccx has 'View Information Store status'")
    if right == "ms-Exch-Store-Visible":
        assert "(shown as 'ms-Exch-Store-Visible')" in ok["evidence"]


def test_another_users_entries_only_are_unreadable_and_nothing_is_added(copy_of: Any, cli: Any) -> None:
    found = adp(copy_of, ace_file(("LAB\\Administrator", "ms-Exch-Store-Visible", False)), DEFAULTS)
    assert found["changes"] == [] and found["compliant"] == []
    assert [u["reason"] for u in found["unreadable"]] == [
        "GetADPermission.xml holds entries for 'LAB\\Administrator', not 'uccx'"
    ]


def test_another_users_deny_does_not_decide_uccx(copy_of: Any) -> None:
    text = ace_file(
        ("LAB\\Administrator", "ms-Exch-Store-Visible", True), ("LAB\\uccx", "ms-Exch-Store-Visible", False)
    )
    found = adp(copy_of, text)
    assert [c["evidence"] for c in found["compliant"]] == [
        "LAB\\uccx has 'View Information Store status' (shown as 'ms-Exch-Store-Visible')"
    ]


def test_uccx_without_the_right_among_others_is_a_change_for_uccx(copy_of: Any) -> None:
    text = ace_file(("LAB\\Administrator", "ms-Exch-Store-Visible", False), ("LAB\\uccx", "Send-As", False))
    [change] = adp(copy_of, text)["changes"]
    assert (change["principal"], change["desired"]) == ("uccx", "View Information Store status")


def test_observe_counts_only_the_principals_entries(copy_of: Any) -> None:
    facts = facts_with(
        copy_of, DEFAULTS, "GetADPermission.xml", ace_file(("LAB\\Administrator", "ms-Exch-Store-Visible", False))
    )
    change = Change(
        check="UCCX-ADP-001",
        title="t",
        severity="high",
        resource="organization LAB",
        identity="CN=LAB",
        setting="ExtendedRights",
        current=None,
        desired="View Information Store status",
        requirement="r",
        action=Action.ADD,
        kind=ChangeKind.AD_PERMISSION,
        principal="uccx",
    )
    observed = ad_permission.KIND.observe(change, facts)
    assert observed.error == "GetADPermission.xml holds entries for 'LAB\\Administrator', not 'uccx'"
