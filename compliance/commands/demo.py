"""``uccx-compliance demo``: audit the bundled simulated Exchange, live, over real WinRM/PSRP."""

from __future__ import annotations

import argparse

from compliance import output

HELP = "start the simulated Exchange lab on 127.0.0.1 and run a live audit of it through pypsrp"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from compliance.commands.plan import FORMATS

    parser.add_argument(
        "--scenario",
        default="exchange2010-sp3-defaults",
        help="lab scenario (an example facts folder); default exchange2010-sp3-defaults",
    )
    parser.add_argument(
        "--baseline",
        default="uccx-exchange2010-sp1",
        help="shipped baseline name or a path; default uccx-exchange2010-sp1",
    )
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("-v", "--verbose", action="store_true", help="list compliant checks with evidence")


def run(args: argparse.Namespace) -> int:
    import os
    import secrets
    import tempfile
    from pathlib import Path

    from compliance.lab.server import Lab
    from compliance.output import emit
    from compliance.pipeline import plan_inventory

    # A fresh random password per run: the demo shows the real authentication path without a
    # well-known credential listening, even on loopback.
    password = secrets.token_urlsafe(16)
    with (
        tempfile.TemporaryDirectory(prefix="uccx-demo-") as tmp,
        Lab(scenario=args.scenario, port=0, password=password, events_relative_to_now=True) as lab,
    ):
        inventory = lab.write_inventory(Path(tmp) / "inventory.yaml", baseline=args.baseline)
        output.note(f"lab: simulated Exchange ({args.scenario}) at {lab.exchange_endpoint}")
        for server, url in lab.host_endpoints.items():
            output.note(f"lab: host endpoint of {server} at {url}")
        output.note("auditing live over WinRM/PSRP (pypsrp, NTLM with message encryption)...")
        output.note("")
        os.environ["UCCX_LAB_PASSWORD"] = password
        try:
            plans = plan_inventory(inventory, {})
        finally:
            os.environ.pop("UCCX_LAB_PASSWORD", None)
    code = emit(plans, args.format, None, verbose=args.verbose)
    output.note("")
    output.note(
        "next: keep a lab running with `uccx-compliance lab serve --write-inventory lab.yaml`; then, in "
        "another shell, `export UCCX_LAB_PASSWORD=uccx-lab`, `uccx-compliance plan --inventory lab.yaml "
        "--format json --out plan.json` and `uccx-compliance apply plan.json --inventory lab.yaml --dry-run` "
        "(docs/apply.md)"
    )
    return code
