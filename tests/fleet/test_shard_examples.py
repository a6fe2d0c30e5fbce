"""The fleet examples (docs/fleet.md) parse, and every uccx-compliance command in them is one the
CLI accepts: the same argparse parser the tool runs, given the command with its shell variables
replaced by sample values."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from compliance.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
MATRIX = REPO / "examples" / "github" / "fleet-shards.yml"
INDEXED = REPO / "examples" / "kubernetes" / "fleet-indexed-job.yaml"
_SAMPLES = {
    r"\$\{\{ matrix\.shard \}\}": "2",
    r"\$\(\(JOB_COMPLETION_INDEX \+ 1\)\)": "3",
    r'"\$UCCX_HISTORY_URL"': "postgresql://uccx@db.example/uccx",
}


def strings(node: object) -> list[str]:
    """Every text in a YAML document: run: blocks, container args, env values."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [t for value in node.values() for t in strings(value)]
    if isinstance(node, list):
        return [t for value in node for t in strings(value)]
    return []


def commands(example: Path) -> list[list[str]]:
    """Each ``uccx-compliance ...`` invocation in the example's texts, continuation lines joined,
    up to a shell operator, with shell variables replaced by sample values."""
    found = []
    for text in strings(list(yaml.safe_load_all(example.read_text()))):
        joined = re.sub(r"\\\n\s*", " ", text)
        for pattern, value in _SAMPLES.items():
            joined = re.sub(pattern, value, joined)
        found += [shlex.split(m.group(1)) for m in re.finditer(r"uccx-compliance ([^\n;|&>]+)", joined)]
    return found


def test_the_matrix_runs_four_shards_and_merges_them() -> None:
    workflow = yaml.safe_load(MATRIX.read_text())
    assert workflow["jobs"]["shard"]["strategy"]["matrix"]["shard"] == [1, 2, 3, 4]
    assert workflow["jobs"]["shard"]["strategy"]["fail-fast"] is False
    assert workflow["jobs"]["merge"]["needs"] == "shard"


def test_the_indexed_job_maps_its_completion_index_to_the_shard() -> None:
    job = yaml.safe_load(INDEXED.read_text())
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == 8
    [container] = spec["template"]["spec"]["containers"]
    assert "--shard $((JOB_COMPLETION_INDEX + 1))/8" in " ".join(container["args"])
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("example", [MATRIX, INDEXED], ids=lambda p: p.name)
def test_every_command_in_the_example_parses(example: Path) -> None:
    found = commands(example)
    assert found, "no uccx-compliance command found"
    parser = build_parser()
    for words in found:
        args = parser.parse_args(words)  # argparse exits (SystemExit) on an unknown flag
        if args.command == "audit":
            assert args.shard is not None and args.history and args.report
