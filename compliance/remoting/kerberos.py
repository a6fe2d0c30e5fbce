"""Kerberos on the client: one ticket per target per run, in memory, and a line for each failure.

How a target gets its Kerberos credential (``auth: kerberos`` or ``negotiate``; docs/remoting.md):

- ``keytab: PATH``: the TGT is acquired from the keytab (``krb5_get_init_creds_keytab``) into a
  private ``MEMORY:`` credential cache of this process, once per target per run, and destroyed at
  the end of the run. It is never written to a file, and ``KRB5CCNAME`` is not touched, so a
  scheduled job needs no ``kinit`` and leaves no ticket behind. The keytab must be a regular file
  that only its owner can read: it is as good as the password.
- ``username`` + a password (``password_env``, keyring, prompt) with ``auth: kerberos``: the TGT is
  acquired the same way with the password, so a wrong password, an unknown user or an unreachable
  KDC is found before the first HTTP request. With ``auth: negotiate`` the password is left to
  pyspnego, which tries Kerberos and falls back to NTLM, as Negotiate does.
- neither: the existing ticket cache (``KRB5CCNAME``, or the default cache after ``kinit``).

pyspnego does the per-connection GSSAPI work: the credential handed to pypsrp is a
``spnego.KerberosCCache`` naming the memory cache (pypsrp passes its ``username`` straight to
``spnego.client``, which accepts credential objects).

``describe_kerberos`` turns the MIT Kerberos error codes met on the way (``krb5.Krb5Error.err_code``
from the acquisition; a GSSAPI minor status, which for the krb5 mechanism is the same com_err code
as an unsigned 32-bit number) into one line that says what to check.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compliance.errors import InputError
from compliance.remoting.causes import causes

if TYPE_CHECKING:
    from compliance.inventory import Target

INSTALL_HINT = "Kerberos needs python-gssapi and krb5: pip install 'uccx-compliance[kerberos]' (needs libkrb5-dev)"

# MIT Kerberos com_err codes (krb5/krb5_err.h, k5-int.h), as krb5.Krb5Error.err_code gives them.
KDC_ERR_C_PRINCIPAL_UNKNOWN = -1765328378
KDC_ERR_S_PRINCIPAL_UNKNOWN = -1765328377
KDC_ERR_PREAUTH_FAILED = -1765328360
KRB_AP_ERR_BAD_INTEGRITY = -1765328353  # a wrong password, as MIT's client reports it
KRB_AP_ERR_TKT_EXPIRED = -1765328352
KRB_AP_ERR_SKEW = -1765328347
KRB5_KDCREP_SKEW = -1765328236
KRB5_REALM_UNKNOWN = -1765328230
KRB5_KDC_UNREACH = -1765328228
KRB5_KT_NOTFOUND = -1765328203  # the keytab holds no key for the principal
KRB5_FCC_NOFILE = -1765328189  # no credential cache
KG_EMPTY_CCACHE = 2529639053 - 2**32  # GSSAPI's "No Kerberos credentials available"
KRB5_CC_NOTFOUND = -1765328243


@dataclass(frozen=True)
class Problem:
    """What went wrong, for the line: ``code`` is one of the names in ``_LINES``."""

    code: str
    detail: str = ""


_CODES = {
    KDC_ERR_C_PRINCIPAL_UNKNOWN: "unknown_user",
    KDC_ERR_S_PRINCIPAL_UNKNOWN: "unknown_spn",
    KDC_ERR_PREAUTH_FAILED: "bad_key",
    KRB_AP_ERR_BAD_INTEGRITY: "bad_key",
    KRB_AP_ERR_TKT_EXPIRED: "expired",
    KRB_AP_ERR_SKEW: "skew",
    KRB5_KDCREP_SKEW: "skew",
    KRB5_REALM_UNKNOWN: "unknown_realm",
    KRB5_KDC_UNREACH: "kdc_unreachable",
    KRB5_KT_NOTFOUND: "keytab_no_key",
    KRB5_FCC_NOFILE: "no_ticket",
    KG_EMPTY_CCACHE: "no_ticket",
    KRB5_CC_NOTFOUND: "no_ticket",
}
# The same failures by MIT's message text, for errors that reach us without a code (pyspnego's
# Negotiate layer keeps only the text of a Kerberos failure).
_MESSAGES = (
    ("Clock skew too great", "skew"),
    ("Ticket expired", "expired"),
    ("credential has expired", "expired"),
    ("No Kerberos credentials available", "no_ticket"),
    ("No credentials cache found", "no_ticket"),
    ("Preauthentication failed", "bad_key"),
    ("Decrypt integrity check failed", "bad_key"),
    ("Cannot contact any KDC", "kdc_unreachable"),
    ("Cannot find KDC for realm", "unknown_realm"),
    ("Keytab contains no suitable keys", "keytab_no_key"),
)


class KerberosLogin:
    """The Kerberos credential of one target for one run; ``close`` destroys the memory cache."""

    def __init__(self, target: Target, password: str | None) -> None:
        self.target = target
        self._password = password
        self._ccache: Any = None
        self._context: Any = None
        self._principal: str | None = None
        self._failure: BaseException | None = None

    @staticmethod
    def wanted(target: Target, password: str | None) -> bool:
        """True when this run acquires the ticket itself (a keytab, or Kerberos with a password)."""
        if target.auth not in ("kerberos", "negotiate"):
            return False
        return target.keytab is not None or (target.auth == "kerberos" and password is not None)

    @property
    def principal(self) -> str | None:
        return self._principal

    def credential(self) -> Any:
        """A ``spnego.KerberosCCache`` for pypsrp's ``username``; acquires the TGT on first use.

        A failed acquisition is remembered: the KDC is asked once per target per run, not once
        per endpoint.
        """
        if self._failure is not None:
            raise self._failure
        if self._ccache is None:
            try:
                self._acquire()
            except InputError:
                raise
            except Exception as exc:
                self._failure = exc
                raise
        import spnego

        name = self._ccache_name()
        return spnego.KerberosCCache(ccache=name, principal=self._principal)

    def close(self) -> None:
        ccache, self._ccache = self._ccache, None
        if ccache is not None:
            import krb5

            with contextlib.suppress(krb5.Krb5Error):  # already gone: nothing of it is left to remove
                krb5.cc_destroy(self._context, ccache)

    def _acquire(self) -> None:
        try:
            import krb5
        except ImportError:
            raise InputError(f"target {self.target.name}: {INSTALL_HINT}") from None
        ctx = krb5.init_context()
        options = krb5.get_init_creds_opt_alloc(ctx)
        krb5.get_init_creds_opt_set_canonicalize(options, True)
        keytab_path = self.target.keytab
        if keytab_path is not None:
            check_keytab_file(self.target.located("keytab"), keytab_path)
            keytab = krb5.kt_resolve(ctx, f"FILE:{keytab_path}".encode())
            principal_name = self.target.username or _first_principal(ctx, keytab, self.target.name, keytab_path)
            principal = krb5.parse_name_flags(ctx, principal_name.encode())
            creds = krb5.get_init_creds_keytab(ctx, principal, options, keytab=keytab)
        else:
            assert self.target.username is not None and self._password is not None
            principal_name = self.target.username
            principal = krb5.parse_name_flags(ctx, principal_name.encode())
            creds = krb5.get_init_creds_password(ctx, principal, options, password=self._password.encode())
        ccache = krb5.cc_new_unique(ctx, b"MEMORY")
        krb5.cc_initialize(ctx, ccache, creds.client)
        krb5.cc_store_cred(ctx, ccache, creds)
        self._context, self._ccache, self._principal = ctx, ccache, principal_name

    def _ccache_name(self) -> str:
        import krb5

        kind = krb5.cc_get_type(self._context, self._ccache).decode()
        return f"{kind}:{krb5.cc_get_name(self._context, self._ccache).decode()}"


def check_keytab_file(where: str, path: Path) -> None:
    """A keytab is a password on disk: a regular file, readable by its owner only. ``where`` is
    the field's location in the inventory (``Target.located``), which starts each error line."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{where}: {path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{where}: {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{where}: {path}: not a regular file")
    if info.st_mode & 0o077:
        raise InputError(
            f"{where}: {path} can be read by other users (mode {stat.S_IMODE(info.st_mode):04o}); "
            f"it is as good as the password: chmod 600 {path}"
        )
    if not os.access(path, os.R_OK):
        raise InputError(f"{where}: {path}: not readable by this user")


