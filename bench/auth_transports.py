"""Benchmark: one live audit of the lab per way of authenticating, side by side in one run.

NTLM over HTTP (the lab's default), Kerberos over HTTP (sealed with the Kerberos session key) and
Kerberos over HTTPS (the test CA), each with a keytab and a real MIT KDC (compliance/lab/kdc.py),
and pypsrp's Negotiate (Kerberos inside SPNEGO, with the password). For each: the median wall time,
the HTTP requests the lab answered, the handshakes it completed, and the KDC exchanges (AS for the
ticket-granting ticket, TGS for the service ticket) in the KDC's log. Needs Debian's krb5-kdc,
krb5-admin-server and the kerberos extra (scripts/install-test-servers.sh,
``pip install -e '.[kerberos]'``).

    python3 bench/auth_transports.py [--latency-ms 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from compliance.inventory import load_inventory  # noqa: E402
from compliance.lab.kdc import Kdc  # noqa: E402
from compliance.lab.server import Lab, LabTls  # noqa: E402
from compliance.lab.tls import make_test_certificates  # noqa: E402
from compliance.pipeline import plan_inventory  # noqa: E402

PASSWORD = "uccx-lab"  # the KDC's and the lab's default for the audit user


def ways(kdc: Kdc, folder: Path) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """name -> (Lab options, inventory fields)."""
    certs = make_test_certificates(folder / "tls")
    keytab = folder / "uccx-audit.keytab"
    keytab.write_bytes(kdc.user_keytab.read_bytes())
    keytab.chmod(0o600)
    by_keytab = {"auth": "kerberos", "username": kdc.user_principal, "password_env": None, "keytab": str(keytab)}
    https = LabTls(certs.good.cert, certs.good.key, certs.ca_file)
    return {
        "ntlm, http": ({}, {}),
        "kerberos keytab, http": ({}, by_keytab),
        "kerberos keytab, https": ({"tls": https}, by_keytab),
        "negotiate password, http": ({}, {"auth": "negotiate", "username": kdc.user_principal}),
    }


def kdc_exchanges(kdc: Kdc) -> tuple[int, int]:
    """Tickets issued (an AS exchange with pre-authentication logs NEEDED_PREAUTH first, then ISSUE)."""
    lines = [line for line in kdc.log_text().splitlines() if ": ISSUE: " in line]
    return sum("AS_REQ" in line for line in lines), sum("TGS_REQ" in line for line in lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ["UCCX_LAB_PASSWORD"] = PASSWORD
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"lab latency {args.latency_ms} ms per HTTP request; median of {args.runs} audits (plan, one target)"
    )
    print(f"{'way':26} {'wall s':>7} {'requests':>9} {'handshakes':>11} {'AS':>4} {'TGS':>4}")
    with tempfile.TemporaryDirectory() as tmp, Kdc() as kdc:
        os.environ["KRB5_CONFIG"] = str(kdc.krb5_conf)
        os.environ["KRB5CCNAME"] = "MEMORY:bench-empty"  # never the machine's own ticket cache
        for name, (lab_options, fields) in ways(kdc, Path(tmp)).items():
            with Lab(scenario="exchange2010-sp3-defaults", kerberos_keytab=kdc.service_keytab, **lab_options) as lab:
                inventory = lab.write_inventory(Path(tmp) / "inventory.yaml", **fields)
                load_inventory(inventory)  # refuse a bad inventory before timing anything
                lab.faults.latency_ms = args.latency_ms
                walls = []
                before = kdc_exchanges(kdc)
                for _ in range(args.runs):
                    lab.requests.clear()
                    lab.logons.clear()
                    start = time.perf_counter()
                    [plan] = plan_inventory(inventory, {})
                    walls.append(time.perf_counter() - start)
                    assert not plan.unreadable, plan.unreadable
                after = kdc_exchanges(kdc)
                handshakes = ", ".join(f"{n} {m}" for m, n in sorted(lab.logons.items()))
                as_req, tgs_req = ((a - b) / args.runs for a, b in zip(after, before, strict=True))
                requests = sum(lab.requests.values())
                wall = statistics.median(walls)
                print(f"{name:26} {wall:7.2f} {requests:9d} {handshakes:>11} {as_req:4.0f} {tgs_req:4.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
