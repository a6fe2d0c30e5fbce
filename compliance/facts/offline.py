"""The offline fact source: a folder of ``Export-Clixml`` files, one per resource kind.

Which files to read comes from the kind registry (``compliance.kinds``): one ``<stem>.xml`` per
organization-wide kind, ``<stem>-<SERVER>.xml`` per server for the others. A missing file leaves
its facts "not collected"; a malformed file is named in the reason and only the checks that need
it become unreadable.

A file is read by the streaming reader (``compliance.facts.clixml_reader``, about ten times faster
and a fraction of the memory on connector-heavy organizations); whatever it declines, or fails on,
is read again by psrpcore (``psobject.deserialize``), the reference, whose value or error stands.
"""

from __future__ import annotations

import datetime
import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from compliance.errors import InputError
from compliance.facts import clixml_reader
from compliance.facts.collection import RawFacts
from compliance.facts.encoding import EncodingError, decode, decode_pieces
from compliance.facts.model import Reading
from compliance.facts.psobject import deserialize, from_psrpcore
from compliance.kinds import organization_kinds, server_kinds

COLLECTION_INFO = "collection.txt"
# Bounds on what one folder may make us parse. The largest real export we hold (CSS-Exchange's
# GetService.xml, every service of a server) is 2.5 MB; psrpcore's parse costs about 0.45 s per MB of
# small objects and holds its whole tree (hundreds of MB for 16 MB), so what it may read is bounded as
# before: 16 MiB a file, 48 MiB a folder. The streaming reader holds only the objects it has built and
# costs a tenth of psrpcore's time, so a file over 16 MiB (2,000 receive connectors are 32 MB as
# ``facts collect`` writes them, 124 MB as Export-Clixml does) is read by it alone, up to 128 MiB;
# the files over 16 MiB count against their own 128 MiB a folder (one such file at most, at full size),
# so a hostile or mistaken folder still costs seconds and a few hundred MB, and psrpcore's share of
# it no more than before.
MAX_FILE_BYTES = 16 * 1024 * 1024  # what psrpcore may read, and so what a declined file may be
MAX_FOLDER_BYTES = 48 * 1024 * 1024  # the files of up to MAX_FILE_BYTES, together
MAX_STREAMED_FILE_BYTES = 128 * 1024 * 1024  # what the streaming reader may read
MAX_FOLDER_STREAMED_BYTES = MAX_STREAMED_FILE_BYTES  # the files over MAX_FILE_BYTES, together
_PIECE = 1 << 20  # bytes read and decoded at a time: the file is never held whole unless psrpcore reads it
_HEAD = 512  # psrpcore looks for <Objs in the first 512 characters, and detect() for a BOM or declaration
COLLECTED_AT = "CollectedAtUtc"
_COLLECTED_AT_KEYS = ("collectedatutc", "collectedat")  # CollectedAt (with its offset): early collectors
_XML_DECLARATION = re.compile(r"\s*<\?xml\s[^>]{0,200}\?>\s*")
_DECLARATION_WIDTH = 256  # more than the longest declaration _XML_DECLARATION matches (5 + 1 + 200 + 2)
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", re.ASCII)


def _mib(limit: int) -> int:
    return limit // (1024 * 1024)


def read_clixml(path: Path, *, limit: int = MAX_FILE_BYTES, streamed_limit: int = MAX_STREAMED_FILE_BYTES) -> list[Any]:
    """Every top-level object of an ``Export-Clixml`` file, in neutral form.

    The file is read in pieces, decoded as it goes and fed to the streaming reader; only when that
    declines or fails is the file read again, whole, by psrpcore, which then needs it to be at most
    ``limit`` bytes. Raises ``ValueError`` with a short reason when the file is over ``streamed_limit``
    bytes (counted in bytes, whatever the encoding), cannot be decoded (``compliance.facts.encoding``;
    wherever the error is, it is named before anything the reader found), is not CLIXML, is declined
    by the streaming reader and over ``limit``, or is malformed CLIXML (psrpcore's error).
    """
    with path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size > streamed_limit:
            raise ValueError(f"larger than the {_mib(streamed_limit)} MiB a fact file may be; not read")
        # UTF-16LE with a BOM from Windows PowerShell, UTF-8 from PowerShell 7
        pieces = decode_pieces(handle.read(max(_PIECE, _HEAD)), _rest(handle, streamed_limit))
        text = _head(pieces)
        if "<Objs" not in text[:_HEAD]:
            for _ in pieces:  # a decoding error anywhere is named first, as when the file was decoded whole
                pass
            raise ValueError("not an Export-Clixml file (no <Objs> root)")
        stream = clixml_reader.Stream()
        failure: Exception | None = None
        for piece in itertools.chain([text], pieces):  # decoding errors and the size bound propagate
            if failure is None:
                try:
                    stream.feed(piece)
                except Exception as exc:  # declined, or failed: decoding goes on to the end (above)
                    failure = exc
        if failure is None:
            try:
                return stream.close()
            except Exception as exc:
                failure = exc
        size = handle.tell()
    if size > limit:
        reason = str(failure) if isinstance(failure, clixml_reader.Declined) else type(failure).__name__
        raise ValueError(
            f"larger than the {_mib(limit)} MiB psrpcore may read, and outside what the streaming reader "
            f"reads ({reason[:120]}); not read"
        )
    return _by_psrpcore(path, limit)


