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
import re
from pathlib import Path
from typing import Any

from compliance.errors import InputError
from compliance.facts import clixml_reader
from compliance.facts.collection import RawFacts
from compliance.facts.encoding import EncodingError, decode
from compliance.facts.model import Reading
from compliance.facts.psobject import deserialize, from_psrpcore
from compliance.kinds import organization_kinds, server_kinds

COLLECTION_INFO = "collection.txt"
# Bounds on what one folder may make us parse. The largest real export we hold (CSS-Exchange's
# GetService.xml, every service of a server) is 2.5 MB; psrpcore's parse costs about 0.45 s per MB of
# small objects (the streaming reader a tenth of that), and a file the streaming reader declines is
# read by psrpcore, so these keep a hostile or mistaken folder to seconds and a few hundred MB.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_FOLDER_BYTES = 48 * 1024 * 1024
COLLECTED_AT = "CollectedAtUtc"
_COLLECTED_AT_KEYS = ("collectedatutc", "collectedat")  # CollectedAt (with its offset): early collectors
_XML_DECLARATION = re.compile(r"\s*<\?xml\s[^>]{0,200}\?>\s*")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", re.ASCII)


def read_clixml(path: Path, *, limit: int = MAX_FILE_BYTES) -> list[Any]:
    """Every top-level object of an ``Export-Clixml`` file, in neutral form.

    Raises ``ValueError`` with a short reason when the file is over ``limit`` bytes (counted in bytes,
    whatever the encoding), cannot be decoded (``compliance.facts.encoding``), or is not CLIXML.
    """
    with path.open("rb") as handle:
        data = handle.read(limit + 1)  # never more than the limit in memory, whatever the file says
    if len(data) > limit:
        raise ValueError(f"larger than the {limit // (1024 * 1024)} MiB a fact file may be; not read")
    text = decode(data)  # UTF-16LE with a BOM from Windows PowerShell, UTF-8 from PowerShell 7
    # psrpcore takes the text up to the first ">" for the <Objs> tag: a declaration would be cut.
    if (declaration := _XML_DECLARATION.match(text)) is not None:
        text = text[declaration.end() :]
    if "<Objs" not in text[:512]:
        raise ValueError("not an Export-Clixml file (no <Objs> root)")
    try:
        return clixml_reader.read(text)
    except Exception:  # declined, or failed: psrpcore reads it and says what is wrong
        pass
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
    budget = MAX_FOLDER_BYTES
    for stem in stems:
        path = folder / f"{stem}.xml"
        if not path.is_file():
            continue  # absent (or a FIFO or device, never opened): the facts are "not collected"
        try:
            size = path.stat().st_size
            if size > budget:
                raise ValueError(
                    f"not read: the folder's fact files are over {MAX_FOLDER_BYTES // (1024 * 1024)} MiB together"
                )
            budget -= size
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
