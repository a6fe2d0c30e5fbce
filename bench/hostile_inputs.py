"""Every hostile input of the hostile-input issue, through the real CLI: exit, lines, time, memory.

Each case runs ``python -m compliance ...`` in a fresh interpreter under a 30 s timeout and a
2 GiB address-space limit (RLIMIT_AS), ``--runs`` times; the table gives the median wall time and
the largest peak RSS (``wait4``), the exit code, how many lines stderr had, and whether the case
ended as the issue says it must: the expected exit, one stderr line, no traceback, and nothing
secret printed. The live cases (a closed pipe during apply, a tampered plan) run against the lab
on 127.0.0.1; the tampered plan's listener must see no connection.

    python3 bench/hostile_inputs.py [--runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SP1 = REPO / "baselines" / "uccx-exchange2010-sp1.yaml"
DEFAULTS = REPO / "examples" / "facts" / "exchange2010-sp3-defaults"
LAB_PASSWORD = "bench-lab-password"
TIMEOUT_S = 30
MEMORY_BYTES = 2 * 1024**3


@dataclass
class Run:
    code: int
    out: str
    err: str
    wall: float
    rss_mib: float


@dataclass
class Case:
    name: str
    argv: Callable[[Path], list[str]]  # given a fresh scratch folder
    expect: int = 1
    stdout: str = "pipe"  # "pipe", "full" (/dev/full), "head" (read one line, then close), "closed"
    stderr_lines: int = 1  # a refusal is one line; a report that succeeds writes none
    secrets: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    check: Callable[[Run], str | None] | None = None  # extra condition; returns a problem or None
    live: bool = False  # runs against a fresh lab each time (apply changes it)
    located: bool = False  # the refusal must name FILE:LINE:COL: field:


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def run_case(case: Case, scratch: Path) -> Run:
    argv = [sys.executable, "-m", "compliance", *case.argv(scratch)]
    env = {**os.environ, **case.env, "PYTHONPATH": str(REPO)}
    stdout: Any = subprocess.PIPE
    if case.stdout == "full":
        stdout = open("/dev/full", "w")  # noqa: SIM115
    elif case.stdout == "closed":  # `| head -0`: the reader is gone before the first write
        read_end, stdout = os.pipe()
        os.close(read_end)
    start = time.perf_counter()
    child = subprocess.Popen(
        argv, cwd=scratch, stdout=stdout, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=_limit
    )
    out = ""
    timer = threading.Timer(TIMEOUT_S, child.kill)
    timer.start()
    try:
        if case.stdout == "head" and child.stdout is not None:
            out = child.stdout.readline()
            child.stdout.close()
        elif child.stdout is not None:
            out = child.stdout.read()
        assert child.stderr is not None
        err = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
    finally:
        timer.cancel()
        if isinstance(stdout, int) and stdout >= 0:
            os.close(stdout)
        elif stdout is not subprocess.PIPE:
            stdout.close()
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return Run(child.returncode, out, err, wall, usage.ru_maxrss / 1024)


# validate is a linter and prints its lines bare; every other command prefixes the error handler's.
_LOCATED = re.compile(r"^(uccx-compliance: error: )?[^\n]+:\d+:\d+: [^\n:]+: [^\n]+\n$")


def verdict(case: Case, run: Run) -> str:
    lines = run.err.splitlines()
    problems = []
    if run.code != case.expect:
        problems.append(f"exit {run.code}, expected {case.expect}")
    if len(lines) != case.stderr_lines:
        problems.append(f"{len(lines)} stderr lines, expected {case.stderr_lines}")
    if "Traceback" in run.err:
        problems.append("traceback")
    if run.wall >= TIMEOUT_S:
        problems.append("timed out")
    problems += [f"printed a secret ({s[:4]}...)" for s in case.secrets if s in run.out + run.err]
    if case.located and not _LOCATED.match(run.err):
        problems.append("not a FILE:LINE:COL: field: message line")
    if case.check is not None and (extra := case.check(run)):
        problems.append(extra)
    return "ok" if not problems else "FAIL: " + "; ".join(problems)


# --- the cases ------------------------------------------------------------------------------


def _baseline_with(scratch: Path, old: str, new: str) -> Path:
    text = SP1.read_text(encoding="utf-8")
    assert old in text, old
    path = scratch / "site.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _validate_text(text: str) -> Callable[[Path], list[str]]:
    def argv(scratch: Path) -> list[str]:
        (scratch / "b.yaml").write_text(text, encoding="utf-8")
        return ["validate", str(scratch / "b.yaml")]

    return argv


def _expression(expr: str) -> Callable[[Path], list[str]]:
    def argv(scratch: Path) -> list[str]:
        path = _baseline_with(scratch, "at_least: 10240", f'at_least: "{{{{ {expr} }}}}"')
        return ["validate", str(path)]

    return argv


def _plan(*extra: str) -> Callable[[Path], list[str]]:
    return lambda scratch: ["plan", "--baseline", str(SP1), "--facts", str(DEFAULTS), *extra]


def _laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [" + ",".join(f"*{prev}" for _ in range(9)) + "]")
    return "\n".join(lines) + "\n"


def _setting_injection(scratch: Path) -> list[str]:
    path = _baseline_with(
        scratch,
        "setting: MaxCommandSize",
        'setting: "MaxCommandSize 1; Remove-Mailbox -Identity ceo -Confirm:$false; Write-Host"',
    )
    return ["validate", str(path)]


def _out_under_file(scratch: Path) -> list[str]:
    (scratch / "file").write_text("x", encoding="utf-8")
    return [*_plan("--out", str(scratch / "file" / "r.txt"))(scratch)]


def _out_onto(kind: str) -> Callable[[Path], list[str]]:
    def argv(scratch: Path) -> list[str]:
        target = scratch / f"target-{kind}"
        if kind == "fifo":
            os.mkfifo(target)
        elif kind == "symlink":
            (scratch / "real.txt").write_text("keep me\n", encoding="utf-8")
            target.symlink_to(scratch / "real.txt")
        return _plan("--out", str(target))(scratch)

    return argv


def _facts_edge_time(scratch: Path) -> list[str]:
    folder = scratch / "facts"
    shutil.copytree(DEFAULTS, folder)
    info = folder / "collection.txt"
    text = info.read_text(encoding="utf-8-sig").replace("2026-11-22T16:05:31Z", "0001-01-01T00:00:00+14:00")
    info.write_text(text, encoding="utf-8")
    return ["plan", "--baseline", str(SP1), "--facts", str(folder)]


def _facts_with_connector_name(name: str, fmt: str) -> Callable[[Path], list[str]]:
    def argv(scratch: Path) -> list[str]:
        folder = scratch / "facts"
        shutil.copytree(DEFAULTS, folder)
        path = folder / "GetReceiveConnector.xml"
        path.write_text(path.read_text(encoding="utf-8-sig").replace("Default EX01", name), encoding="utf-8")
        return ["plan", "--baseline", str(SP1), "--facts", str(folder), "--format", fmt]

    return argv


def _junit_parses(run: Run) -> str | None:
    import xml.etree.ElementTree as ET

    try:
        ET.fromstring(run.out)
    except ET.ParseError as exc:
        return f"invalid XML: {exc}"
    return None


def _no_escape(run: Run) -> str | None:
    return "raw ESC in the text report" if "\x1b" in run.out else None


INVENTORY = """\
apiVersion: uccx-compliance/v1
kind: Inventory
targets:
  - name: {name}
    exchange_endpoint: {url}
    auth: ntlm
    username: LAB\\\\uccx-audit
    password_env: BENCH_PASSWORD
    baseline: uccx-exchange2010-sp1
    servers:
      - {{name: EX01, roles: [Mailbox, ClientAccess, HubTransport]}}
