"""Live collection against the lab (a loopback PSRP server) compared with the offline folders."""

from __future__ import annotations

import base64
import datetime
import logging
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from compliance import resources
from compliance.baseline.load import load_baseline
from compliance.facts import clixml_reader, offline
from compliance.facts.collection import CollectionRequest, RawFacts
from compliance.facts.model import Facts
from compliance.inventory import Target, load_inventory
from compliance.kinds import event_log, service_start
from compliance.lab import server as lab_server
from compliance.pipeline import FactsFolder, build_facts, read
from compliance.remoting import convert
from compliance.remoting.collect import collect
from tests.facts.test_clixml_reader import assert_same

pytestmark = pytest.mark.server
SCENARIOS = ["exchange2010-sp3-defaults", "exchange2010-sp3-compliant"]
NOW = datetime.datetime(2026, 11, 22, 17, 0, tzinfo=datetime.timezone.utc)


def lab_target(lab: Any, tmp_path: Path) -> tuple[Target, CollectionRequest]:
    target = load_inventory(lab.write_inventory(tmp_path / "inventory.yaml")).targets[0]
    return target, load_baseline(target.baseline_path, target.vars).collection_request()


def comparable(facts: Facts) -> dict[str, Any]:
    """The facts minus where and when they were read; event times are the lab's own (relative to now)."""
    # The service start times are the lab's own (its processes start with it): not in the examples.
    skip = (event_log.KIND.stem, service_start.KIND.stem)
    out: dict[str, Any] = {stem: r for stem, r in facts.readings.items() if not stem.startswith(skip)}
    out["events"] = {
        # Get-WinEvent returns newest first; the example export is oldest first: compare as sets.
        server: sorted((e.event_id, e.provider, e.message) for e in (facts.on(event_log.KIND, server).value or []))
        for server in facts.servers_read(event_log.KIND)
    }
    return out


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_live_facts_equal_the_offline_folder(scenario: str, tmp_path: Path) -> None:
    with lab_server.Lab(scenario=scenario, port=0, password="uccx-lab") as lab:
        target, request = lab_target(lab, tmp_path)
        raw = collect(target, request, password="uccx-lab", now=NOW)
    assert all(reading.ok for reading in raw.values()), {k: r.error for k, r in raw.items() if not r.ok}
    live = build_facts(raw, source=target.exchange_endpoint)
    assert comparable(live) == comparable(read(FactsFolder(resources.scenario_dir(scenario))))
    [start, *_] = live.on(service_start.KIND, "EX01").value or []
    assert start.started is not None and start.process_id > 0, start


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_output_message_is_read_by_the_streaming_reader(
    scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """psrpcore, the reference, is only the fallback: the live read's cost depends on it (bench/fleet.py)."""
    read, outcomes = clixml_reader.read, []

    def counted(text: str) -> list[Any]:
        try:
            values = read(text)
        except Exception as exc:
            outcomes.append(f"{type(exc).__name__}: {exc}")
            raise
        outcomes.append("read")
        return values

    monkeypatch.setattr(clixml_reader, "read", counted)
    with lab_server.Lab(scenario=scenario, port=0, password="uccx-lab") as lab:
        target, request = lab_target(lab, tmp_path)
        raw = collect(target, request, password="uccx-lab", now=NOW)
    assert all(reading.ok for reading in raw.values())
    # Only the registry value read's [pscustomobject] (kinds/registry_value.py), which psrpcore
    # rehydrates into a class of its own, is declined.
    declined = [o for o in outcomes if o != "read"]
    assert outcomes.count("read") > 10 and len(declined) <= 2, outcomes
    assert all("PSCustomObject: psrpcore rehydrates it" in o for o in declined), declined


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_output_kept_as_text_reads_as_pypsrp_objects_did(
    scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``keep_output_as_text`` skips pypsrp's deserializer; each output message of a full read must
    convert to what the pypsrp object of the same message converts to."""
    from pypsrp.serializer import Serializer

    seen: list[str] = []
    from_wire = convert._from_wire

    def recorded(clixml: str) -> Any:
        seen.append(clixml)
        return from_wire(clixml)

    monkeypatch.setattr(convert, "_from_wire", recorded)
    with lab_server.Lab(scenario=scenario, port=0, password="uccx-lab") as lab:
        target, request = lab_target(lab, tmp_path)
        raw = collect(target, request, password="uccx-lab", now=NOW)
    assert all(reading.ok for reading in raw.values())
    assert len(seen) > 10
    for clixml in seen:
        assert_same(convert.from_pypsrp(Serializer().deserialize(clixml)), from_wire(clixml), clixml[:80])


def test_a_proxy_named_by_the_environment_is_never_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NTLM handshakes and the password's use go to the inventory's endpoint only; requests is not
    asked for the environment again once pypsrp has built its session (session.py)."""
    trap = socket.create_server(("127.0.0.1", 0))
    trap.settimeout(0.2)
    proxy = f"http://127.0.0.1:{trap.getsockname()[1]}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    reads: list[str] = []
    getproxies = urllib.request.getproxies_environment

    def counted() -> dict[str, str]:
        reads.append("read")
        return getproxies()

    monkeypatch.setattr(urllib.request, "getproxies_environment", counted)
    try:
        with lab_server.Lab(scenario=SCENARIOS[0], port=0, password="uccx-lab") as lab:
            target, request = lab_target(lab, tmp_path)
            raw = collect(target, request, password="uccx-lab", now=NOW)
        assert all(reading.ok for reading in raw.values())
        with pytest.raises(TimeoutError):
            trap.accept()  # nothing ever connected to the proxy
    finally:
        trap.close()
    assert len(reads) <= 4, f"the environment was read {len(reads)} times"  # when each session is built


def test_a_failing_cmdlet_makes_only_its_fact_unreadable(tmp_path: Path) -> None:
    message = "Active Directory operation failed on DC01.lab.local. The server is unwilling to process the request."
    with lab_server.Lab(scenario=SCENARIOS[0], port=0, password="uccx-lab") as lab:
        lab.faults.failing_cmdlets["Get-ReceiveConnector"] = message
        target, request = lab_target(lab, tmp_path)
        raw = collect(target, request, password="uccx-lab", now=NOW)
    failed = {stem: r.error for stem, r in raw.items() if not r.ok}
    assert failed == {"GetReceiveConnector": f"Get-ReceiveConnector -Server EX01: {message}"}


def _requests_for(lab: Any, commands: int, tmp_path: Path) -> int:
    """HTTP requests to the Exchange endpoint for one batch of ``commands`` Get-ADPermission reads.

    In the defaults scenario the UCCX mailbox has no permission on the organization, so every
    command returns nothing: what is measured is the cost per command, not the volume of output
    (a large output takes more Receive round trips whatever the batching).
    """
    from compliance.cmdlet import Command
    from compliance.remoting.invoke import Read, run_reads
    from compliance.remoting.session import ConnectOptions, Sessions

    target, _ = lab_target(lab, tmp_path)
    with Sessions(target, ConnectOptions(password="uccx-lab")) as sessions:
        session = sessions.exchange()
        session.pool()  # opening the pool is not what is measured
        before = lab.requests[lab.exchange_endpoint]
        org = "CN=LAB,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=lab,DC=local"
        permission = Command("Get-ADPermission", (("Identity", org), ("User", "uccx")))
        result = run_reads(
            session,
            [
                Read("GetADPermission", (permission,) * commands, "ADAcePresentationObject"),
                Read("GetThrottlingPolicy", (Command("Get-ThrottlingPolicy"),), "ThrottlingPolicy"),
            ],
        )
        assert all(r.ok for r in result.values()), result
        return int(lab.requests[lab.exchange_endpoint] - before)


def test_a_batch_costs_the_same_requests_whatever_its_size(tmp_path: Path) -> None:
    with lab_server.Lab(scenario=SCENARIOS[0], port=0, password="uccx-lab") as lab:
        small = _requests_for(lab, 1, tmp_path)
        large = _requests_for(lab, 12, tmp_path)
    assert large == small
    assert small <= 6  # Command, Receive until done, Signal: a handful, not one per command


def test_the_password_reaches_no_log_output_or_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    password = "Zq7-distinctive-Secret!9"
    forms = [
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(password.encode("utf-16-le")).decode(),
        base64.b64encode(f"uccx-audit@lab.local:{password}".encode()).decode(),
    ]
    try:  # the NT hash NTLM derives from the password (MD4 of UTF-16-LE), when spnego exposes it
        from spnego._ntlm_raw.crypto import ntowfv1

        forms.append(ntowfv1(password).hex())
    except ImportError:
        pass
    out = tmp_path / "out"
    with lab_server.Lab(scenario=SCENARIOS[0], port=0, password=password) as lab:
        lab.faults.failing_cmdlets["Get-Mailbox"] = "forced failure to exercise the error path"
        inventory = lab.write_inventory(tmp_path / "inventory.yaml")
        env = dict(os.environ, UCCX_LAB_PASSWORD=password)
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "compliance",
                "--debug",
                "facts",
                "collect",
                "--inventory",
                str(inventory),
                "--out",
                str(out),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        # The same collection in this process, with every logger at DEBUG, captured.
        caplog.set_level(logging.DEBUG)
        target, request = lab_target(lab, tmp_path)
        collect(target, request, password=password, now=NOW)
    assert cli.returncode == 3, cli.stderr
    assert "DEBUG" in cli.stderr  # debug logging really was on
    written = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file()).decode("utf-8", "replace")
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert caplog.records
    for form in forms:
        for where, text in (
            ("stdout", cli.stdout),
            ("stderr", cli.stderr),
            ("files", written),
            ("logs", logged),
        ):
            assert form not in text, f"a form of the password appears in {where}"


def test_facts_collect_writes_a_folder_the_offline_reader_accepts(tmp_path: Path) -> None:
    out = tmp_path / "facts"
    with lab_server.Lab(scenario=SCENARIOS[1], port=0, password="uccx-lab") as lab:
        inventory = lab.write_inventory(tmp_path / "inventory.yaml")
        env = dict(os.environ, UCCX_LAB_PASSWORD="uccx-lab")
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "compliance",
                "facts",
                "collect",
                "--inventory",
                str(inventory),
                "--out",
                str(out),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert cli.returncode == 0, cli.stderr
    info = (out / "collection.txt").read_text(encoding="utf-8-sig")
    assert "EventLookbackDays: 7" in info and "CollectedBy: uccx-audit@lab.local" in info
    raw: RawFacts = offline.read_raw(out)
    assert all(r.ok for r in raw.values())
    assert read(FactsFolder(out)).collected_at is not None


def test_a_service_the_server_does_not_have_is_left_out_not_a_failed_read(tmp_path: Path) -> None:
    """MSExchangeIMAP4BE exists on 2013+ only: asked of a 2010 server, Get-Service says
    NoServiceFoundForGivenName for that name alone, and the others are still read."""
    import dataclasses

    from compliance.kinds import service

    with lab_server.Lab(scenario=SCENARIOS[1], port=0, password="uccx-lab") as lab:
        target, request = lab_target(lab, tmp_path)
        asked = dataclasses.replace(request, services=("MSExchangeIS", "MSExchangeIMAP4BE", "MSExchangeIMAP4"))
        raw = collect(target, asked, password="uccx-lab", now=NOW)
    facts = build_facts(raw, source=target.exchange_endpoint)
    reading = facts.on(service.KIND, "EX01")
    assert reading.ok, reading.reason
    assert sorted(s.name for s in reading.value or []) == ["MSExchangeIMAP4", "MSExchangeIS"]


def test_nothing_there_from_several_commands_keeps_the_batch(tmp_path: Path) -> None:
    """Two services the server lacks each write NoServiceFoundForGivenName; which wrote which does
    not matter, so the batch stands: as many requests as when every service exists."""
    import dataclasses

    from compliance.kinds import service

    def host_requests(services: tuple[str, ...]) -> tuple[int, Any]:
        with lab_server.Lab(scenario=SCENARIOS[1], port=0, password="uccx-lab") as lab:
            target, request = lab_target(lab, tmp_path)
            raw = collect(target, dataclasses.replace(request, services=services), password="uccx-lab", now=NOW)
            count = sum(n for url, n in lab.requests.items() if "/wsman/" in url)
        return count, build_facts(raw, source=target.exchange_endpoint).on(service.KIND, "EX01")

    present, _ = host_requests(("MSExchangeIS", "MSExchangeIMAP4"))
    lacking, reading = host_requests(("MSExchangeIS", "NoSuchServiceA", "MSExchangeIMAP4", "NoSuchServiceB"))
    assert reading.ok, reading.reason
    assert sorted(s.name for s in reading.value or []) == ["MSExchangeIMAP4", "MSExchangeIS"]
    assert lacking == present
