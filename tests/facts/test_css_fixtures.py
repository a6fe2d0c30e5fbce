"""Real Exchange exports nobody on this project wrote (CSS-Exchange HealthChecker test data), read as
they are: UTF-8 BOM, RefId/TNRef type references, ``Unlimited`` objects, SerializationData blobs,
``DateTime.MinValue``. Expected values come from the fixture folder's README table, parsed here, and
from the file names' Exchange versions; the files are copied into fact folders under the names the
collector writes (``GetReceiveConnector.xml``...).
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from compliance.facts.offline import read_clixml
from compliance.facts.values import UNLIMITED
from compliance.kinds import exchange_server, organization_config, receive_connector
from compliance.pipeline import FactsFolder, read

REPO = Path(__file__).resolve().parents[2]
BASELINE_2013 = REPO / "baselines" / "uccx-exchange2013.yaml"
BASELINES_2010 = [REPO / "baselines" / f"uccx-exchange2010-{sp}.yaml" for sp in ("rtm", "sp1")]
SERVER = "WIN-CTD3L0RGEN4"
LIMITS = (
    "MaxInboundConnection",
    "MaxInboundConnectionPerSource",
    "MaxInboundConnectionPercentagePerSource",
    "MessageRateLimit",
)
# The checklist's receive connector minimums (exchange-facts.md, "What the checklist asks for").
CHECKLIST_MINIMUMS = {
    "MaxInboundConnection": 5000,
    "MessageRateLimit": 250,
    "MaxInboundConnectionPercentagePerSource": 5,
    "MaxInboundConnectionPerSource": 250,
}


def readme_table(css: Path) -> dict[str, dict[str, int | str]]:
    """The README's table of E19-GetReceiveConnector.xml: connector name -> the four limits."""
    lines = (css / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| connector |"))
    header, _rule, *rows = itertools.takewhile(lambda line: line.startswith("|"), lines[start:])
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert columns == ["connector", *LIMITS]
    table: dict[str, dict[str, int | str]] = {}
    for row in rows:
        name, *values = [c.strip() for c in row.strip("|").split("|")]
        table[name] = {column: (v if v == "Unlimited" else int(v)) for column, v in zip(LIMITS, values, strict=True)}
    assert len(table) == 5
    return table


def test_e19_receive_connectors_read_as_the_readme_table(css: Path, fact_folder: Any) -> None:
    folder = fact_folder({"GetReceiveConnector.xml": css / "E19-GetReceiveConnector.xml"})
    facts = read(FactsFolder(folder))
    reading = facts.of(receive_connector.KIND)
    assert reading.ok, reading.error
    connectors = reading.value or []
    shown = {c.name: {limit: c.settings[limit].shown for limit in LIMITS} for c in connectors}
    assert shown == readme_table(css)
    for connector in connectors:
        assert connector.identity == f"{SERVER}\\{connector.name}"
        assert connector.server == SERVER  # the Server ADObjectId, by name


def test_client_proxy_connector_limits(css: Path) -> None:
    by_name = {c.name: c for c in receive_connector.KIND.parse(read_clixml(css / "E19-GetReceiveConnector.xml"), None)}
    default = by_name[f"Default {SERVER}"].settings
    client = by_name[f"Client Proxy {SERVER}"].settings
    assert default["MaxInboundConnectionPerSource"].value is UNLIMITED
    assert [client[s].value for s in LIMITS] == [5000, 20, 2, 5]
    assert default["MaxInboundConnectionPerSource"].shown == "Unlimited"
    # A ByteQuantifiedSize from the same export: 36 MB is its byte count.
    size = client["MaxMessageSize"]
    assert (size.value, size.shown) == (37748736, "36 MB (37,748,736 bytes)")


def test_empty_tls_certificate_name_reads_as_null(css: Path) -> None:
    def with_certificate(name: str) -> list[str]:
        return [
            c.name
            for c in receive_connector.KIND.parse(read_clixml(css / name), None)
            if c.settings["TlsCertificateName"].value is not None
        ]

    assert with_certificate("E19-GetReceiveConnector.xml") == [f"Default Frontend {SERVER}"]
    assert with_certificate("E19-GetReceiveConnectorEmptyTlsCertificateName.xml") == []


def test_multi_valued_property_is_shown_as_exchange_prints_it(css: Path) -> None:
    [default, *_] = receive_connector.KIND.parse(read_clixml(css / "E19-GetReceiveConnector.xml"), None)
    shown = str(default.settings["Bindings"].shown)
    assert "PSObj(" not in shown
    assert "0.0.0.0:2525" in shown


@pytest.mark.parametrize(
    ("file", "name", "version"),
    [
        ("E15-GetExchangeServer.xml", "SOLO-E15A", (15, 0, 1497, 2)),
        ("E16-GetExchangeServer.xml", "SOLO-E16A", (15, 1, 2375, 7)),
        ("E19-GetExchangeServer.xml", "SOLO-E19A", (15, 2, 986, 5)),
    ],
)
def test_server_versions(css: Path, file: str, name: str, version: tuple[int, int, int, int]) -> None:
    # Versions from the README ("Version 15.0 (Build 1497.2)"...); names from the exports themselves.
    [server] = exchange_server.KIND.parse(read_clixml(css / file), None)
    assert server.name == name
    assert server.version is not None
    read = server.version
    assert (read.major, read.minor, read.build, read.revision) == version
    assert str(server.version) == f"Version {version[0]}.{version[1]} (Build {version[2]}.{version[3]})"
    assert {"Mailbox", "ClientAccess"} <= server.roles


def test_organization_config_with_datetime_minvalue_reads(css: Path) -> None:
    raw = read_clixml(css / "E19-GetOrganizationConfig.xml")
    assert "0001-01-01T00:00:00" in (css / "E19-GetOrganizationConfig.xml").read_text(encoding="utf-8-sig")
    org = organization_config.KIND.parse(raw, None)
    assert org.name == "SoloORG"
    assert org.distinguished_name.startswith("CN=SoloORG,CN=Microsoft Exchange,CN=Services,CN=Configuration,")
    [obj] = raw
    assert obj.get("ForestConfigLastRunTime").year == 1  # DateTime.MinValue survives as 0001-01-01


def e19_folder(css: Path, fact_folder: Any) -> Path:
    folder: Path = fact_folder(
        {
            "GetExchangeServer.xml": css / "E19-GetExchangeServer.xml",
            "GetReceiveConnector.xml": css / "E19-GetReceiveConnector.xml",
            "GetOrganizationConfig.xml": css / "E19-GetOrganizationConfig.xml",
        }
    )
    return folder


def test_plan_of_e19_connectors_shows_exactly_the_settings_below_the_checklist(
    css: Path, fact_folder: Any, cli: Any
) -> None:
    table = readme_table(css)
    expected = {
        (f"{SERVER}\\{name}", setting, value, CHECKLIST_MINIMUMS[setting])
        for name, row in table.items()
        for setting, value in row.items()
        if value != "Unlimited" and int(value) < CHECKLIST_MINIMUMS[setting]
    }
    # Worked from the table: PerSource 20 and Percentage 2 on four connectors, MessageRateLimit 5 on the
    # two Client connectors; Default (Unlimited, 100, Unlimited) is compliant.
    assert len(expected) == 10
    # Of the five, UCCX's SMTP reaches only the front end on port 25 (TransportRole FrontendTransport,
    # Bindings [::]:25, 0.0.0.0:25): the others are left out with their reason (checks/connectors.py).
    front = f"{SERVER}\\Default Frontend {SERVER}"
    expected = {row for row in expected if row[0] == front}
    assert len(expected) == 2

    result = cli(
        "plan",
        "--facts",
        e19_folder(css, fact_folder),
        "--baseline",
        BASELINE_2013,
        "--var",
        'receive_connectors=["*"]',
        "--format",
        "json",
    )
    report = json.loads(result.out)
    changes = report["changes"]
    assert {(c["identity"], c["setting"], c["current"], c["desired"]) for c in changes} == expected
    assert len(changes) == len(expected)
    assert all(c["action"] == "update" and c["requirement"] == f"at least {c['desired']}" for c in changes)
    assert report["findings"] == []
    [selector] = report["selectors"]
    assert selector["matched"] == [front] and len(selector["left_out"]) == len(table) - 1
    smtp = [u for u in report["unreadable"] if u["check"].startswith("UCCX-SMTP")]
    assert smtp == []
    # Everything else was simply not in the folder, and says so.
    assert all(u["reason"].endswith("not collected") for u in report["unreadable"]), report["unreadable"]
    compliant = {(c["check"], c["resource"]) for c in report["compliant"]}
    assert ("UCCX-SMTP-000", "receive connectors") in compliant
    # The front end: MaxInboundConnection 5000 and MessageRateLimit Unlimited; the back end is not checked.
    assert {r for r in compliant if r[1].startswith(SERVER)} == {("UCCX-SMTP-001", front), ("UCCX-SMTP-002", front)}
    assert result.code == 3  # IMAP, throttling, mailbox... files are absent: incomplete, not compliant


@pytest.mark.parametrize("baseline", BASELINES_2010, ids=lambda p: p.stem)
def test_2010_baselines_refuse_an_exchange_2019_server(css: Path, fact_folder: Any, cli: Any, baseline: Path) -> None:
    result = cli("plan", "--facts", e19_folder(css, fact_folder), "--baseline", baseline)
    assert result.code == 1
    assert result.out == ""
    [line] = result.err.splitlines()
    wanted = re.search(r'^applies_to: "(.*)"$', baseline.read_text(encoding="utf-8"), re.M)
    assert wanted is not None
    assert f"baseline {baseline.stem} applies to {wanted.group(1)}" in line
    assert "SOLO-E19A runs Exchange 15.2.986.5 (2019)" in line
    assert line.endswith("use --baseline uccx-exchange2013 (or --baseline auto)")


@pytest.mark.parametrize(
    "file", ["E15-GetExchangeServer.xml", "E16-GetExchangeServer.xml", "E19-GetExchangeServer.xml"]
)
def test_2013_baseline_accepts_2013_2016_and_2019(css: Path, fact_folder: Any, cli: Any, file: str) -> None:
    result = cli(
        "plan",
        "--facts",
        fact_folder({"GetExchangeServer.xml": css / file}),
        "--baseline",
        BASELINE_2013,
        "--format",
        "json",
    )
    report = json.loads(result.out)
    assert result.code == 3  # accepted; only the other files are missing
    assert report["changes"] == [] and report["compliant"] == []
    assert not [u for u in report["unreadable"] if u["check"] == "applies_to"]
