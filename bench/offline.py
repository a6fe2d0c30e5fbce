"""Benchmark: offline reading cost of connector-heavy organizations (issue 14).

Builds fact folders (the exchange2019-defaults example) whose GetReceiveConnector.xml holds N
receive connectors replicated from CSS-Exchange's real Exchange 2019 export
(tests/fixtures/real/E19-GetReceiveConnector.xml, 5 connectors) with distinct names, identities,
GUIDs and RefIds, its server renamed EX01. Two shapes:

- ``export``: the export's own bytes, SerializationData blobs included (about 63 KB a connector),
  as the collector script's ``Export-Clixml`` writes them;
- ``written``: the same connectors through ``clixml_writer`` (about 17 KB a connector), as
  ``facts collect`` writes them.

For each size and shape it runs, each in a fresh interpreter: a full ``plan --facts`` (the CLI) and
the read alone (``read_clixml`` of the connector file), with ``--reader fast`` (the streaming
reader, as shipped) or ``psrpcore`` (the reference alone). It prints the median wall time of N runs
and the peak RSS (the child's ``ru_maxrss``).

A file over 16 MiB (2,000 connectors in either shape) is read by the streaming reader alone, up to
128 MiB; psrpcore alone is refused it, so to measure psrpcore there (or anything over 128 MiB) the
child lifts the bounds (``MAX_FILE_BYTES``, ``MAX_STREAMED_FILE_BYTES`` and the folder budgets) and
the row says so.

    python3 bench/offline.py [--runs N] [--sizes 2,200,2000] [--shapes export,written]
                             [--readers fast,psrpcore] [--what read,plan]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from compliance.facts.clixml_writer import to_clixml  # noqa: E402
from compliance.facts.offline import (  # noqa: E402
    MAX_FILE_BYTES,
    MAX_FOLDER_BYTES,
    MAX_STREAMED_FILE_BYTES,
    read_clixml,
)

EXPORT = REPO / "tests" / "fixtures" / "real" / "E19-GetReceiveConnector.xml"
BASE = REPO / "examples" / "facts" / "exchange2019-defaults"
BASELINE = REPO / "baselines" / "uccx-exchange2013.yaml"
SERVER = "WIN-CTD3L0RGEN4"
_REF_ID = re.compile(r'(<(?:Obj|Ref)\b[^>]*RefId=")(\d+)"')
# The child: lift the bounds when asked, swap the reader when asked, then run the CLI or the read.
CHILD = """
import atexit, os, sys, time
from pathlib import Path

def report(read_seconds=[None]):
    # VmHWM starts afresh at exec, unlike ru_maxrss, which keeps the forking parent's peak.
    status = Path("/proc/self/status").read_text()
    hwm = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    Path(os.environ["BENCH_REPORT"]).write_text(f"{hwm} {read_seconds[0] or ''}")

atexit.register(report)
import compliance.facts.offline as offline
from compliance.facts import clixml_reader
if sys.argv[2] == "lift":
    offline.MAX_FILE_BYTES = offline.MAX_FOLDER_BYTES = 1 << 30
    offline.MAX_STREAMED_FILE_BYTES = offline.MAX_FOLDER_STREAMED_BYTES = 1 << 30
    # read_raw calls it with the defaults
    offline.read_clixml.__kwdefaults__ = {"limit": 1 << 30, "streamed_limit": 1 << 30}
if sys.argv[1] == "psrpcore":
    def declined(self, text):
        raise clixml_reader.Declined("psrpcore alone")
    clixml_reader.Stream.feed = declined  # read_clixml then reads the file again, with psrpcore
if sys.argv[3] == "read":
    started = time.perf_counter()
    objects = offline.read_clixml(Path(sys.argv[4]), limit=offline.MAX_FILE_BYTES)
    report.__defaults__[0][0] = time.perf_counter() - started
    assert len(objects) == int(sys.argv[5]), len(objects)
else:
    from compliance.cli import main
    sys.exit(main(sys.argv[4:]))
