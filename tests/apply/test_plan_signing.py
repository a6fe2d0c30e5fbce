"""Plan signing: ``plan --out`` signs under UCCX_PLAN_SIGNING_KEY, apply checks before connecting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance.apply.saved_plan import SIGNING_KEY_ENV, canonical_checksum, plan_signature
from tests.apply.applyhelpers import Workspace
from tests.apply.capture import CaptureListener

KEY = "k3y-that-must-never-be-printed-91c2"


def plan_cli(workspace: Workspace, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = workspace.cli(*argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def signed_plan(workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    from compliance.cli import main

    capsys.readouterr()
    code = main(
        [
            "--debug",
            "plan",
            "--inventory",
            str(workspace.inventory),
            "--format",
            "json",
            "--out",
            str(workspace.plan_path),
        ]
    )
    captured = capsys.readouterr()
    assert code == 2, captured.err  # drift: the lab's defaults differ from the baseline
    assert KEY not in captured.out + captured.err
    return workspace.plan_path


def test_plan_out_signs_and_apply_accepts_the_signed_plan(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = signed_plan(workspace, capsys, monkeypatch)
    text = path.read_text(encoding="utf-8")
    document = json.loads(text)
    assert document["signature"] == plan_signature(document, KEY.encode())
    assert document["signature"].startswith("hmac-sha256:") and KEY not in text
    before = workspace.lab.state.snapshot()
    code, out = plan_cli(workspace, capsys, "--debug", "apply", str(path))
    assert code == 0, out
    assert KEY not in out and KEY not in workspace.audit.read_text(encoding="utf-8")
    assert all(KEY not in p.read_text(encoding="utf-8") for p in workspace.backups.iterdir())
    assert workspace.lab.state.snapshot() != before


def refused(workspace: Workspace, capsys: pytest.CaptureFixture[str], path: Path, expected: str) -> None:
    before = workspace.lab.state.snapshot()
    code, out = plan_cli(workspace, capsys, "apply", str(path))
    assert code == 1, out
    assert out.count("\n") == 1 and expected in out, out
    assert KEY not in out
    assert workspace.lab.state.snapshot() == before and workspace.audit_lines() == []


def test_an_edited_signed_plan_is_refused_even_with_the_checksum_recomputed(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = signed_plan(workspace, capsys, monkeypatch)
    with CaptureListener() as listener:
        document = json.loads(path.read_text(encoding="utf-8"))
        document["targets"][0]["inventory"] = str(workspace.root / "elsewhere.yaml")
        document["checksum"] = canonical_checksum(document)
        path.write_text(json.dumps(document), encoding="utf-8")
        refused(workspace, capsys, path, f"{path}: signature: does not match the plan under {SIGNING_KEY_ENV}")
    assert listener.connections == 0


def test_a_plan_signed_with_another_key_is_refused(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = signed_plan(workspace, capsys, monkeypatch)
    monkeypatch.setenv(SIGNING_KEY_ENV, "another-key")
    refused(workspace, capsys, path, "signature: does not match")


def test_an_unsigned_plan_is_refused_while_the_key_is_set(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    path = workspace.save_plan()
    assert "signature" not in json.loads(path.read_text(encoding="utf-8"))
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    refused(workspace, capsys, path, f"{SIGNING_KEY_ENV} is set but the plan is not signed")


def test_a_signed_plan_without_the_key_is_refused(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = signed_plan(workspace, capsys, monkeypatch)
    monkeypatch.delenv(SIGNING_KEY_ENV)
    refused(workspace, capsys, path, f"the plan is signed but {SIGNING_KEY_ENV} is not set")


def test_a_signature_that_is_not_text_is_refused_not_a_crash(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = signed_plan(workspace, capsys, monkeypatch)
    for forged in (["x"], "hmac-sha256:é", None):
        document = json.loads(path.read_text(encoding="utf-8"))
        document["signature"] = forged
        document["checksum"] = canonical_checksum(document)
        path.write_text(json.dumps(document), encoding="utf-8")
        refused(workspace, capsys, path, SIGNING_KEY_ENV)


def test_an_empty_key_is_an_input_error(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    path = workspace.save_plan()
    monkeypatch.setenv(SIGNING_KEY_ENV, "")
    refused(workspace, capsys, path, f"{SIGNING_KEY_ENV} is set but empty")


def test_a_signed_plan_may_name_its_inventory_itself(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signature covers targets[].inventory, so a checked plan needs no --inventory."""
    from compliance.cli import main

    path = signed_plan(workspace, capsys, monkeypatch)
    before = workspace.lab.state.snapshot()
    capsys.readouterr()
    argv = ["apply", str(path), "--backup-dir", str(workspace.backups), "--audit-log", str(workspace.audit)]
    assert main(argv) == 0, capsys.readouterr().err
    assert workspace.lab.state.snapshot() != before
