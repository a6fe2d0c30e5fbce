#!/usr/bin/env bash
# The README's "run all tests" command: installs what the tests need, then runs them all.
# Idempotent; safe to run on a fresh machine (Dovecot and MIT Kerberos come from Debian when we are
# root with apt).
set -euo pipefail
cd "$(dirname "$0")/.."
# The servers first: the kerberos extra (python-gssapi, krb5) is built against MIT Kerberos' headers.
bash scripts/install-test-servers.sh
python3 -m pip install --quiet --disable-pip-version-check -e '.[dev,kerberos]'
exec python3 -m pytest "$@"
