"""plan --parallel against several labs: the same reports as serial, and a hung target that times
out at its step without holding the others."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from compliance.lab import Lab
from compliance.lab.inventory import PASSWORD_ENV

pytestmark = pytest.mark.server

PASSWORD = "fleet-lab-password"
SCENARIOS = ["exchange2010-sp3-defaults", "exchange2010-sp3-compliant", "exchange2010-sp3-defaults"]


def fleet_inventory(path: Path, labs: list[Lab], extra: Sequence[dict[str, Any]] = ()) -> Path:
    """One inventory whose targets are the labs, named org-1... (each lab writes its own target)."""
    targets = []
    for number, lab in enumerate(labs, start=1):
        one = lab.write_inventory(path.parent / f"lab-{number}.yaml")
        [target] = yaml.safe_load(one.read_text())["targets"]
        targets.append({**target, "name": f"org-{number}"})
    document = {"apiVersion": "uccx-compliance/v1", "kind": "Inventory", "targets": targets + list(extra)}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def labs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Lab]]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    running = [Lab(scenario=s, password=PASSWORD).start() for s in SCENARIOS]
    try:
        yield running
    finally:
        for lab in running:
            lab.stop()


def test_parallel_reports_equal_serial_ones_in_every_format(labs: list[Lab], tmp_path: Path, cli: Any) -> None:
    inventory = fleet_inventory(tmp_path / "inventory.yaml", labs)
    for fmt in ("json", "text", "junit", "markdown"):
        serial = cli("plan", "--inventory", inventory, "--format", fmt, "--parallel", "1", "--quiet")
        parallel = cli("plan", "--inventory", inventory, "--format", fmt, "--parallel", "3", "--quiet")
        assert serial.code == parallel.code == 2, serial.err
        assert parallel.out == serial.out, fmt
    report = json.loads(cli("plan", "--inventory", inventory, "--format", "json", "--quiet").out)
    assert [t["target"] for t in report["targets"]] == ["org-1", "org-2", "org-3"]
    assert [t["exit_code"] for t in report["targets"]] == [2, 0, 2]


def test_progress_lines_off_a_terminal_one_per_finished_target(labs: list[Lab], tmp_path: Path, cli: Any) -> None:
    inventory = fleet_inventory(tmp_path / "inventory.yaml", labs)
    result = cli("plan", "--inventory", inventory, "--parallel", "3")
    lines = [line for line in result.err.splitlines() if " done org-" in line]
    assert len(lines) == 3 and all(line.endswith("0 failed so far)") for line in lines), result.err
    assert sorted(line.split(" done ")[1].split(" ")[0] for line in lines) == ["org-1", "org-2", "org-3"]
    assert "(3/3, 0 failed so far)" in lines[-1]


class HungServer:
    """Accepts TCP on 127.0.0.1 and never answers: an organization whose IIS is wedged."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)  # read nothing, answer nothing

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_a_hung_target_times_out_at_its_step_and_the_others_are_planned(
    labs: list[Lab], tmp_path: Path, cli: Any
) -> None:
    hung = HungServer()
    try:
        wedged = {
            "name": "org-hung",
            "exchange_endpoint": f"http://127.0.0.1:{hung.port}/PowerShell/",
            "auth": "ntlm",
            "username": "uccx-audit@lab.local",
            "password_env": PASSWORD_ENV,
            "baseline": "uccx-exchange2010-sp1",
            "timeouts": {"connection": 5, "read": 120, "operation": 20},  # the read would wait 120 s
            "servers": [{"name": "EX01", "roles": ["Mailbox"], "host_endpoint": f"http://127.0.0.1:{hung.port}/wsman"}],
        }
        inventory = fleet_inventory(tmp_path / "inventory.yaml", labs[:2], [wedged])
        started = time.monotonic()
        result = cli("plan", "--inventory", inventory, "--format", "json", "--parallel", "3", "--target-timeout", "3")
        elapsed = time.monotonic() - started
    finally:
        hung.close()
    report = json.loads(result.out)
    by_target = {t["target"]: t for t in report["targets"]}
    assert by_target["org-1"]["exit_code"] == 2 and by_target["org-2"]["exit_code"] == 0
    assert by_target["org-1"]["summary"]["unreadable"] == 0
    [reason] = [u["reason"] for u in by_target["org-hung"]["unreadable"]]
    assert f"timed out after 3 s at connecting to http://127.0.0.1:{hung.port}/PowerShell/" in reason
    assert result.code == 3
    # Bounded by --target-timeout, not by the hung target's 120 s read timeout (a safety bound).
    assert elapsed < 60


def test_facts_collect_in_parallel_writes_each_folder_and_keeps_each_targets_lines_together(
    labs: list[Lab], tmp_path: Path, cli: Any
) -> None:
    inventory = fleet_inventory(tmp_path / "inventory.yaml", labs)
    result = cli("facts", "collect", "--inventory", inventory, "--out", tmp_path / "facts", "--parallel", "3")
    assert result.code == 0, result.err
    lines = [line for line in result.err.splitlines() if line.startswith("org-")]
    owners = [line.split(":", 1)[0] for line in lines]
    assert owners == sorted(owners)  # org-1's lines, then org-2's, then org-3's
    assert next(line for line in lines if "wrote" in line).startswith("org-1: wrote ")
    for number in (1, 2, 3):
        assert (tmp_path / "facts" / f"org-{number}" / "GetImapSettings.xml").is_file()
    offline = cli("plan", "--facts", tmp_path / "facts" / "org-2", "--baseline", "uccx-exchange2010-sp1")
    assert offline.code == 0  # org-2 is the compliant scenario


def test_a_target_without_its_password_is_named_once_and_the_others_are_planned(
    labs: list[Lab], tmp_path: Path, cli: Any
) -> None:
    inventory = fleet_inventory(tmp_path / "inventory.yaml", labs[:1])
    document = yaml.safe_load(inventory.read_text())
    document["targets"].append({**document["targets"][0], "name": "org-nopass", "password_env": "UCCX_UNSET_PW"})
    inventory.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    result = cli("plan", "--inventory", inventory, "--format", "json", "--parallel", "2", "--quiet")
    [line] = [x for x in result.err.splitlines() if "org-nopass" in x]
    assert line.count("org-nopass") == 1, line
    assert "environment variable UCCX_UNSET_PW (password_env) is not set" in line
    report = json.loads(result.out)
    by_target = {t["target"]: t for t in report["targets"]}
    assert by_target["org-1"]["exit_code"] == 2 and by_target["org-nopass"]["exit_code"] == 1
    # In the report too: its one unreadable result is "target org-nopass", with a reason that does
    # not repeat it (the text report showed "target org-nopass: target org-nopass: ...").
    [entry] = [u for u in report["unreadable"] if u["target"] == "org-nopass"]
    assert entry["resource"] == "target org-nopass"
    assert entry["reason"] == "environment variable UCCX_UNSET_PW (password_env) is not set"