"""
SECRET = "S3cret-in-the-url"


def _inventory(text: str) -> Callable[[Path], list[str]]:
    def argv(scratch: Path) -> list[str]:
        (scratch / "inventory.yaml").write_text(text, encoding="utf-8")
        return ["plan", "--inventory", str(scratch / "inventory.yaml")]

    return argv


def _duplicate_targets() -> str:
    one = INVENTORY.format(name="site-a", url="http://127.0.0.1:9/PowerShell/")
    second = one.split("targets:\n", 1)[1].replace("site-a", "Site-A")
    return one + second


def offline_cases() -> list[Case]:
    digits = "9" * 4400
    return [
        Case("yaml: !!int abc", _validate_text("a: !!int abc\n"), located=True),
        Case("yaml: bad !!timestamp", _validate_text("a: !!timestamp 2024-13-45\n"), located=True),
        Case("yaml: unknown !custom tag", _validate_text("a: !custom x\n"), located=True),
        Case("yaml: 900 nested [", _validate_text("a: " + "[" * 900 + "]" * 900 + "\n"), located=True),
        Case("yaml: billion laughs", _validate_text(_laughs()), located=True),
        Case("yaml: 4,400-digit number", _validate_text(f"a: {digits}\n"), located=True),
        Case("--var agents=!!int zz", _plan("--var", "agents=!!int zz"), located=True),
        Case("--var agents=-5", _plan("--var", "agents=-5"), located=True),
        Case("expr: division by zero", _expression("agents // 0"), located=True),
        Case("expr: max()", _expression("max()"), located=True),
        Case("expr: max(5)", _expression("max(5)"), located=True),
        Case("expr: max('a', 1)", _expression("max('a', 1)"), located=True),
        Case("expr: -'a'", _expression("-'a'"), located=True),
        Case("expr: 1,000 nested minus", _expression("-" * 1000 + "1"), located=True),
        Case("expr: 240 nested minus (under the length cap)", _expression("-" * 240 + "1"), located=True),
        Case("expr: 1+1+...+1 (240, under the length cap)", _expression("+".join(["1"] * 240)), located=True),
        Case("expr: 1+1+...+1 (1,000)", _expression("+".join(["1"] * 1000)), located=True),
        Case("expr: product past 2**63", _expression("*".join(["999999999"] * 3)), located=True),
        Case("expr: product > 4,300 digits", _expression("*".join(["999999999999999999"] * 260)), located=True),
        Case("setting name with PowerShell code", _setting_injection, located=True),
        Case("--out under a regular file", _out_under_file),
        Case("stdout is /dev/full", _plan(), expect=5, stdout="full"),
        Case("plan | head -0 (pipe closed)", _plan(), expect=5, stdout="closed"),
        Case("--out onto a FIFO", _out_onto("fifo")),
        Case("--out onto a symlink", _out_onto("symlink")),
        Case("CollectedAtUtc 0001-01-01T00:00:00+14:00", _facts_edge_time, located=True),
        Case(
            "U+0001 in a connector name (junit)",
            _facts_with_connector_name("Def_x0001_ault EX01", "junit"),
            expect=2,
            stderr_lines=0,
            check=_junit_parses,
        ),
        Case(
            "ESC in a connector name (text)",
            _facts_with_connector_name("Def_x001B_[31mault EX01", "text"),
            expect=2,
            stderr_lines=0,
            check=_no_escape,
        ),
        Case(
            "inventory URL with userinfo",
            _inventory(INVENTORY.format(name="a", url=f"http://admin:{SECRET}@127.0.0.1:9/PowerShell/")),
            secrets=(SECRET,),
        ),
        Case("two targets with one name", _inventory(_duplicate_targets()), located=True),
        Case(
            "probe imap login without TLS",
            lambda scratch: [
                *("probe", "imap", "--host", "127.0.0.1", "--port", "9"),
                *("--user", "uccx", "--password-env", "UCCX_PROBE_PASSWORD"),
            ],
            env={"UCCX_PROBE_PASSWORD": "probe-secret"},
            secrets=("probe-secret",),
        ),
    ]


# --- live cases against the lab ----------------------------------------------------------------


class Listener:
    """Counts connections on 127.0.0.1: where a tampered plan would send the NTLM handshake."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