"""


def replicate(text: str, copies: int) -> str:
    """The export's connectors ``copies`` times: names, identities, GUIDs and RefIds made distinct.

    Copy 0 is the export; later copies refer to its type-name lists (TNRef) as one long export would.
    """
    start, end = text.index(">") + 1, text.rindex("</Objs>")
    head, body, tail = text[:start], text[start:end].replace(SERVER, "EX01"), text[end:]
    names = re.findall(r'<S N="Name">([^<]*)</S>', body)
    stride = max(int(ref) for ref in re.findall(r'<(?:Obj|Ref)\b[^>]*RefId="(\d+)"', body)) + 1
    as_refs = re.sub(r'<TN RefId="(\d+)">.*?</TN>', r'<TNRef RefId="\1" />', body, flags=re.S)
    parts = [body]
    for copy in range(1, copies):
        shift = copy * stride
        part = _REF_ID.sub(lambda m, by=shift: f'{m.group(1)}{int(m.group(2)) + by}"', as_refs)
        for name in names:
            part = part.replace(f">{name}<", f">{name} {copy:04d}<").replace(f"\\{name}<", f"\\{name} {copy:04d}<")
            part = part.replace(f"CN={name},", f"CN={name} {copy:04d},")
        part = re.sub(r'<G N="Guid">[^<]*</G>', lambda _m: f'<G N="Guid">{uuid.uuid4()}</G>', part)
        parts.append(part)
    return head + "".join(parts) + tail


def build(root: Path, connectors: int, shape: str) -> Path:
    folder = root / f"{shape}-{connectors}"
    shutil.copytree(BASE, folder)
    source = EXPORT.read_text(encoding="utf-8-sig")
    copies = -(-connectors // 5)
    text = replicate(source, copies)
    target = folder / "GetReceiveConnector.xml"
    if shape == "written":
        target.write_text(text, encoding="utf-8")
        objects = read_clixml(target, streamed_limit=1 << 30)[:connectors]
        text = to_clixml(objects)
    else:
        text = text[: _cut(text, connectors)] + "</Objs>" if copies * 5 != connectors else text
    target.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    return folder


def _cut(text: str, connectors: int) -> int:
    """Where the ``connectors``+1-th top-level object starts (to keep the first ``connectors``)."""
    starts = [m.start() for m in re.finditer(r"\n  <Obj ", text)]
    return starts[connectors]


def measure(command: list[str], report: Path) -> tuple[float, int, int, float | None]:
    """Wall seconds, peak RSS (KiB, the child's VmHWM), exit code and in-process read seconds of one child."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - started
    hwm, _, seconds = report.read_text().partition(" ")
    return elapsed, int(hwm), done.returncode, float(seconds) if seconds else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="2,200,2000")
    parser.add_argument("--shapes", default="export,written")
    parser.add_argument("--readers", default="fast,psrpcore")
    parser.add_argument("--what", default="read,plan")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"each case: median of {args.runs} run(s) in a fresh interpreter; peak RSS is the largest run's")
    print("wall s: the whole child (interpreter start included); read s: read_clixml alone, in the child")
    print(
        f"{'shape':8} {'connectors':>10} {'file MB':>8} {'reader':9} {'what':5} {'wall s':>7} {'read s':>7}"
        f" {'RSS MiB':>8}  note"
    )
    report = Path(tempfile.mkdtemp(prefix="bench-offline-report-")) / "report"
    os.environ.update(PYTHONPATH=str(REPO), BENCH_REPORT=str(report))
    with tempfile.TemporaryDirectory(prefix="bench-offline-") as tmp:
        for shape in args.shapes.split(","):
            for size in sizes:
                folder = build(Path(tmp), size, shape)
                path = folder / "GetReceiveConnector.xml"
                file_bytes = path.stat().st_size
                folder_bytes = sum(p.stat().st_size for p in folder.glob("*.xml"))
                over = file_bytes > MAX_FILE_BYTES  # only the streaming reader may read it
                streamed = file_bytes <= MAX_STREAMED_FILE_BYTES and folder_bytes - file_bytes <= MAX_FOLDER_BYTES
                for reader in args.readers.split(","):
                    # psrpcore alone is refused a file over its 16 MiB; measured anyway, the bound lifted.
                    lift = over and (reader == "psrpcore" or not streamed)
                    note = "over the bound: the CLI refuses it; bound lifted to measure" if lift else ""
                    for what in args.what.split(","):
                        tail = [str(path), str(size)] if what == "read" else []
                        if what == "plan":
                            tail = ["plan", "--baseline", str(BASELINE), "--facts", str(folder), "--format", "json"]
                        command = [sys.executable, "-c", CHILD, reader, "lift" if lift else "keep", what, *tail]
                        runs = [measure(command, report) for _ in range(args.runs)]
                        codes = {run[2] for run in runs}
                        if what == "read" and codes != {0}:
                            raise SystemExit(f"{shape} {size} {reader} read: exit {codes}")
                        wall = statistics.median(run[0] for run in runs)
                        read_s = statistics.median(run[3] or 0.0 for run in runs)
                        read = f"{read_s:7.2f}" if what == "read" else "      -"
                        rss = max(run[1] for run in runs) / 1024
                        shown = f"exit {sorted(codes)} {note}" if what == "plan" else note
                        print(
                            f"{shape:8} {size:>10} {file_bytes / 1e6:>8.1f} {reader:9} {what:5} "
                            f"{wall:>7.2f} {read} {rss:>8.1f}  {shown}",
                            flush=True,
                        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
