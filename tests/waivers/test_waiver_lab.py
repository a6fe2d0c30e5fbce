"""The issue's done-when against the lab: one drift, waived (exit 0); expired, the same run exits 2.

And the file is read before anything is connected to: a hostile waivers file is exit 1, one
located line, and the lab sees no request at all.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance import pipeline
from compliance.errors import ExitCode, InputError
from compliance.lab import Lab
from compliance.lab.inventory import PASSWORD_ENV
from compliance.waivers import EXPIRED_CHECK, load_waivers, utc_today
from tests.apply.applyhelpers import PASSWORD, run_cmdlet
from tests.conftest import CliRunner
from tests.waivers.waiverhelpers import HEADER, waiver, write_waivers

pytestmark = pytest.mark.server


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with Lab("exchange2010-sp3-compliant", password=PASSWORD, events_relative_to_now=True) as running:
        yield running


def live_waiver(**fields: object) -> dict[str, object]:
    """A waiver valid today (the CLI judges by the real UTC date)."""
    today = utc_today()
    dates = {
        "created": (today - datetime.timedelta(days=1)).isoformat(),
        "expires": (today + datetime.timedelta(days=30)).isoformat(),
    }
    return waiver(**{**dates, **fields})


def test_the_only_drift_waived_exits_0_and_once_expired_exits_2(lab: Lab, tmp_path: Path, cli: CliRunner) -> None:
    run_cmdlet(lab, "Set-ImapSettings", Server="EX01", MaxConnectionsPerUser=100)
    inventory = lab.write_inventory(tmp_path / "inventory.yaml")
    assert cli("plan", "--inventory", inventory).code == 2  # the one drift
    path = write_waivers(tmp_path / "waivers.yaml", live_waiver())
    result = cli("plan", "--inventory", inventory, "--waivers", path, "--format", "json")
    report = json.loads(result.out)
    assert result.code == 0, result.err
    assert report["summary"] == {**report["summary"], "drift": 0, "waived": 1}
    assert [w["setting"] for w in report["waived"]] == ["MaxConnectionsPerUser"]
    text = cli("plan", "--inventory", inventory, "--waivers", path)
    assert "1 waived" in text.out and "Result: compliant (exit 0)" in text.out

    # The same run, judged on a day after it expired (the library takes the day; the CLI has no clock flag).
    waivers = load_waivers(path, today=utc_today())
    later = utc_today() + datetime.timedelta(days=31)
    plans = pipeline.plan_inventory(inventory, {}, keep_going=True, waivers=waivers, today=later)
    [plan] = plans
    assert plan.exit_code is ExitCode.DRIFT
    assert plan.waived == []
    assert [c.setting for c in plan.changes] == ["MaxConnectionsPerUser"]
    [expired] = plan.findings
    assert expired.check == EXPIRED_CHECK and f"{path}:4" in expired.resource


def test_apply_of_a_saved_plan_never_sends_a_waived_change(lab: Lab, tmp_path: Path, cli: CliRunner) -> None:
    run_cmdlet(lab, "Set-ImapSettings", Server="EX01", MaxConnectionsPerUser=100, MaxConnections=100)
    inventory = lab.write_inventory(tmp_path / "inventory.yaml")
    waivers = write_waivers(tmp_path / "waivers.yaml", live_waiver())
    saved = tmp_path / "plan.json"
    assert cli("plan", "--inventory", inventory, "--waivers", waivers, "--format", "json", "--out", saved).code == 2
    document = json.loads(saved.read_text(encoding="utf-8"))
    assert [c["check"] for c in document["changes"]] == ["UCCX-IMAP-003"]
    assert [w["check"] for w in document["waived"]] == ["UCCX-IMAP-004"]
    applied = cli(
        "apply",
        saved,
        "--inventory",
        inventory,
        "--auto-approve",
        "--backup-dir",
        tmp_path / "backups",
        "--audit-log",
        tmp_path / "audit.log",
    )
    assert applied.code == 0, applied.err
    assert re.search(
        r"not applied, waived until \S+ by jane\.doe@example\.com \(.*waivers\.yaml:4\): UCCX-IMAP-004", applied.out
    )
    after = json.loads(cli("plan", "--inventory", inventory, "--format", "json").out)
    assert [(c["check"], c["current"]) for c in after["changes"]] == [("UCCX-IMAP-004", 100)]  # left as it was


# --- hostile waivers files: exit 1, one located line, nothing sent ------------------------------------

_VALID = (
    HEADER
    + "waivers:\n"
    + "".join(
        f"  - {line}\n" if i == 0 else f"    {line}\n"
        for i, line in enumerate(
            [
                "check: UCCX-IMAP-004",
                "resource: 'IMAP settings on *'",
                "justification: change window",
                "approver: jane",
                "created: 2026-01-01",
                "expires: 2026-02-01",
            ]
        )
    )
)
_FIELDS = ["check", "resource", "target", "justification", "approver", "created", "expires"]
_YAML_VALUES = st.one_of(
    st.sampled_from(["~", "true", "0x10", "-1e9", "[1, 2]", "{a: b}", "''", "'   '", "!!binary aGk=", "&a x", "*a"]),
    st.sampled_from(["2026-02-30", "2026-13-01", "26-01-01", "2026-01-01T00:00:00Z", "9999-12-31", "0001-01-01"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=40).map(lambda t: json.dumps(t)),  # any characters, as a YAML double-quoted string
)


def _bomb(levels: int) -> str:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return HEADER + "\n".join(lines) + "\nwaivers: []\n"


HOSTILE = st.one_of(
    # a field replaced by a value of another type, form or size
    st.tuples(st.sampled_from(_FIELDS), _YAML_VALUES).map(
        lambda fv: (_VALID.replace(f"    {fv[0]}:", f"    x_{fv[0]}:") + f"    {fv[0]}: {fv[1]}\n").encode(
            "utf-8", "surrogatepass"
        )
    ),
    # malformed YAML: the valid text cut or with bytes spliced in (non-UTF-8 among them)
    st.tuples(st.integers(0, len(_VALID)), st.binary(min_size=1, max_size=8)).map(
        lambda cut: _VALID.encode()[: cut[0]] + cut[1] + _VALID.encode()[cut[0] :]
    ),
    st.integers(4, 8).map(lambda levels: _bomb(levels).encode()),  # alias bombs
    st.integers(1, 3).map(lambda mib: HEADER.encode() + b"waivers:\n  - justification: " + b"x" * (mib * 1024 * 1024)),
    st.integers(65, 200).map(lambda depth: HEADER.encode() + b"waivers: " + b"[" * depth + b"]" * depth),
)


@pytest.fixture(scope="module")
def quiet_lab() -> Iterator[Lab]:
    with Lab("exchange2010-sp3-compliant", password=PASSWORD) as running:
        yield running


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=HOSTILE)
def test_a_hostile_waivers_file_is_one_located_line_and_nothing_is_sent(
    data: bytes, quiet_lab: Lab, tmp_path: Path, cli: CliRunner
) -> None:
    inventory = quiet_lab.write_inventory(tmp_path / "inventory.yaml")
    path = tmp_path / "waivers.yaml"
    path.write_bytes(data)
    try:
        load_waivers(path, today=utc_today())
    except InputError:
        pass
    else:
        return  # a splice that left a valid file (a space, a comment): nothing hostile to refuse
    result = cli("plan", "--inventory", inventory, "--waivers", path)
    assert result.code == 1, result.err
    lines = result.err.splitlines()
    assert len(lines) == 1 and re.match(rf"^uccx-compliance: error: {re.escape(str(path))}:\d+:\d+: ", lines[0]), lines
    assert sum(quiet_lab.requests.values()) == 0


@pytest.mark.parametrize("levels_or_mib", ["bomb", "big"])
def test_the_worst_files_stay_bounded_in_a_subprocess(tmp_path: Path, levels_or_mib: str) -> None:
    """A safety property, not a benchmark: under a 1 GiB address-space limit and a 60 s timeout."""
    import os
    import resource
    import subprocess
    import sys

    path = tmp_path / "waivers.yaml"
    path.write_text(_bomb(9) if levels_or_mib == "bomb" else HEADER + "waivers: [" + "'x', " * 400_000 + "]\n")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    folder = Path(__file__).resolve().parents[2] / "examples" / "facts" / "exchange2010-sp3-defaults"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "compliance",
            "plan",
            "--facts",
            str(folder),
            "--baseline",
            "uccx-exchange2010-sp1",
            "--waivers",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert re.match(rf"^uccx-compliance: error: {re.escape(str(path))}:\d+:\d+: ", line), line