LAB: list[Any] = []  # the lab of the live case running now


def live_cases(listener: Listener) -> list[Case]:
    from compliance.apply.saved_plan import canonical_checksum

    def saved_plan(scratch: Path) -> tuple[Path, Path]:
        inventory = LAB[0].write_inventory(scratch / "inventory.yaml")
        plan = scratch / "plan.json"
        env = {**os.environ, "UCCX_LAB_PASSWORD": LAB_PASSWORD, "PYTHONPATH": str(REPO)}
        planned = ["plan", "--inventory", str(inventory), "--format", "json", "--out", str(plan)]
        subprocess.run(
            [sys.executable, "-m", "compliance", *planned],
            cwd=scratch,
            env=env,
            capture_output=True,
            check=False,
            timeout=60,
        )
        return inventory, plan

    def apply_into_head(scratch: Path) -> list[str]:
        inventory, plan = saved_plan(scratch)
        logs = ["--audit-log", str(scratch / "audit.log"), "--backup-dir", str(scratch / "backups")]
        return ["apply", str(plan), "--inventory", str(inventory), *logs]

    def tampered(scratch: Path) -> list[str]:
        inventory, plan = saved_plan(scratch)
        document = json.loads(plan.read_text(encoding="utf-8"))
        document["targets"][0]["host_endpoints"]["EX01"] = f"http://127.0.0.1:{listener.port}/wsman"
        document["checksum"] = canonical_checksum(document)
        plan.write_text(json.dumps(document), encoding="utf-8")
        return ["apply", str(plan), "--inventory", str(inventory), "--audit-log", str(scratch / "audit.log")]

    def nothing_sent(run: Run) -> str | None:
        return f"the listener saw {listener.connections} connection(s)" if listener.connections else None

    env = {"UCCX_LAB_PASSWORD": LAB_PASSWORD}
    return [
        Case(
            "apply | head -1 (lab)",
            apply_into_head,
            expect=5,
            stdout="head",
            env=env,
            secrets=(LAB_PASSWORD,),
            live=True,
        ),
        Case(
            "plan with host_endpoints redirected (lab)",
            tampered,
            env=env,
            secrets=(LAB_PASSWORD,),
            check=nothing_sent,
            live=True,
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("-v", "--verbose", action="store_true", help="print each case's stderr line")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from compliance.lab import Lab

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"each case: {args.runs} run(s) in a fresh interpreter, timeout {TIMEOUT_S} s, RLIMIT_AS 2 GiB")
    header = f"{'case':46} {'exit':>4} {'lines':>5} {'median s':>8} {'max RSS MiB':>11}  verdict"
    print(header)
    failed = 0
    listener = Listener()
    try:
        for case in offline_cases() + live_cases(listener):
            runs = []
            for _ in range(args.runs):
                with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
                    if case.live:
                        LAB[:] = [
                            stack.enter_context(
                                Lab(scenario="exchange2010-sp3-defaults", port=0, password=LAB_PASSWORD)
                            )
                        ]
                    runs.append(run_case(case, Path(tmp)))
            last = runs[-1]
            verdicts = {verdict(case, r) for r in runs}
            shown = "ok" if verdicts == {"ok"} else "; ".join(sorted(verdicts - {"ok"}))
            failed += shown != "ok"
            median = statistics.median(r.wall for r in runs)
            peak = max(r.rss_mib for r in runs)
            lines = len(last.err.splitlines())
            print(f"{case.name:46} {last.code:>4} {lines:>5} {median:>8.2f} {peak:>11.1f}  {shown}")
            if shown != "ok" or (args.verbose and last.err):
                print(f"    {last.err.strip()[:300]}")
    finally:
        listener.close()
    print(f"{failed} case(s) did not end as required" if failed else "every case ended as required")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
