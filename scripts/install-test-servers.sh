#!/usr/bin/env bash
# Install the real servers the probe tests run (tests/probe/conftest.py): Dovecot's IMAP server.
# (The SMTP server, aiosmtpd, is a Python test dependency: pip install -e '.[dev]'.)
#
# Idempotent: does nothing when Dovecot is already there. Installs Debian's dovecot-imapd when we
# are root with apt-get; the tests start their own Dovecot with a private config on a free
# loopback port, so a system Dovecot left running by the package's post-install is stopped (it
# would hold 143/993 and is not needed). When it cannot install, it says how and exits 0: the
# tests then skip with the same hint, or fail under CI=true.
set -euo pipefail

DOVECOT=/usr/sbin/dovecot

say() { printf 'install-test-servers: %s\n' "$*"; }

install_dovecot() {
    if [ -x "$DOVECOT" ]; then
        say "dovecot already installed ($("$DOVECOT" --version 2>/dev/null || echo 'version unknown'))"
        return 0
    fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        say "dovecot is not installed and this is not root with apt-get."
        say "install it with: sudo apt-get install dovecot-imapd   (or run this script as root)"
        return 0
    fi
    local install=(apt-get install -y --no-install-recommends dovecot-imapd)
    say "installing dovecot-imapd"
    # Try with the package lists we have; refresh them only when that fails (saves a slow update).
    if ! DEBIAN_FRONTEND=noninteractive "${install[@]}"; then
        say "install failed; running apt-get update and trying again"
        if ! { apt-get update && DEBIAN_FRONTEND=noninteractive "${install[@]}"; }; then
            say "could not install dovecot-imapd; install it by hand: apt-get install dovecot-imapd"
            return 0
        fi
    fi
}

stop_system_dovecot() {
    [ -x "$DOVECOT" ] || return 0
    # Only the system instance (its own pid file under /run/dovecot), never a test instance.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet dovecot 2>/dev/null; then
        say "stopping the system dovecot service (the tests run their own)"
        systemctl stop dovecot || true
        systemctl disable dovecot >/dev/null 2>&1 || true
    fi
    local pidfile=/run/dovecot/master.pid
    if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        say "stopping the system dovecot (pid $(cat "$pidfile"))"
        "$DOVECOT" stop 2>/dev/null || kill "$(cat "$pidfile")" || true
    fi
}

install_dovecot
stop_system_dovecot
