"""``uccx-compliance collector-script``: print the read-only PowerShell collector.

The script runs in the Exchange Management Shell (PowerShell 2.0 on Exchange 2010) and writes the
offline fact folder that ``--facts`` reads. It is assembled from the resource kinds' fragments
(``compliance.facts.collector``), the same text the tests check.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from compliance import output
from compliance.files import write_atomic

HELP = "print the read-only PowerShell script that collects an offline fact folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        metavar="FILE",
        type=Path,
        help="write the script to FILE (e.g. collect-uccx-facts.ps1) instead of standard output",
    )


def script_text() -> str:
    from compliance.facts.collector import script

    return script()


def run(args: argparse.Namespace) -> int:
    text = script_text()
    out: Path | None = args.out
    if out is None:
        output.write_out(text)
        return 0
    # CRLF and a BOM: Windows PowerShell 2.0 reads a BOM-less file as the ANSI code page.
    data = b"\xef\xbb\xbf" + text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    write_atomic(out, data, what="collector script", make_folders=False)  # a typo'd folder is an error
    output.note(f"wrote {out}")
    return 0
