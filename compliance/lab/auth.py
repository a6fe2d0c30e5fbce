"""NTLM authentication and WinRM message encryption, server side, for the lab.

A real WinRM/IIS endpoint authenticates one TCP connection with an NTLM (or Kerberos) handshake
carried in ``Authorization: Negotiate <token>`` headers, then expects every SOAP body on that
connection sealed with the session key as a ``multipart/encrypted`` MIME body
([MS-WSMV] 2.2.9.1). pypsrp's ``encryption.py`` is the client half; this module is the server half,
built on pyspnego's public ``spnego.server()`` acceptor.

Why the ``NTLM_USER_FILE`` environment variable is still set (pyspnego 0.12.4, read in its
installed source under ``site-packages/spnego/``): pyspnego has no public way to hand an NTLM
acceptor a user's credential. ``spnego.server()`` takes ``credentials=``, but its docstring
(``auth.py`` line 187) says "It is only possible to specify a credential when running on Windows
and using Kerberos either through Negotiate or Kerberos directly". Its Python NTLM acceptor,
``NTLMProxy``, uses the given credentials only when ``usage == "initiate"`` (``_ntlm.py`` line 293);
as an acceptor its ``__init__`` refuses to start unless ``_get_credential_file()`` finds a file
(``_ntlm.py`` lines 308-312), and ``_step_accept_authenticate`` looks the user up with
``self._credential = _NTLMCredential(CredentialCache(username=username))`` (``_ntlm.py`` line 564),
which reads the file named by ``os.environ.get("NTLM_USER_FILE", None)`` (``_ntlm.py`` lines 82 and
233). ``spnego.NTLMHash``/``spnego.Password`` objects passed to ``spnego.server()`` are ignored by
that path. The lab asks for pyspnego's own Python acceptors (``NegotiateOptions.use_ntlm`` and
``use_negotiate``), whose reads are the ones listed below; inside Negotiate, pyspnego picks the NTLM
backend itself, which is ``NTLMProxy`` unless python-gssapi is installed (it is not a dependency;
gss-ntlmssp would read the same variable).

So the lab writes its own user file (NT hashes, never the password) and sets the variable only
around the pyspnego calls that read it, under a lock, restoring the previous value after each:
constructing a raw NTLM acceptor (``spnego.server(protocol="ntlm")``), the first step of a
Negotiate acceptor (``NegotiateProxy`` builds its NTLM acceptor then, in
``_rebuild_context_list``, ``_negotiate.py`` lines 476-482), and the step that carries the
AUTHENTICATE message. The raw NTLM step that answers NEGOTIATE with a CHALLENGE
(``_step_accept_negotiate``) and all sealing and unsealing run without it. While one of those
calls runs the variable is visible to the whole process; between them, and before and after a
handshake, it holds what the process had, except that a variable the process did not have is left
set to the empty string rather than deleted. A deletion races with any thread that iterates
``os.environ`` (requests does, for the proxy variables, on every request a client in the same
process sends), and that thread gets a ``KeyError``; an empty ``NTLM_USER_FILE`` is unset to
pyspnego. Two labs with different passwords can run in
one process (the test suite does); their handshakes are serialized only for those calls.

Kerberos (raw, or inside Negotiate) is accepted by the same ``NegotiateProxy``, whose Kerberos
mechanism is python-gssapi over MIT Kerberos (``pyspnego[kerberos]``). The acceptor reads its
service keys from the default keytab; pyspnego has no way to name a keytab for an acceptor (its
``KerberosKeytab`` credential is skipped for ``usage="accept"``, ``_gss.py`` ``_get_gssapi_credential``),
so the lab sets ``KRB5_KTNAME`` the same way, under the same lock, around each Negotiate step. A
lab started without a keytab refuses Kerberos tokens as a server with no keys would.
"""

from __future__ import annotations

import base64
import os
import re
import struct
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import spnego
from spnego.channel_bindings import GssChannelBindings
from spnego.exceptions import SpnegoError

from compliance.lab.ntlm_hash import nt_hash

