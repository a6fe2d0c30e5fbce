"""NTLM authentication and WinRM message encryption, server side, for the lab.

A real WinRM/IIS endpoint authenticates one TCP connection with an NTLM (or Kerberos) handshake
carried in ``Authorization: Negotiate <token>`` headers, then expects every SOAP body on that
connection sealed with the session key as a ``multipart/encrypted`` MIME body
([MS-WSMV] 2.2.9.1). pypsrp's ``encryption.py`` is the client half; this module is the server half,
built on pyspnego's NTLM acceptor.

pyspnego's acceptor finds user credentials only through the ``NTLM_USER_FILE`` environment
variable, read while the context is created and while the AUTHENTICATE message is checked. That is
process-wide state, so the lab writes its own user file (NT hashes, never the password) and points
the variable at it only while one of its contexts steps, under a lock. Two labs with different
passwords can then run in one process (the test suite does).
"""

from __future__ import annotations

import base64
import os
import re
import struct
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import spnego

# pyspnego has no public helper that hashes a password for its user file; the NT one-way function
# lives in its raw NTLM module. Writing hashes keeps the plain password out of the file.
from spnego._ntlm_raw.crypto import ntowfv1
from spnego.exceptions import SpnegoError

SPNEGO_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
_BOUNDARY = "Encrypted Boundary"
_NTLM_SIGNATURE = b"NTLMSSP\x00"
_ENV_LOCK = threading.Lock()


class AuthenticationFailed(Exception):
    """The client's token was refused (wrong password, unknown user, bad message)."""


class EncryptionError(Exception):
    """A request body could not be unsealed with the connection's session key."""


class UserFile:
    """The lab's NTLM user file: the lab user under its UPN and its ``LAB\\`` logon name."""

    def __init__(self, logon_names: list[str], password: str) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="uccx-lab-ntlm-")
        self.path = Path(self._dir.name) / "users"
        nt_hash = base64.b16encode(ntowfv1(password)).decode()
        blank_lm = "0" * 32  # LM responses are not offered by pyspnego clients at the default level
        # smbpasswd format: USERNAME:UID:LM_HASH:NT_HASH:FLAGS:LCT; pyspnego splits DOMAIN\user itself.
        lines = [f"{name}:1000:{blank_lm}:{nt_hash}:[U]:LCT-00000000" for name in logon_names]
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")

    def close(self) -> None:
        self._dir.cleanup()

    @contextmanager
    def active(self) -> Iterator[None]:
        """Point pyspnego at this file for the duration of one step (see the module docstring)."""
        with _ENV_LOCK:
            previous = os.environ.get("NTLM_USER_FILE")
            os.environ["NTLM_USER_FILE"] = str(self.path)
            try:
                yield
            finally:
                if previous is None:
                    os.environ.pop("NTLM_USER_FILE", None)
                else:
                    os.environ["NTLM_USER_FILE"] = previous


class NtlmSession:
    """The NTLM state of one TCP connection: handshake first, then sealing and unsealing."""

    def __init__(self, users: UserFile) -> None:
        self._users = users
        self._context: Any = None

    @property
    def complete(self) -> bool:
        return bool(self._context is not None and self._context.complete)

    def step(self, token: bytes) -> bytes | None:
        """Accept one client token; return the server token to send back, if any."""
        if self._context is None or _starts_handshake(token):
            # A first token always starts a fresh handshake on the connection, as on Windows.
            protocol = "ntlm" if token.startswith(_NTLM_SIGNATURE) else "negotiate"
            with self._users.active():
                self._context = spnego.server(protocol=protocol)
        try:
            with self._users.active():
                out_token: bytes | None = self._context.step(token)
        except SpnegoError as exc:
            self._context = None
            raise AuthenticationFailed(str(exc)) from None
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

    def wrap(self, message: bytes) -> tuple[str, bytes]:
        """Seal a SOAP response; returns the Content-Type header and the body."""
        result = self._context.wrap_winrm(message)
        sealed = struct.pack("<i", len(result.header)) + result.header + result.data
        preamble = "\r\n".join(
            [
                f"--{_BOUNDARY}",
                f"\tContent-Type: {SPNEGO_PROTOCOL}",
                "\tOriginalContent: type=application/soap+xml;charset=UTF-8;"
                f"Length={len(message) + result.padding_length}",
                f"--{_BOUNDARY}",
                "\tContent-Type: application/octet-stream",
                "",
            ]
        ).encode()
        body = preamble + sealed + f"--{_BOUNDARY}--\r\n".encode()
        content_type = f'multipart/encrypted;protocol="{SPNEGO_PROTOCOL}";boundary="{_BOUNDARY}"'
        return content_type, body


def _starts_handshake(token: bytes) -> bool:
    # An NTLM NEGOTIATE message (type 1), or an SPNEGO NegTokenInit (ASN.1 application tag 0x60).
    return token.startswith(_NTLM_SIGNATURE + b"\x01\x00\x00\x00") or token[:1] == b"\x60"


def parse_authorization(header: str) -> tuple[str, bytes] | None:
    """``Negotiate <base64>`` / ``NTLM <base64>`` -> (scheme, token); None for anything else."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() not in ("negotiate", "ntlm") or not value.strip():
        return None
    try:
        return scheme, base64.b64decode(value.strip(), validate=True)
    except ValueError:
        return None
