"""The text of a fact file, whichever encoding Windows wrote it in.

Windows PowerShell 2.0 and 5.1 write ``Export-Clixml`` (and ``Out-File``) as UTF-16LE with a BOM
and CRLF by default; PowerShell 7 and ``-Encoding UTF8`` write UTF-8, with a BOM on 5.1 and without
one on 7; ``-Encoding BigEndianUnicode`` writes UTF-16BE. The encoding is found, in this order, by:

1. the byte order mark (XML 1.0 appendix F: a BOM is authoritative);
2. without a BOM, the byte pattern of the first character: an ASCII character (``<`` in CLIXML)
   and a NUL is UTF-16LE, a NUL and an ASCII character UTF-16BE;
3. otherwise the XML declaration's ``encoding`` (``<?xml version="1.0" encoding="utf-16"?>``),
   which in 8-bit bytes may only name UTF-8 or ASCII (a UTF-16 declaration in 8-bit bytes is a
   file that was transcoded without its declaration being changed: refused, as its text is a guess);
4. otherwise UTF-8.

Decoding is strict: a byte sequence that is not valid in the encoding found is refused with the
encoding and the offset, never replaced, since a replaced character in a name would silently make
an identity or a setting not match. Line ends are left to the XML parser, which normalises CRLF.
``decode`` takes the whole file; ``decode_pieces`` takes it piece by piece (a fact file is streamed),
with the same result and the same error, at the same offset, wherever the pieces are cut.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator

# UTF-32 first: its little-endian BOM starts with UTF-16LE's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32LE"),
    (codecs.BOM_UTF32_BE, "UTF-32BE"),
    (codecs.BOM_UTF8, "UTF-8"),
    (codecs.BOM_UTF16_LE, "UTF-16LE"),
    (codecs.BOM_UTF16_BE, "UTF-16BE"),
)
_READABLE = {"UTF-8": "utf-8", "UTF-16LE": "utf-16-le", "UTF-16BE": "utf-16-be"}
_DECLARATION = re.compile(rb"""<\?xml[^>]{0,200}?\bencoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")
_EIGHT_BIT_NAMES = {"utf-8": "UTF-8", "utf8": "UTF-8", "us-ascii": "UTF-8", "ascii": "UTF-8"}


class EncodingError(ValueError):
    """The bytes are not text in any encoding a fact file may have; the message says why."""


def detect(data: bytes) -> tuple[str, int]:
    """The encoding's name (``UTF-8``, ``UTF-16LE``, ``UTF-16BE``) and the BOM's length in bytes."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            if name not in _READABLE:
                raise EncodingError(f"{name} (byte order mark) is not an encoding Export-Clixml writes here")
            return name, len(bom)
    if len(data) >= 2 and data[0] and data[0] < 0x80 and data[1] == 0:
        return "UTF-16LE", 0
    if len(data) >= 2 and data[0] == 0 and data[1] and data[1] < 0x80:
        return "UTF-16BE", 0
    if (declared := _DECLARATION.match(data)) is not None:
        label = declared.group(1).decode("ascii").lower()
        if label not in _EIGHT_BIT_NAMES:
            raise EncodingError(
                f"the XML declaration says encoding={label!r}, but the file has no byte order mark "
                "and its bytes are 8-bit; only UTF-8 (or UTF-16 with its NUL bytes) is read"
            )
    return "UTF-8", 0


def decode(data: bytes, *, errors: str = "strict") -> str:
    """The text of ``data``, by ``detect``; raises ``EncodingError`` naming the encoding problem.

    ``errors="replace"`` is for free text whose other lines nothing reads (``collection.txt``).
    """
    name, bom = detect(data)
    try:
        return data[bom:].decode(_READABLE[name], errors)
    except UnicodeDecodeError as exc:
        where = exc.start + bom
        raise EncodingError(f"not valid {name} at byte {where} ({exc.reason})") from None


def decode_pieces(first: bytes, rest: Iterable[bytes]) -> Iterator[str]:
    """The text of ``first`` then ``rest``, strictly, exactly as ``decode`` gives the joined bytes.

    ``first`` must hold the file's first 512 bytes (or all of it): ``detect`` reads the BOM or the
    declaration there. A piece may end inside a character (a UTF-16 code unit, a surrogate pair, a
    UTF-8 sequence): the incremental decoder holds the bytes until the rest arrives.
    """
    name, bom = detect(first)
    decoder = codecs.getincrementaldecoder(_READABLE[name])("strict")
    fed = bom  # the file offset of the next piece's first byte
    for data, final in _with_last(first[bom:], rest):
        held = len(decoder.getstate()[0])  # bytes of an unfinished character from the last piece
        try:
            text = decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            # exc.start counts from the held bytes: the same file offset decode() names.
            raise EncodingError(f"not valid {name} at byte {fed - held + exc.start} ({exc.reason})") from None
        fed += len(data)
        if text:
            yield text


def _with_last(first: bytes, rest: Iterable[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Each piece, and whether it is the last (the decoder refuses a character cut off there)."""
    previous = first
    for piece in rest:
        yield previous, False
        previous = piece
    yield previous, True
