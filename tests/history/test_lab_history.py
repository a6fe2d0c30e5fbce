"""The issue's done-when, on SQLite and PostgreSQL: two audits of the lab a "day" apart with an apply
(through the CLI) between them give episodes with first seen, last seen and fixed-by-apply."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from compliance.apply.auditlog import local_user
from compliance.apply.saved_plan import write_saved_plan
from compliance.apply.state import STATE_DIR_ENV
from compliance.cli import main
from compliance.history import open_history
from compliance.lab import LAB_USER, Lab
from compliance.lab.inventory import PASSWORD_ENV
from compliance.pipeline import plan_inventory
from compliance.plan import Plan
from tests.conftest import CliRunner
from tests.history.test_store import _all_text

PASSWORD = "history-lab-password-4711"
BASELINE = "uccx-exchange2010-sp1"


@dataclass(frozen=True)
class LabAudits:
    before: list[Plan]  # the audit at factory defaults
    after: list[Plan]  # the audit after apply
    audit_log: Path
    first_at: datetime.datetime  # the simulated clock: the first audit a day before the apply
    second_at: datetime.datetime
    apply_run: str


@pytest.fixture(scope="module")
def lab_audits(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabAudits]:
    """Once per module (both backends record the same audits): plan, apply through the CLI, plan."""
    root = tmp_path_factory.mktemp("lab-history")
    with (
        pytest.MonkeyPatch.context() as env,
        Lab(scenario="exchange2010-sp3-defaults", port=0, password=PASSWORD) as lab,
    ):
        env.setenv(PASSWORD_ENV, PASSWORD)
        env.setenv(STATE_DIR_ENV, str(root / "state"))
        inventory = lab.write_inventory(root / "inventory.yaml", baseline=BASELINE)
        before = plan_inventory(inventory, {})
        now = datetime.datetime.now(datetime.timezone.utc)
        write_saved_plan(root / "plan.json", before, inventory, {})
        audit_log = root / "audit.log"
        code = main(
            [
                "apply",
                str(root / "plan.json"),
                "--inventory",
                str(inventory),
                "--backup-dir",
                str(root / "backups"),
                "--audit-log",
                str(audit_log),
            ]
        )
        assert code == 0
        after = plan_inventory(inventory, {})
        later = datetime.datetime.now(datetime.timezone.utc)
    [apply_run] = {json.loads(line)["run"] for line in audit_log.read_text(encoding="utf-8").splitlines() if line}
    yield LabAudits(before, after, audit_log, now - datetime.timedelta(days=1), later, apply_run)


def applied_keys(before: Plan, still: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The changes of the first audit that the second no longer reports: fixed by the apply."""
    return {(c.check, c.resource) for c in before.changes} - still


def test_two_lab_audits_a_day_apart_show_the_fix_by_apply(
    lab_audits: LabAudits, location: str, tmp_path: Path, cli: CliRunner
) -> None:
    audits = lab_audits
    with open_history(location, state_dir=tmp_path) as store:
        store.record_run(
            audits.before,
            run_id="audit-1",
            started_at=audits.first_at,
            finished_at=audits.first_at + datetime.timedelta(seconds=20),
            command="audit",
            exit_code=2,
        )
        assert store.record_applies(audits.audit_log) > 0
        store.record_run(
            audits.after,
            run_id="audit-2",
            started_at=audits.second_at,
            finished_at=audits.second_at + datetime.timedelta(seconds=20),
            command="audit",
            exit_code=int(audits.after[0].exit_code),
        )
        episodes = {(e.check, e.resource): e for e in store.episodes()}
        previous = store.previous_drift(before_run="audit-2")

    [before], [after] = audits.before, audits.after
    still = {(c.check, c.resource) for c in after.changes} | {(f.check, f.resource) for f in after.findings}
    # A setting that needs a restart stays drift (restart pending) after apply: not fixed yet.
    applied = applied_keys(before, still)
    assert ("UCCX-SMTP-004", "EX01\\Default EX01") in applied
    pending = episodes["UCCX-IMAP-004", "IMAP settings on EX01"]
    assert pending.fixed_at is None  # MSExchangeIMAP4 not restarted
    # ... but the apply is not hidden: the open episode names it.
    [pending_apply] = pending.applied_while_open
    assert pending_apply.run == audits.apply_run and audits.first_at < pending_apply.time < audits.second_at
    assert all(not episodes[key].applied_while_open for key in applied_keys(before, still))
    assert {(t, c, r) for t, c, r in previous if (c, r) not in still} == {(before.target, c, r) for c, r in applied}
    for key in applied:
        episode = episodes[key]
        assert (episode.first_seen, episode.last_seen, episode.fixed_at) == (
            audits.first_at,
            audits.first_at,
            audits.second_at,
        )
        [fix] = episode.fixed_by
        assert fix.run == audits.apply_run
        assert fix.operator == f"{local_user()} as {LAB_USER}"
        assert "applied" in fix.results
        assert audits.first_at < fix.time < audits.second_at

    result = cli("history", "--history", location, "--format", "json", "--check", "UCCX-SMTP-004")
    assert result.code == 0, result.err
    [shown] = json.loads(result.out)["episodes"]
    assert shown["fixed_by"][0]["run"] == audits.apply_run
    assert shown["first_seen"] == audits.first_at.isoformat(timespec="seconds").replace("+00:00", "Z")

    text = cli("history", "--history", location, "--target", "la*").out
    line = next(line for line in text.splitlines() if "UCCX-SMTP-004" in line)
    assert f"apply {audits.apply_run[:12]} by {local_user()} as {LAB_USER}" in line
    line = next(line for line in text.splitlines() if "UCCX-IMAP-004" in line)
    assert f"applied by {audits.apply_run[:12]} ({local_user()} as {LAB_USER})" in line
    assert "still drift at the audit of" in line and "a restart pending" in line
    shown = json.loads(cli("history", "--history", location, "--format", "json", "--check", "UCCX-IMAP-004").out)
    [imap] = [e for e in shown["episodes"] if e["resource"] == "IMAP settings on EX01"]
    assert imap["fixed_at"] is None and imap["applied_while_open"][0]["run"] == audits.apply_run

    # No secret is stored: the lab password is nowhere in the database.
    assert PASSWORD not in _all_text(location)
    if "://" not in location:
        assert PASSWORD.encode() not in Path(location).read_bytes()