def _first_principal(ctx: Any, keytab: Any, target: str, path: Path) -> str:
    entries = list(keytab)
    if not entries:
        raise InputError(f"target {target}: keytab {path} holds no keys")
    import krb5

    return str(krb5.unparse_name_flags(ctx, entries[0].principal).decode())


def classify(exc: BaseException) -> Problem | None:
    """The Kerberos failure behind ``exc`` (walking its causes), or None if it is not one."""
    for cause in causes(exc):
        code = getattr(cause, "err_code", None)
        if code is None:
            minor = getattr(cause, "min_code", None)
            code = minor - 2**32 if isinstance(minor, int) and minor >= 2**31 else minor
        name = _CODES.get(code) if isinstance(code, int) else None
        if name is not None:
            return Problem(name, str(cause))
    text = " ".join(str(c) for c in causes(exc))
    if "not found in Kerberos database" in text:
        # MIT: "Client 'u@R' not found in Kerberos database", "Server HTTP/h@R not found in ...".
        return Problem("unknown_spn" if re.search(r"Server \S+ not found", text) else "unknown_user", text)
    for fragment, name in _MESSAGES:
        if fragment in text:
            return Problem(name, text)
    return None


def describe_kerberos(exc: BaseException, url: str, *, username: str | None, auth: str) -> str | None:
    """One line for a Kerberos failure, after ``<url>: ``; None if ``exc`` is not one."""
    problem = classify(exc)
    if problem is None:
        return None
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or url
    user = username or "the cached principal"
    ccache = os.environ.get("KRB5CCNAME") or "the default cache"
    lines = {
        "unknown_user": (
            f"the KDC does not know the user {user}; check username: (UPN form user@REALM, the realm in "
            "upper case) or the keytab's principal (klist -kt FILE)"
        ),
        "unknown_spn": (
            f"the KDC has no service principal HTTP/{host}; put the server's FQDN in the URL (not an IP "
            f"address or an alias without an SPN) and check it on a domain controller: setspn -Q HTTP/{host}"
        ),
        "bad_key": (
            f"the KDC refused the password or keytab key of {user}: a wrong password, or a keytab older "
            "than the account's last password change (compare the kvno: klist -kt FILE, kvno USER)"
        ),
        "expired": (
            f"the Kerberos ticket in {ccache} has expired; renew it (kinit -kt KEYTAB {user}), or give the "
            "target keytab: so each run gets a fresh ticket"
        ),
        "skew": (
            "the clocks of this machine and the KDC differ by more than the allowed skew (5 minutes by "
            "default); sync both with NTP (on the domain controller: w32tm /query /status)"
        ),
        "unknown_realm": (
            "no KDC is configured for the realm of the user name; add it under [realms] in krb5.conf "
            "(KRB5_CONFIG), or correct the realm part of username:"
        ),
        "kdc_unreachable": (
            "no KDC of the realm answered; check the kdc lines of its [realms] entry in krb5.conf "
            "(KRB5_CONFIG) and that TCP/UDP port 88 to the domain controller is open"
        ),
        "keytab_no_key": (
            f"the keytab holds no usable key for {user}; check the principal and encryption types in it "
            "(klist -ket FILE) against the account (AES keys need the account's AES support enabled)"
        ),
        "no_ticket": (
            f"no Kerberos ticket (nothing in {ccache}); run kinit, or set keytab: (unattended runs) or "
            "username: and password_env: in the inventory"
        ),
    }
    return f"{url}: Kerberos ({auth}): {lines[problem.code]}"
