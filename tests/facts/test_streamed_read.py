"""``read_clixml`` streams a file: read in pieces, decoded as it goes, fed to the streaming reader.

Wherever the pieces are cut (inside a UTF-16 code unit, between the halves of a surrogate pair,
inside a UTF-8 sequence or an element's name), the objects, or the decoding error and its offset,
are those of the whole file. A file over the 16 MiB psrpcore may read is read by the streaming
reader alone, up to 128 MiB, and refused in one line when it declines it.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from compliance.facts import offline
from compliance.facts.clixml_writer import to_clixml
from compliance.facts.encoding import EncodingError, decode
from compliance.facts.offline import MAX_FILE_BYTES, read_clixml
from compliance.facts.psobject import PSObj
from tests.facts.test_clixml_reader import assert_same, by_psrpcore, document

CODECS = {
    "utf-8": ("utf-8", b""),
    "utf-8-bom": ("utf-8", codecs.BOM_UTF8),
    "utf-16le-bom": ("utf-16-le", codecs.BOM_UTF16_LE),
    "utf-16le": ("utf-16-le", b""),
    "utf-16be-bom": ("utf-16-be", codecs.BOM_UTF16_BE),
}
# Characters of one, two, three and four UTF-8 bytes, and one needing a UTF-16 surrogate pair.
WIDE = st.text(st.sampled_from("a<é€😀\U00010348"), min_size=1, max_size=6)


def outcome(path: Path) -> tuple[str, Any]:
    try:
        return "value", read_clixml(path)
    except ValueError as exc:
        return "error", str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(WIDE, min_size=1, max_size=4),
    encoding=st.sampled_from(sorted(CODECS)),
    piece=st.integers(1, 97),
    damage=st.none() | st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=2)),
)
def test_the_result_does_not_depend_on_where_the_pieces_are_cut(
    names: list[str], encoding: str, piece: int, damage: tuple[float, bytes] | None, tmp_path: Path
) -> None:
    text = to_clixml([PSObj(("Contoso.Thing", "System.Object"), name, {"Name": name}) for name in names])
    codec, bom = CODECS[encoding]
    data = bom + text.encode(codec)
    if damage is not None:  # a byte or two replaced, anywhere: a decoding error, or text psrpcore judges
        at = int(damage[0] * (len(data) - 1))
        data = data[:at] + damage[1] + data[at + len(damage[1]) :]
    path = tmp_path / "GetThing.xml"
    path.write_bytes(data)
    with mock.patch.object(offline, "_PIECE", piece):
        got = outcome(path)
    expected = outcome(path)  # one piece: these files are smaller than offline._PIECE
    try:
        decode(data)
    except EncodingError as exc:
        assert expected == ("error", str(exc))  # the whole file's decoding error, at the same offset
    if damage is None:
        assert expected[0] == "value"
        assert_same(by_psrpcore(document(data)), expected[1])
        assert [obj.to_string for obj in expected[1]] == names
    event(f"{expected[0]}")
    assert got[0] == expected[0], (got, expected)
    if expected[0] == "error":
        assert got[1] == expected[1]
    else:
        assert_same(expected[1], got[1])


def test_a_decoding_error_in_a_late_piece_is_named_as_when_the_file_was_decoded_whole(tmp_path: Path) -> None:
    body = "".join(f"<S>{n:08d} é😀</S>" for n in range(150_000)).encode("utf-16-le")  # about 4 MB
    at = len(body) - 1001  # an odd offset: the second byte of a code unit, pieces past the first
    data = codecs.BOM_UTF16_LE + "<Objs>".encode("utf-16-le") + body[:at] + b"\x3d\xd8" + body[at + 1 :]
    with pytest.raises(EncodingError) as whole:
        decode(data)
    path = tmp_path / "GetThing.xml"
    path.write_bytes(data)
    assert len(data) > 3 * offline._PIECE
    with pytest.raises(ValueError) as streamed:
        read_clixml(path)
    assert str(streamed.value) == str(whole.value)
    assert "not valid UTF-16LE at byte" in str(whole.value)


def _large(path: Path, tail: str) -> int:
    """A UTF-8 file of a little over 16 MiB: strings, then ``tail``."""
    row = "<S>" + "x" * 90 + "</S>\n"
    count = (MAX_FILE_BYTES // len(row) // 1000 + 1) * 1000
    with path.open("w", encoding="utf-8") as handle:
        handle.write('<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\n')
        for _ in range(count // 1000):
            handle.write(row * 1000)
        handle.write(tail + "</Objs>\n")
    assert path.stat().st_size > MAX_FILE_BYTES
    return count


def test_a_file_over_16_mib_is_read_by_the_streaming_reader_alone(tmp_path: Path) -> None:
    path = tmp_path / "GetThing.xml"
    count = _large(path, "<S>last</S>")
    with mock.patch.object(offline, "deserialize", side_effect=AssertionError("psrpcore must not read it")):
        objects = read_clixml(path)
    assert len(objects) == count + 1 and objects[0] == "x" * 90 and objects[-1] == "last"


def test_a_file_over_16_mib_the_streaming_reader_declines_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "GetThing.xml"
    _large(path, "<Version>1.2</Version>")
    psrpcore = mock.patch.object(offline, "deserialize", side_effect=AssertionError("psrpcore must not read it"))
    with psrpcore, pytest.raises(ValueError) as refused:
        read_clixml(path)
    assert str(refused.value) == (
        "larger than the 16 MiB psrpcore may read, and outside what the streaming reader reads (<Version>); not read"
    )
