"""Hostile fact files, by class: whatever a fact file holds, the plan is a verdict or one line.

Each example takes one real file of the compliant example folder and damages it the way a broken
export, a hand edit or an attacker would: a value replaced by arbitrary text, an element retyped
(``<I32>`` to ``<DT>``, ``<S>`` to ``<Ref>``), an element dropped or duplicated, the file truncated,
bytes inserted. The property, for every damage:

- reading and planning raise nothing (no bug, exit 4, and no traceback);
- every check is judged exactly once: compliant, drift or unreadable, and what the damaged file
  feeds is never compliant unless its value still reads as compliant;
- every report format renders, and the machine formats stay well-formed (JSON parses, JUnit is XML).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.baseline import load_baseline
from compliance.errors import ExitCode, InputError
from compliance.facts.collection import RawFacts
from compliance.facts.model import Reading
from compliance.facts.offline import read_clixml, read_raw
from compliance.pipeline import build_facts, plan
from compliance.reporters import REPORTERS, render

REPO = Path(__file__).resolve().parents[2]
COMPLIANT = REPO / "examples" / "facts" / "exchange2010-sp3-compliant"
SP1 = load_baseline(REPO / "baselines" / "uccx-exchange2010-sp1.yaml")
BASE: RawFacts = read_raw(COMPLIANT)
FILES = sorted(p.name for p in COMPLIANT.glob("*.xml"))
PS_URI = "http://schemas.microsoft.com/powershell/2004/04"
NS = "{" + PS_URI + "}"
ET.register_namespace("", PS_URI)  # written back as <Objs xmlns=...>, as Export-Clixml writes it
# The CLIXML element names (MS-PSRP 2.2.5): primitives, containers and references.
# The properties reports show as names: what a server (or an attacker with Exchange rights) names.
NAMES = {"Name", "Identity", "Server", "DistinguishedName", "ServerName", "User", "LogName", "ProviderName"}
TAGS = ["S", "I32", "I64", "U32", "I16", "By", "B", "DT", "TS", "Db", "D", "G", "Nil", "Ref", "Obj", "LST", "Props"]


def _elements(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter() if e is not root]


@st.composite
def damaged_file(draw: st.DrawFn) -> tuple[str, bytes]:
    """(file name, its damaged bytes)."""
    name = draw(st.sampled_from(FILES))
    data = (COMPLIANT / name).read_bytes()
    root = ET.fromstring(data.decode("utf-8-sig"))
    elements = _elements(root)
    names = [e for e in elements if (e.get("N") in NAMES and e.tag == NS + "S") or e.tag == NS + "ToString"]
    structural = ["text", "retag", "drop", "duplicate"] if elements else []  # an empty <Objs/> has none
    how = draw(st.sampled_from([*structural, *(["name"] * 3 if names else []), "truncate", "insert"]))
    if how in ("truncate", "insert"):
        at = draw(st.integers(0, len(data)))
        if how == "truncate":
            return name, data[:at]
        return name, data[:at] + draw(st.binary(min_size=1, max_size=40)) + data[at:]
    target = draw(st.sampled_from(names if how == "name" else elements))
    parent = next(p for p in root.iter() if target in list(p))
    if how in ("text", "name"):
        # Any text the XML can carry: the reader must judge or refuse it, not crash on it.
        # Any text the XML can carry, and what it cannot, as Export-Clixml escapes it (_x001B_ is ESC):
        # the reader must judge or refuse it, and every writer must escape it, never crash on it.
        plain = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=20)
        control = st.one_of(st.integers(0, 0x1F), st.integers(0x7F, 0x9F), st.sampled_from([0x202E, 0x2066]))
        escaped = control.map(lambda code: f"_x{code:04X}_")
        target.text = "".join(draw(st.lists(st.one_of(plain, escaped), min_size=1, max_size=6)))
    elif how == "retag":
        target.tag = NS + draw(st.sampled_from(TAGS))
    elif how == "drop":
        parent.remove(target)
    else:
        parent.insert(list(parent).index(target), ET.fromstring(ET.tostring(target)))
    damaged = ET.tostring(root, encoding="utf-8")
    assert b"<Objs" in damaged[:512]  # still looks like an export: the damage is inside, not a wrong header
    return name, damaged


def _raw_with(tmp: Path, name: str, data: bytes) -> RawFacts:
    path = tmp / name
    path.write_bytes(data)
    try:
        reading = Reading(read_clixml(path))
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # what read_raw turns into a reason
        reading = Reading.failed(f"{name}: {exc}")
    return {**BASE, name.removesuffix(".xml"): reading}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-facts")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damaged_file())
def test_a_damaged_fact_file_gives_a_verdict_never_a_crash(scratch: Path, damage: tuple[str, bytes]) -> None:
    name, data = damage
    facts = build_facts(_raw_with(scratch, name, data), source="hostile")
    result = plan(SP1, facts)
    judged = [c.check for c in result.compliant] + [c.check for c in result.changes]
    judged += [f.check for f in result.findings] + [u.check for u in result.unreadable]
    assert set(judged) >= {"UCCX-IMAP-001", "UCCX-MBX-001", "UCCX-ADP-001"}
    assert result.exit_code in (ExitCode.OK, ExitCode.DRIFT, ExitCode.INCOMPLETE)
    for fmt in REPORTERS:
        try:
            text = render(fmt, [result], verbose=True)
        except InputError as exc:  # only the script writer may refuse, and in one line
            assert fmt == "ps1" and "\n" not in str(exc)
            continue
        if fmt == "json":
            json.loads(text)
        elif fmt == "junit":
            ET.fromstring(text)


def test_the_damage_strategy_reaches_every_kind_of_damage() -> None:
    """The property above is only as good as its damage: each kind must change the file."""
    seen: set[bytes] = set()

    @settings(max_examples=60, deadline=None)
    @given(damaged_file())
    def collect(damage: tuple[str, bytes]) -> None:
        seen.add(damage[1])

    collect()
    originals = {(COMPLIANT / n).read_bytes() for n in FILES}
    assert len(seen - originals) > 30
