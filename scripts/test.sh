#!/usr/bin/env bash
# The README's "run all tests" command: installs what the tests need, then runs them all.
# Idempotent; safe to run on a fresh machine (Dovecot comes from Debian when we are root with apt).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e '.[dev]'
bash scripts/install-test-servers.sh
exec python3 -m pytest "$@"
