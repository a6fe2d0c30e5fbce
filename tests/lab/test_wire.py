"""A fleet's shared objects are serialized once (compliance.lab.wire): the bytes a client receives
from the cache are the bytes psrpcore's own write_output sends, and a changed state stops using it."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compliance.baseline.load import load_baseline
from compliance.inventory import load_inventory
from compliance.lab.fleet import Fleet, OrgSpec
from compliance.remoting import convert
from compliance.remoting.collect import collect

pytestmark = pytest.mark.server

NOW = datetime.datetime(2026, 12, 2, 6, 0, tzinfo=datetime.timezone.utc)
PASSWORD = "wire-password"


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    specs = [OrgSpec(name, "exchange2010-sp3-defaults", PASSWORD) for name in ("org-a", "org-b", "org-c")]
    with Fleet(specs, port=0) as served:
        yield served


def received(fleet: Fleet, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every output message's CLIXML, as the client received it, in a full read of ``name``."""
    texts: list[str] = []
    from_wire = convert._from_wire

    def recorded(clixml: str) -> Any:
        texts.append(clixml)
        return from_wire(clixml)

    inventory = load_inventory(fleet.write_inventory(tmp_path / f"{name}.yaml", password_env=lambda _: "UNUSED"))
    [target] = [t for t in inventory.targets if t.name == name]
    with monkeypatch.context() as patch:
        patch.setattr(convert, "_from_wire", recorded)
        raw = collect(
            target, load_baseline(target.baseline_path, target.vars).collection_request(), password=PASSWORD, now=NOW
        )
    assert all(reading.ok for reading in raw.values()), {k: r.error for k, r in raw.items() if not r.ok}
    return texts


def test_cached_output_is_byte_for_byte_what_psrpcore_sends(
    fleet: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = fleet["org-a"], fleet["org-b"]
    wire = a.state.wire
    assert wire is not None and b.state.wire is wire  # one cache for the organizations sharing a template
    a.state.wire = None  # org-a: every object serialized by psrpcore's write_output
    by_psrpcore = received(fleet, "org-a", tmp_path, monkeypatch)
    first = received(fleet, "org-b", tmp_path, monkeypatch)  # serialized once, kept
    hits = wire.hits
    second = received(fleet, "org-b", tmp_path, monkeypatch)  # from the cache
    assert wire.hits - hits >= 10  # the template objects of one full read
    assert by_psrpcore == first == second
    assert len(by_psrpcore) > 10


def test_a_changed_organization_stops_reading_the_cache_and_the_others_keep_theirs(
    fleet: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, c = fleet["org-a"], fleet["org-c"]
    before = received(fleet, "org-c", tmp_path, monkeypatch)
    a.state.unshare()  # what its first change does
    assert a.state.wire is None and c.state.wire is not None
    [connector] = [o for o in a.state.of("GetReceiveConnector") if "Default" in str(o.Name)][:1]
    connector.MaxInboundConnectionPerSource = 4321  # a change the cache must not hide
    changed = received(fleet, "org-a", tmp_path, monkeypatch)
    assert any(">4321<" in text for text in changed)
    assert received(fleet, "org-c", tmp_path, monkeypatch) == before
    assert not any(">4321<" in text for text in before)
