"""Value normalisation: what a raw Exchange value means (``Setting.value``) and how it is shown
(``Setting.shown``, the way Exchange prints it: ``20``, ``"Unlimited"``, ``None`` for ``$null``).

Objects are built in the neutral ``PSObj`` form the CLIXML reader produces, with the type names and
property shapes of the real exports (tests/fixtures/real).
"""

from __future__ import annotations

from typing import Any

import pytest

from compliance.facts.model import Settings
from compliance.facts.psobject import PSObj, strip_deserialized
from compliance.facts.values import UNLIMITED, Setting, ad_object_name, byte_quantity, normalize, same_name
from compliance.kinds import throttling_policy

UNLIMITED_INT = "Microsoft.Exchange.Data.Unlimited`1[[System.Int32, mscorlib, Version=4.0.0.0]]"
UNLIMITED_BQS = (
    "Microsoft.Exchange.Data.Unlimited`1[[Microsoft.Exchange.Data.ByteQuantifiedSize, "
    "Microsoft.Exchange.Data, Version=15.0.0.0]]"
)
BQS = "Microsoft.Exchange.Data.ByteQuantifiedSize"
AD_OBJECT_ID = "Microsoft.Exchange.Data.Directory.ADObjectId"
SCOPE_ENUM = "Microsoft.Exchange.Data.Directory.SystemConfiguration.ThrottlingPolicyScopeType"
POLICY = "Microsoft.Exchange.Data.Directory.SystemConfiguration.ThrottlingPolicy"


def unlimited_obj(value: int | None, type_name: str = UNLIMITED_INT) -> PSObj:
    """``Unlimited<Int32>`` as exported: ToString plus IsUnlimited and, when limited, Value."""
    if value is None:
        return PSObj((type_name, "System.ValueType"), "Unlimited", {"IsUnlimited": True})
    return PSObj((type_name, "System.ValueType"), str(value), {"IsUnlimited": False, "Value": value})


def bqs(text: str) -> PSObj:
    return PSObj((BQS, "System.ValueType"), text)


def ad_id(name: str, dn: str) -> PSObj:
    return PSObj(
        (AD_OBJECT_ID, "Microsoft.Exchange.Data.ObjectId"),
        name,
        {"Name": name, "DistinguishedName": dn, "Rdn": f"CN={name}"},
    )


NORMALIZED = [
    pytest.param(unlimited_obj(None), UNLIMITED, "Unlimited", id="Unlimited<Int32>-unlimited"),
    pytest.param(unlimited_obj(20), 20, 20, id="Unlimited<Int32>-20"),
    pytest.param(unlimited_obj(5), 5, 5, id="Unlimited<Int32>-5"),
    pytest.param(
        PSObj((UNLIMITED_BQS,), "Unlimited", {"IsUnlimited": True}),
        UNLIMITED,
        "Unlimited",
        id="Unlimited<ByteQuantifiedSize>-unlimited",
    ),
    pytest.param(
        PSObj(
            (UNLIMITED_BQS,),
            "10 MB (10,485,760 bytes)",
            {"IsUnlimited": False, "Value": bqs("10 MB (10,485,760 bytes)")},
        ),
        10485760,
        "10 MB (10,485,760 bytes)",
        id="Unlimited<ByteQuantifiedSize>-10MB",
    ),
    pytest.param(bqs("36 MB (37,748,736 bytes)"), 37748736, "36 MB (37,748,736 bytes)", id="ByteQuantifiedSize"),
    pytest.param(bqs("0 B (0 bytes)"), 0, "0 B (0 bytes)", id="ByteQuantifiedSize-zero"),
    pytest.param("1.953 GB (2,097,152,000 bytes)", 2097152000, "1.953 GB (2,097,152,000 bytes)", id="size-as-text"),
    pytest.param(ad_id("UCCX", "CN=UCCX,CN=Global Settings,CN=LAB"), "UCCX", "UCCX", id="ADObjectId"),
    pytest.param(2400, 2400, 2400, id="int"),
    pytest.param(0, 0, 0, id="zero"),
    pytest.param(True, True, True, id="bool"),
    pytest.param("unlimited", UNLIMITED, "Unlimited", id="text-unlimited-any-case"),
    pytest.param(" 2400 ", 2400, 2400, id="digits-as-text"),
    pytest.param("-1", -1, -1, id="negative-text"),
    pytest.param("Regular", "Regular", "Regular", id="text"),
    pytest.param(PSObj((SCOPE_ENUM, "System.Enum"), "Regular", value=0), "Regular", "Regular", id="enum-by-name"),
]