SPNEGO_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
KERBEROS_PROTOCOL = "application/HTTP-Kerberos-session-encrypted"
_BOUNDARY = "Encrypted Boundary"
_NTLM_SIGNATURE = b"NTLMSSP\x00"
# An NTLM AUTHENTICATE message (type 3); inside SPNEGO it is the raw responseToken octet string.
_NTLM_AUTHENTICATE = _NTLM_SIGNATURE + b"\x03\x00\x00\x00"
_ENV_LOCK = threading.Lock()


class AuthenticationFailed(Exception):
    """The client's token was refused (wrong password, unknown user, bad message)."""


class EncryptionError(Exception):
    """A request body could not be unsealed with the connection's session key."""


class UserFile:
    """The lab's NTLM user file: the lab user under its UPN and its ``LAB\\`` logon name.

    ``keytab`` is the lab service's Kerberos keytab, if the lab has one (``HTTP/<host>`` keys).
    """

    def __init__(self, logon_names: list[str], password: str, keytab: Path | None = None) -> None:
        self.keytab = keytab
        self._dir = tempfile.TemporaryDirectory(prefix="uccx-lab-ntlm-")
        self.path = Path(self._dir.name) / "users"
        hashed = base64.b16encode(nt_hash(password)).decode()
        blank_lm = "0" * 32  # LM responses are not offered by pyspnego clients at the default level
        # smbpasswd format: USERNAME:UID:LM_HASH:NT_HASH:FLAGS:LCT; pyspnego splits DOMAIN\user itself.
        lines = [f"{name}:1000:{blank_lm}:{hashed}:[U]:LCT-00000000" for name in logon_names]
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")

    def close(self) -> None:
        self._dir.cleanup()

    @contextmanager
    def active(self) -> Iterator[None]:
        """Point pyspnego at this file and keytab for one call that reads them (module docstring)."""
        values = {"NTLM_USER_FILE": str(self.path)}
        if self.keytab is not None:
            values["KRB5_KTNAME"] = f"FILE:{self.keytab}"
        with _ENV_LOCK:
            previous = {name: os.environ.get(name) for name in values}
            os.environ.update(values)
            try:
                yield
            finally:
                for name, value in previous.items():
                    # Never deleted: another thread may be iterating os.environ (requests reads the
                    # proxy variables on every request), and a key removed between its snapshot of
                    # the keys and its lookup raises KeyError in that thread. Empty means unset to
                    # pyspnego (``_get_credential_file``) and names no keytab to MIT Kerberos.
                    os.environ[name] = "" if value is None else value


