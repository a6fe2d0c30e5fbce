"""The Exchange 2019 example folder (examples/facts/exchange2019-defaults): the 2013+ shapes its
overlay sources give it, and the plan against the 2013+ baseline (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compliance.cli import main
from compliance.facts.offline import read_clixml
from tests.facts.test_examples import EXAMPLES, FILES, _generator, read

FOLDER = EXAMPLES / "exchange2019-defaults"


def test_generated_objects_read_back_equal() -> None:
    outputs = [o for o in _generator().build(FOLDER.name) if o.objects is not None]
    assert {o.name for o in outputs} == FILES == {p.name for p in FOLDER.glob("*.xml")}
    for output in outputs:
        assert read_clixml(FOLDER / output.name) == output.objects, output.name


def test_server_is_subscription_edition_with_2019_roles() -> None:
    [server] = read(FOLDER, "GetExchangeServer.xml")
    assert str(server.AdminDisplayVersion) == "Version 15.2 (Build 2562.17)"
    version = server.AdminDisplayVersion
    assert (version.Major, version.Minor, version.Build, version.Revision) == (15, 2, 2562, 17)
    assert str(server.ServerRole) == "Mailbox"  # as the real 2019 export
    assert server.IsMailboxServer and server.IsClientAccessServer and server.IsE15OrLater


def test_the_five_2013_connectors() -> None:
    connectors = {str(c.Name): c for c in read(FOLDER, "GetReceiveConnector.xml")}
    shown = {name: (str(c.TransportRole), sorted(str(b) for b in c.Bindings)) for name, c in connectors.items()}
    assert shown == {
        "Default EX01": ("HubTransport", ["0.0.0.0:2525", "[::]:2525"]),
        "Client Proxy EX01": ("HubTransport", ["0.0.0.0:465", "[::]:465"]),
        "Default Frontend EX01": ("FrontendTransport", ["0.0.0.0:25", "[::]:25"]),
        "Outbound Proxy Frontend EX01": ("FrontendTransport", ["0.0.0.0:717", "[::]:717"]),
        "Client Frontend EX01": ("FrontendTransport", ["0.0.0.0:587", "[::]:587"]),
    }


def test_throttling_policy_has_2013_names_and_unlimited_text() -> None:
    [policy] = read(FOLDER, "GetThrottlingPolicy.xml")
    names = {p.name for p in policy.PSObject.adapted_properties}
    assert {"ImapMaxConcurrency", "ImapMaxBurst", "RcaCutoffBalance", "CpaRechargeRate"} <= names
    assert not {"IMAPMaxConcurrency", "IMAPPercentTimeInCAS", "CPUStartPercent"} & names
    assert policy.ImapMaxConcurrency == "Unlimited" and str(policy.ThrottlingPolicyScope) == "Global"


def test_services_include_the_imap_back_end() -> None:
    services = [str(s.Name) for s in read(FOLDER, "GetService-EX01.xml")]
    assert services == ["MSExchangeIMAP4", "MSExchangeIMAP4BE", "MSExchangeIS"]
    started: list[Any] = read(FOLDER, "GetServiceStartTime-EX01.xml")
    assert "MSExchangeIMAP4BE" in [str(o.Name) for o in started]


def test_plan_against_the_2013_baseline_is_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan.json"
    args = ["plan", "--facts", str(FOLDER), "--baseline", "uccx-exchange2013"]
    assert main([*args, "--format", "json", "--out", str(out)]) == 2
    plan = json.loads(out.read_text())
    assert plan["summary"]["unreadable"] == 0, plan["summary"]
    assert main(args) == 2
    text = capsys.readouterr().out
    assert "+ ImapMaxConcurrency: Unlimited" in text
    assert "EX01\\Default Frontend EX01: selected because TransportRole FrontendTransport" in text
    assert "MSExchangeIMAP4BE on EX01" in text


def test_an_overlay_replaces_only_files_that_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate = _generator()
    for path in generate.SOURCE.glob("*.yaml"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(generate, "SOURCE", tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "GetNothing.yaml").write_text("file: GetNothing.xml\nobjects: []\n")
    for overlay in ("empty", "extra"):
        with pytest.raises(ValueError, match="replaces no file, or one with no shared file"):
            generate.sources(overlay)
    (tmp_path / "extra" / "GetNothing.yaml").rename(tmp_path / "extra" / "GetService.yaml")
    files, _templates, _variables = generate.sources("extra")
    assert "GetNothing.xml" in {f["file"] for f in files}  # replaced the shared GetService.yaml
    assert "GetService-${server}.xml" not in {f["file"] for f in files}
