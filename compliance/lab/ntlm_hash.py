"""The NT hash of a password (MD4 of its UTF-16LE form, [MS-NLMP] 3.3.1 NTOWFv1), in pure Python.

The lab's NTLM user file holds this hash, never the password. pyspnego computes it only in a
private module (``spnego._ntlm_raw.crypto.ntowfv1``), and ``hashlib.new("md4")`` is missing where
OpenSSL 3 keeps MD4 in its legacy provider, as on the project machine. So MD4 (RFC 1320) is here;
it hashes one short password per lab, so speed does not matter.
"""

from __future__ import annotations

import struct

_MASK = 0xFFFFFFFF
_ROUND2 = 0x5A827999
_ROUND3 = 0x6ED9EBA1


def _rotate(value: int, bits: int) -> int:
    value &= _MASK
    return ((value << bits) | (value >> (32 - bits))) & _MASK


def md4(data: bytes) -> bytes:
    """The 16-byte MD4 digest of ``data`` (RFC 1320)."""
    padded = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", (len(data) * 8) & (2**64 - 1))
    a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
    for offset in range(0, len(padded), 64):
        x = struct.unpack("<16I", padded[offset : offset + 64])
        aa, bb, cc, dd = a, b, c, d
        for i in range(16):  # round 1: F(b, c, d) = (b & c) | (~b & d)
            k, s = i, (3, 7, 11, 19)[i % 4]
            a = _rotate(a + ((b & c) | (~b & d)) + x[k], s)
            a, b, c, d = d, a, b, c
        for i in range(16):  # round 2: G(b, c, d) = majority
            k, s = (i % 4) * 4 + i // 4, (3, 5, 9, 13)[i % 4]
            a = _rotate(a + ((b & c) | (b & d) | (c & d)) + x[k] + _ROUND2, s)
            a, b, c, d = d, a, b, c
        for i in range(16):  # round 3: H(b, c, d) = b ^ c ^ d
            k, s = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)[i], (3, 9, 11, 15)[i % 4]
            a = _rotate(a + (b ^ c ^ d) + x[k] + _ROUND3, s)
            a, b, c, d = d, a, b, c
        a, b, c, d = (a + aa) & _MASK, (b + bb) & _MASK, (c + cc) & _MASK, (d + dd) & _MASK
    return struct.pack("<4I", a, b, c, d)


def nt_hash(password: str) -> bytes:
    """NTOWFv1: ``MD4(UNICODE(password))``, the hash an NTLM acceptor checks responses against."""
    return md4(password.encode("utf-16-le"))