def _rest(handle: BinaryIO, streamed_limit: int) -> Iterator[bytes]:
    """The file's pieces after the first; a file that grew past the bound while read is refused."""
    while piece := handle.read(_PIECE):
        if handle.tell() > streamed_limit:
            raise ValueError(f"larger than the {_mib(streamed_limit)} MiB a fact file may be; not read")
        yield piece


def _head(pieces: Iterator[str]) -> str:
    """The text from the first pieces, its XML declaration stripped, at least ``_HEAD`` characters long
    (unless the file is shorter): long enough that the declaration and the whitespace after it are all
    in it, so it is stripped exactly as from the whole text."""
    text = ""
    for piece in pieces:
        text += piece
        declaration = _XML_DECLARATION.match(text)
        after = declaration.end() if declaration is not None else 0
        if len(text.lstrip()) >= _DECLARATION_WIDTH and after < len(text) and len(text) - after >= _HEAD:
            break
    # psrpcore takes the text up to the first ">" for the <Objs> tag: a declaration would be cut.
    declaration = _XML_DECLARATION.match(text)
    return text[declaration.end() :] if declaration is not None else text


def _by_psrpcore(path: Path, limit: int) -> list[Any]:
    """The reference: psrpcore reads the whole text (what the streaming reader declined or failed on)."""
    with path.open("rb") as handle:
        data = handle.read(limit + 1)  # never more than the limit in memory, whatever the file says
    if len(data) > limit:  # it grew since it was streamed
        raise ValueError(f"larger than the {_mib(limit)} MiB psrpcore may read; not read")
    text = decode(data)
    del data
    if (declaration := _XML_DECLARATION.match(text)) is not None:
        text = text[declaration.end() :]
    try:
        return [from_psrpcore(item) for item in deserialize(text)]
    except Exception as exc:  # psrpcore raises ElementTree and its own errors; name the file instead
        raise ValueError(f"malformed CLIXML: {type(exc).__name__}: {str(exc)[:160]}") from None


def read_raw(folder: Path) -> RawFacts:
    if not folder.is_dir():
        raise InputError(f"{folder}: facts folder not found (expected a folder of Export-Clixml files)")
    raw: RawFacts = {}
    stems = [kind.stem for kind in organization_kinds()]
    stems += sorted(p.stem for kind in server_kinds() for p in folder.glob(f"{kind.stem}-*.xml"))
    # Two budgets: files psrpcore may read, and files only the streaming reader may (see above).
    totals = {False: MAX_FOLDER_BYTES, True: MAX_FOLDER_STREAMED_BYTES}  # keyed by "over MAX_FILE_BYTES"
    budgets = dict(totals)
    for stem in stems:
        path = folder / f"{stem}.xml"
        if not path.is_file():
            continue  # absent (or a FIFO or device, never opened): the facts are "not collected"
        try:
            size = path.stat().st_size
            large = size > MAX_FILE_BYTES
            if size > budgets[large]:
                which = f"over {_mib(MAX_FILE_BYTES)} MiB " if large else ""
                raise ValueError(
                    f"not read: the folder's fact files {which}are over {_mib(totals[large])} MiB together"
                )
            budgets[large] -= size
            raw[stem] = Reading(read_clixml(path))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raw[stem] = Reading.failed(f"{path.name}: {exc}")
    if not raw:
        raise InputError(
            f"{folder}: no fact files found (expected GetExchangeServer.xml and the others; "
            "see `uccx-compliance collector-script`)"
        )
    return raw


def collected_at(folder: Path) -> datetime.datetime | None:
    """The collection time the collector wrote to ``collection.txt`` (``CollectedAtUtc:``), in UTC.

    None when there is no ``collection.txt`` or it has no ``CollectedAtUtc`` (or ``CollectedAt``) line (the event
    checks then trust the collector's own ``StartTime`` filter). A value that is not a time, or a
    time that cannot be placed in UTC (``0001-01-01T00:00:00+14:00`` is before year 1 there), is
    refused with its file, line and column: an event window measured from it would be a guess.
    """
    info = folder / COLLECTION_INFO
    if not info.is_file():
        return None
    with info.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES)  # the key is on the first lines; a larger file is cut
    try:
        # Out-File on Windows PowerShell writes UTF-16LE by default: read as UTF-8, no key would match.
        text = decode(data, errors="replace")
    except EncodingError as exc:
        raise InputError(f"{info}: {exc}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        key, sep, value = line.partition(":")
        if sep and key.strip().casefold() in _COLLECTED_AT_KEYS:
            column = len(key) + 2 + (len(value) - len(value.lstrip()))
            return _utc_time(value.strip(), f"{info}:{number}:{column}: {COLLECTED_AT}")
    return None


def _utc_time(value: str, where: str) -> datetime.datetime:
    shown = value[:60]  # shown with !r: repr escapes control characters, the message stays one line
    if not _ISO_TIME.fullmatch(value):
        raise InputError(f"{where}: expected a time like 2026-11-22T16:05:31Z, got {shown!r}")
    try:
        when = datetime.datetime.fromisoformat(value.replace(" ", "T").replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{where}: {shown!r} is not a valid time ({exc})") from None
    if when.tzinfo is None:
        return when.replace(tzinfo=datetime.timezone.utc)
    try:
        return when.astimezone(datetime.timezone.utc)
    except OverflowError:
        raise InputError(f"{where}: {shown!r} cannot be placed in UTC (it falls outside years 1-9999)") from None
