"""Bad input never reaches a server: ``apply --inventory`` with a hostile ``--var`` or baseline.

``apply --inventory FILE --auto-approve`` is the shortest path from input to a change on a server:
it plans, then applies without a question. For every hostile ``--var`` value and every damaged
baseline hypothesis finds that the tool refuses (a valid one is discarded, not applied), the
property is: exit 1, one line on stderr, no traceback, and the lab received **no request at all**
(its per-endpoint request counter did not move), so its state is unchanged too.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from compliance.baseline import load_baseline, parse_var_overrides
from compliance.cli import main
from compliance.errors import InputError
from compliance.lab import Lab
from compliance.lab.inventory import PASSWORD_ENV

REPO = Path(__file__).resolve().parents[2]
SP1 = REPO / "baselines" / "uccx-exchange2010-sp1.yaml"
SP1_TEXT = SP1.read_text(encoding="utf-8")
PASSWORD = "hostile-apply-password"
VARS = ["agents", "uccx_server_connections", "event_lookback_days", "uccx_mailbox", "receive_connectors", "nope"]
# What a careless colleague or an attacker types after NAME=: numbers out of range, YAML tags,
# aliases, flow collections, huge numbers, text where a number belongs.
VALUE_PARTS = ["-", "!!int ", "!!str ", "!!timestamp ", "!x ", "&a ", "*a", "[", "]", "{", "}", ",", "9" * 25, "0x"]
VALUES = st.lists(
    st.one_of(st.sampled_from(VALUE_PARTS), st.integers(-(10**6), 10**6).map(str), st.text(max_size=6)),
    max_size=5,
).map("".join)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Path]]:
    folder = tmp_path_factory.mktemp("hostile-apply")
    with Lab(scenario="exchange2010-sp3-defaults", port=0, password=PASSWORD) as running:
        yield running, running.write_inventory(folder / "inventory.yaml")


def _refused_in_process(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, err.getvalue()


def _assert_refused_and_nothing_sent(running: Lab, argv: list[str]) -> None:
    before_requests, before_state = dict(running.requests), running.state.snapshot()
    code, err = _refused_in_process(*argv)
    assert code == 1, err
    assert err.count("\n") == 1 and err.startswith("uccx-compliance: error: ") and "Traceback" not in err, err
    assert dict(running.requests) == before_requests, "a request reached the lab"
    assert running.state.snapshot() == before_state


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(VARS), value=VALUES)
def test_a_refused_var_sends_nothing(
    lab: tuple[Lab, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    running, inventory = lab
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    item = f"{name}={value}"
    try:
        load_baseline(SP1, parse_var_overrides([item]))
    except InputError:
        pass
    else:
        assume(False)  # a value the baseline accepts would be applied: not this property's case
    argv = ["apply", "--inventory", str(inventory), "--auto-approve", "--var", item]
    _assert_refused_and_nothing_sent(running, [*argv, "--audit-log", str(tmp_path / "a.log")])


@st.composite
def damaged_baseline(draw: st.DrawFn) -> str:
    lines = SP1_TEXT.splitlines()
    index = draw(st.integers(0, len(lines) - 1))
    how = draw(st.sampled_from(["replace", "retag", "indent", "drop"]))
    line = lines[index]
    if how == "replace":
        key, sep, _ = line.partition(":")
        lines[index] = key + sep + " " + draw(VALUES) if sep else draw(VALUES)
    elif how == "retag" and ":" in line:
        key, _, rest = line.partition(":")
        lines[index] = f"{key}: {draw(st.sampled_from(['!!int', '!!binary', '!!set', '!custom', '!!float']))}{rest}"
    elif how == "indent":
        lines[index] = " " * draw(st.integers(1, 3)) + line
    else:
        del lines[index]
    return "\n".join(lines) + "\n"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=damaged_baseline())
def test_a_refused_baseline_sends_nothing(
    lab: tuple[Lab, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    running, inventory = lab
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    baseline = tmp_path / "site.yaml"
    baseline.write_text(text, encoding="utf-8")
    try:
        load_baseline(baseline)
    except InputError:
        pass
    else:
        assume(False)  # still a valid baseline (a comment dropped, a title changed): it would apply
    argv = ["apply", "--inventory", str(inventory), "--baseline", str(baseline), "--auto-approve"]
    _assert_refused_and_nothing_sent(running, [*argv, "--audit-log", str(tmp_path / "audit.log")])
