"""``plan --inventory --format html|sarif|prometheus|csv --out FILE`` against the real lab: each file
is written, well formed, and holds no secret (the lab's password is in the environment, never in
a plan)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from compliance.lab import Lab
from tests.conftest import CliRunner
from tests.reporters.test_html import parsed
from tests.reporters.test_sarif import validator

PASSWORD = "lab-Pa55-reports-7f3a"


@pytest.mark.server
def test_every_new_format_from_a_live_plan(cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UCCX_LAB_PASSWORD", PASSWORD)
    with Lab(scenario="exchange2010-sp3-defaults", port=0, password=PASSWORD) as lab:
        inventory = lab.write_inventory(tmp_path / "inventory.yaml")
        for fmt in ("html", "sarif", "prometheus", "csv"):
            out = tmp_path / f"report.{fmt}"
            result = cli("plan", "--inventory", inventory, "--format", fmt, "--out", out)
            assert result.code == 2, result.err  # the lab's defaults drift
    texts = {
        fmt: (tmp_path / f"report.{fmt}").read_text(encoding="utf-8") for fmt in ("html", "sarif", "prometheus", "csv")
    }
    for text in texts.values():
        assert PASSWORD not in text
    assert "lab-exchange2010-sp3-defaults" in texts["html"] and "refuses the 9th agent" in texts["html"]
    assert "script" not in {tag for tag, _ in parsed(texts["html"]).tags}
    validator().validate(json.loads(texts["sarif"]))
    assert any(f.name == "uccx_compliance_check_compliant" for f in text_string_to_metric_families(texts["prometheus"]))
    table = list(csv.DictReader(io.StringIO(texts["csv"], newline="")))
    assert {row["target"] for row in table} == {"lab-exchange2010-sp3-defaults"}