class AuthSession:
    """The NTLM or Kerberos state of one TCP connection: handshake first, then sealing and unsealing."""

    def __init__(self, users: UserFile, channel_bindings: GssChannelBindings | None = None) -> None:
        self._users = users
        # Required bindings (Extended Protection, HTTPS only): pyspnego's NTLM acceptor refuses an
        # AUTHENTICATE without MsvAvChannelBindings or with other ones; GSSAPI refuses a Kerberos
        # authenticator whose bindings differ (MIT accepts one that carries none).
        self._channel_bindings = channel_bindings
        self._context: Any = None
        self._builds_acceptor = False  # a fresh Negotiate context creates its NTLM acceptor on its first step

    @property
    def complete(self) -> bool:
        return bool(self._context is not None and self._context.complete)

    def step(self, token: bytes) -> bytes | None:
        """Accept one client token; return the server token to send back, if any."""
        if self._context is None or _starts_handshake(token):
            # A first token always starts a fresh handshake on the connection, as on Windows.
            if token.startswith(_NTLM_SIGNATURE):
                with self._users.active():  # NTLMProxy's acceptor __init__ checks the user file
                    self._context = spnego.server(
                        protocol="ntlm",
                        options=spnego.NegotiateOptions.use_ntlm,
                        channel_bindings=self._channel_bindings,
                    )
                self._builds_acceptor = False
            else:
                self._context = spnego.server(
                    protocol="negotiate",
                    options=spnego.NegotiateOptions.use_negotiate,
                    channel_bindings=self._channel_bindings,
                )
                self._builds_acceptor = True
        # A Kerberos AP-REQ (raw or in SPNEGO) is checked against the keytab at any Negotiate step.
        reads_users = self._builds_acceptor or _NTLM_AUTHENTICATE in token or not token.startswith(_NTLM_SIGNATURE)
        self._builds_acceptor = False
        try:
            with self._users.active() if reads_users else nullcontext():
                out_token: bytes | None = self._context.step(token)
        except SpnegoError as exc:
            self._context = None
            raise AuthenticationFailed(str(exc)) from None
        except AttributeError as exc:
            # pyspnego 0.12 over python-gssapi: an AP-REQ whose channel bindings differ leaves the
            # context unestablished, and reading its flags raises this instead of a SpnegoError.
            # IIS answers any refused token with a 401, and so does the lab.
            self._context = None
            raise AuthenticationFailed(f"{type(exc).__name__}: {exc}") from None
        return out_token

    def unwrap(self, body: bytes, content_type: str) -> bytes:
        """Unseal a ``multipart/encrypted`` request body into the SOAP envelope."""
        if not self.complete:
            raise EncryptionError("no authenticated context on this connection")
        match = re.search(r'boundary="?([^";]+)"?', content_type)
        boundary = match.group(1) if match else _BOUNDARY
        parts = [p for p in re.split(rb"--\s*" + re.escape(boundary.encode()) + rb"(?:--)?\r\n", body) if p]
        message = b""
        for header, payload in zip(parts[0::2], parts[1::2], strict=False):
            length_match = re.search(rb"Length=(\d+)", header)
            if length_match is None:
                raise EncryptionError("encrypted part without OriginalContent length")
            sealed = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
            (signature_length,) = struct.unpack("<i", sealed[:4])
            signature = sealed[4 : 4 + signature_length]
            try:
                plain: bytes = self._context.unwrap_winrm(signature, sealed[4 + signature_length :])
            except SpnegoError as exc:
                raise EncryptionError(str(exc)) from None
            if len(plain) != int(length_match.group(1)):
                raise EncryptionError("unsealed length does not match OriginalContent")
            message += plain
        return message

    @property
    def protocol(self) -> str:
        """The negotiated mechanism, for logs and tests: ``ntlm`` or ``kerberos``."""
        return str(getattr(self._context, "negotiated_protocol", "") or "")

    def wrap(self, message: bytes, protocol: str = SPNEGO_PROTOCOL) -> tuple[str, bytes]:
        """Seal a SOAP response; returns the Content-Type header and the body.

        ``protocol`` is the request's (``HTTP-SPNEGO-`` or ``HTTP-Kerberos-session-encrypted``):
        pypsrp names Kerberos only when the server offered ``WWW-Authenticate: Kerberos``.
        """
        result = self._context.wrap_winrm(message)
        sealed = struct.pack("<i", len(result.header)) + result.header + result.data
        preamble = "\r\n".join(
            [
                f"--{_BOUNDARY}",
                f"\tContent-Type: {protocol}",
                "\tOriginalContent: type=application/soap+xml;charset=UTF-8;"
                f"Length={len(message) + result.padding_length}",
                f"--{_BOUNDARY}",
                "\tContent-Type: application/octet-stream",
                "",
            ]
        ).encode()
        body = preamble + sealed + f"--{_BOUNDARY}--\r\n".encode()
        content_type = f'multipart/encrypted;protocol="{protocol}";boundary="{_BOUNDARY}"'
        return content_type, body


def _starts_handshake(token: bytes) -> bool:
    # An NTLM NEGOTIATE message (type 1), or an SPNEGO NegTokenInit (ASN.1 application tag 0x60).
    return token.startswith(_NTLM_SIGNATURE + b"\x01\x00\x00\x00") or token[:1] == b"\x60"


def parse_authorization(header: str) -> tuple[str, bytes] | None:
    """``Negotiate``/``Kerberos``/``NTLM <base64>`` -> (scheme, token); None for anything else."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() not in ("negotiate", "kerberos", "ntlm") or not value.strip():
        return None
    try:
        return scheme, base64.b64decode(value.strip(), validate=True)
    except ValueError:
        return None
