"""The registry walk: every resource kind has every part it needs, or this fails naming the part.

A kind needs a reader (its cmdlet, and its commands for the organization or for each server), a
parser, a collector-script fragment that writes its file, and the lab cmdlets that serve it;
a kind apply can change also needs the forward and inverse cmdlets and an observer, and the lab
must answer each cmdlet they produce.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from compliance.cmdlet import EXCHANGE, CommandSpec
from compliance.kinds import CHANGE_HANDLERS, KINDS, handler
from compliance.kinds.base import Endpoint, ResourceKind
from compliance.lab.cmdlets import EXCHANGE_CMDLETS, HOST_CMDLETS
from compliance.pipeline import plan_folder
from compliance.plan import ChangeKind

ROOT = Path(__file__).resolve().parents[2]


def _overrides(kind: ResourceKind[Any], method: str) -> bool:
    return getattr(type(kind), method) is not getattr(ResourceKind, method)


def missing_parts(stem: str, kind: ResourceKind[Any]) -> list[str]:
    """What ``kind`` lacks, as words a maintainer can act on (empty: nothing)."""
    missing = []
    if kind.stem != stem:
        missing.append(f"registry key {stem} differs from its stem {kind.stem}")
    if not getattr(kind, "cmdlet", ""):
        missing.append("reader: no cmdlet")
    if not getattr(kind, "output_type", ""):
        missing.append("reader: no output_type to tie batched output to it")
    if kind.per_server and not _overrides(kind, "reads_on"):
        missing.append("reader: a per-server kind without reads_on")
    if kind.per_server != (kind.endpoint is Endpoint.HOST):
        missing.append("reader: per-server kinds are read on the host endpoint, the others on Exchange's")
    if not _overrides(kind, "parse"):
        missing.append("parser: parse is not implemented")
    expected_file = f"{stem}-$name.xml" if kind.per_server else f"{stem}.xml"
    if expected_file not in kind.collector:
        missing.append(f"collector fragment: does not write {expected_file}")
    lab = HOST_CMDLETS if kind.endpoint is Endpoint.HOST else EXCHANGE_CMDLETS
    if kind.cmdlet.lower() not in kind.lab_cmdlets:
        missing.append(f"lab cmdlet: {kind.cmdlet} is not among lab_cmdlets")
    missing += [f"lab cmdlet: the lab has no {name}" for name in kind.lab_cmdlets if name not in lab]
    return missing


@pytest.mark.parametrize("stem", list(KINDS))
def test_every_kind_has_every_part(stem: str) -> None:
    assert missing_parts(stem, KINDS[stem]) == []


def test_the_walk_names_what_a_kind_lacks() -> None:
    class Half(ResourceKind[list[Any]]):
        stem = "GetSomething"
        cmdlet = "Get-Something"
        endpoint = Endpoint.HOST
        per_server = True
        output_type = "Something"
        lab_cmdlets: ClassVar[tuple[str, ...]] = ("get-something",)

    assert missing_parts("GetSomething", Half()) == [
        "reader: a per-server kind without reads_on",
        "parser: parse is not implemented",
        "collector fragment: does not write GetSomething-$name.xml",
        "lab cmdlet: the lab has no get-something",
    ]


def test_every_change_kind_is_handled_by_a_registered_kind() -> None:
    assert set(CHANGE_HANDLERS) == set(ChangeKind)
    registered = {id(kind) for kind in KINDS.values()}
    for change_kind, kind in CHANGE_HANDLERS.items():
        assert id(kind) in registered, change_kind
        assert change_kind in kind.change_kinds
        for method in ("forward", "inverse", "observe"):
            assert callable(getattr(kind, method, None)), (change_kind, method)


def test_the_lab_answers_every_cmdlet_apply_and_rollback_send() -> None:
    # The defaults example needs one change of every kind; each one's forward and inverse must be
    # a cmdlet its kind declares and the lab serves.
    plan = plan_folder(
        ROOT / "baselines/uccx-exchange2010-sp1.yaml", ROOT / "examples/facts/exchange2010-sp3-defaults", {}
    )
    assert {c.kind for c in plan.changes} == set(ChangeKind)
    for change in plan.changes:
        kind = handler(change)
        sent: list[CommandSpec] = [kind.forward(change)]
        inverse = kind.inverse(change, change.current)
        sent += [inverse] if inverse is not None else []
        for command in sent:
            lab = EXCHANGE_CMDLETS if command.endpoint == EXCHANGE else HOST_CMDLETS
            assert command.cmdlet.lower() in lab, (change.check, command.cmdlet)
            owner = next(k for k in KINDS.values() if id(k) == id(kind))
            assert command.cmdlet.lower() in owner.lab_cmdlets, (change.check, command.cmdlet)