@pytest.mark.parametrize(("raw", "value", "shown"), NORMALIZED)
def test_normalize(raw: Any, value: Any, shown: Any) -> None:
    assert normalize(raw) == Setting(value, shown)


def test_unlimited_is_one_value_that_is_neither_a_number_nor_null() -> None:
    assert normalize("Unlimited").value is UNLIMITED
    assert normalize(unlimited_obj(None)).value is UNLIMITED
    assert UNLIMITED is not None
    assert not isinstance(UNLIMITED, int)


@pytest.mark.parametrize(
    ("null_means_unlimited", "value"),
    [(True, UNLIMITED), (False, None)],
    ids=["2010-Nullable-no-limit", "2013-inherit"],
)
def test_null_is_shown_as_null_and_means_what_the_type_says(null_means_unlimited: bool, value: Any) -> None:
    setting = normalize(None, null_means_unlimited=null_means_unlimited)
    assert setting.value is value
    assert setting.shown is None  # $null either way: never printed as "Unlimited" or 0


def test_2010_policy_null_means_no_limit_but_2013_null_means_inherit() -> None:
    props_2010 = {"Name": "UCCX", "IsDefault": False, "IMAPMaxConcurrency": None, "CPUStartPercent": 75}
    props_2013 = {
        "Name": "UCCX",
        "IsDefault": False,
        "ThrottlingPolicyScope": "Regular",
        "ImapMaxConcurrency": None,
        "RcaMaxConcurrency": unlimited_obj(None),
    }
    [old] = throttling_policy.KIND.parse([PSObj((POLICY,), "UCCX", props_2010)], None)
    [new] = throttling_policy.KIND.parse([PSObj((POLICY,), "UCCX", props_2013)], None)
    assert old.settings["IMAPMaxConcurrency"] == Setting(UNLIMITED, None)
    assert old.settings["CPUStartPercent"] == Setting(75, 75)
    assert new.settings["ImapMaxConcurrency"] == Setting(None, None)
    assert new.settings["RcaMaxConcurrency"] == Setting(UNLIMITED, "Unlimited")


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("10 MB (10,485,760 bytes)", 10485760),
        ("2 GB (2,147,483,648 bytes)", 2147483648),
        ("512 KB (524 288 bytes)", 524288),
        ("Unlimited", "Unlimited"),
    ],
)
def test_byte_quantity(text: str, count: int | str) -> None:
    assert byte_quantity(text) == count


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        (ad_id("UCCX", "CN=UCCX,CN=Global Settings"), "UCCX"),
        (PSObj((AD_OBJECT_ID,), "lab.local/Users/uccx", {}), "lab.local/Users/uccx"),  # no Name: ToString
        ("  UCCX ", "UCCX"),
        ("", None),
        (None, None),
    ],
    ids=["ADObjectId-Name", "ADObjectId-ToString", "text", "empty", "null"],
)
def test_ad_object_name(raw: Any, name: str | None) -> None:
    assert ad_object_name(raw) == name


def test_names_compare_case_insensitively_and_null_never_matches() -> None:
    assert same_name("UCCX", "uccx")
    assert not same_name(None, None)
    assert not same_name("UCCX", None)


def test_settings_are_looked_up_case_insensitively_like_powershell_properties() -> None:
    settings = Settings({"MaxConnectionsPerUser": Setting(16, 16)})
    assert settings["maxconnectionsperuser"] == Setting(16, 16)
    assert settings["MAXCONNECTIONSPERUSER"].value == 16
    assert "maxConnectionsPerUser" in settings
    assert "MaxConnections" not in settings
    assert 16 not in settings  # type: ignore[comparison-overlap]
    assert list(settings) == ["MaxConnectionsPerUser"]  # keys keep Exchange's spelling
    with pytest.raises(KeyError):
        settings["MaxConnections"]


def test_psobject_properties_are_case_insensitive_and_types_lose_deserialized() -> None:
    obj = PSObj(
        (
            "Deserialized.Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox",
            "Deserialized.System.Object",
        ),
        "uccx",
        {"ThrottlingPolicy": None, "Alias": "uccx"},
    )
    assert obj.type_names == ("Microsoft.Exchange.Data.Directory.Management.Mailbox", "System.Object")
    assert obj.is_type("Microsoft.Exchange.Data.Directory.Management.Mailbox")
    assert obj.get("alias") == "uccx" and obj.has("THROTTLINGPOLICY")
    assert obj.get("Missing", "default") == "default"
    assert strip_deserialized("Deserialized.Deserialized.X") == "X"
    assert strip_deserialized("X.Deserialized.Y") == "X.Deserialized.Y"
