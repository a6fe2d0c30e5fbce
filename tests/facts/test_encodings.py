"""Fact files in every encoding Windows writes them in plan the same.

Windows PowerShell 2.0 and 5.1 write ``Export-Clixml`` as UTF-16LE with a BOM and CRLF. The same
export in UTF-8 or UTF-16 (LE or BE), with a BOM or without one, LF or CRLF, must give a JSON plan
identical byte for byte. The real UTF-16 bytes come from dpaulson45/PublicPowerShellScripts
(``tests/fixtures/real/utf16/``, copied unchanged); the rest are the real CSS-Exchange exports
and the example folders, transcoded here.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.facts import clixml_reader
from compliance.facts.encoding import EncodingError, decode, detect
from compliance.facts.offline import MAX_FILE_BYTES, collected_at, read_clixml, read_raw
from compliance.facts.psobject import PSObj
from compliance.pipeline import plan_folder
from compliance.reporters.json import report_dict

REPO = Path(__file__).resolve().parents[2]
CSS = REPO / "tests" / "fixtures" / "real"
EXAMPLES = REPO / "examples" / "facts"
SP1 = REPO / "baselines" / "uccx-exchange2010-sp1.yaml"
BASELINE_2013 = REPO / "baselines" / "uccx-exchange2013.yaml"

# name -> (codec, BOM): the six ways a fact file arrives.
ENCODINGS: dict[str, tuple[str, bytes]] = {
    "utf-8": ("utf-8", b""),
    "utf-8-bom": ("utf-8", codecs.BOM_UTF8),
    "utf-16le": ("utf-16-le", b""),
    "utf-16le-bom": ("utf-16-le", codecs.BOM_UTF16_LE),
    "utf-16be": ("utf-16-be", b""),
    "utf-16be-bom": ("utf-16-be", codecs.BOM_UTF16_BE),
}
VARIANTS = [(name, crlf) for name in ENCODINGS for crlf in (False, True)]


def encoded(text: str, encoding: str, *, crlf: bool = False) -> bytes:
    codec, bom = ENCODINGS[encoding]
    if crlf:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return bom + text.encode(codec)


def original_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig")  # the sources here are all UTF-8


# A folder of the real CSS-Exchange exports under the collector's names, and the example folders.
CSS_FOLDER = {
    "GetExchangeServer.xml": CSS / "E19-GetExchangeServer.xml",
    "GetOrganizationConfig.xml": CSS / "E19-GetOrganizationConfig.xml",
    "GetReceiveConnector.xml": CSS / "E19-GetReceiveConnector.xml",
}
FOLDERS: dict[str, tuple[Path, dict[str, Path]]] = {
    "css-e19": (BASELINE_2013, CSS_FOLDER),
    **{
        name: (SP1, {p.name: p for p in sorted((EXAMPLES / name).iterdir()) if p.suffix in {".xml", ".txt"}})
        for name in ("exchange2010-sp3-compliant", "exchange2010-sp3-defaults")
    },
}


@pytest.mark.parametrize("folder_name", sorted(FOLDERS))
def test_every_encoding_plans_byte_for_byte_the_same(folder_name: str, tmp_path: Path) -> None:
    baseline, files = FOLDERS[folder_name]
    texts = {name: original_text(path) for name, path in files.items()}
    folder = tmp_path / "facts"  # one path for every variant: the report names the folder
    folder.mkdir()

    def plan_as(encoding: str, crlf: bool) -> str:
        for name, text in texts.items():
            (folder / name).write_bytes(encoded(text, encoding, crlf=crlf))
        return json.dumps(report_dict([plan_folder(baseline, folder, {})]), indent=2, default=str)

    reference = plan_as("utf-8-bom", False)
    report = json.loads(reference)
    assert report["summary"]["unreadable"] == 0 or folder_name == "css-e19", report["unreadable"]
    assert report["summary"]["compliant"] > 0
    for encoding, crlf in VARIANTS:
        assert plan_as(encoding, crlf) == reference, (encoding, crlf)


def server_version(obj: object) -> tuple[str, int, int, int, int]:
    assert isinstance(obj, PSObj) and obj.type_names[0] == "Microsoft.Exchange.Data.ServerVersion"
    return (str(obj), obj.get("Major"), obj.get("Minor"), obj.get("Build"), obj.get("Revision"))


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("E14-AdminDisplayVersion-utf16.xml", ("Version 14.3 (Build 123.4)", 14, 3, 123, 4)),
        ("E16-AdminDisplayVersion-utf16.xml", ("Version 15.1 (Build 1713.5)", 15, 1, 1713, 5)),
    ],
)
def test_real_utf16_export_reads_as_windows_wrote_it(file: str, expected: tuple[object, ...], tmp_path: Path) -> None:
    path = CSS / "utf16" / file
    data = path.read_bytes()
    # The fixture really is what Windows PowerShell writes: BOM, UTF-16LE, CRLF.
    assert data.startswith(codecs.BOM_UTF16_LE + "<Objs".encode("utf-16-le"))
    assert "\r\n".encode("utf-16-le") in data and detect(data) == ("UTF-16LE", 2)
    [obj] = read_clixml(path)
    assert server_version(obj) == expected
    # ... and reads exactly as its UTF-8 (LF) transcoding does.
    text = data[2:].decode("utf-16-le")
    for encoding in ENCODINGS:
        copy = tmp_path / f"{encoding}.xml"
        copy.write_bytes(encoded(text.replace("\r\n", "\n"), encoding))
        [again] = read_clixml(copy)
        assert again == obj, encoding


def test_size_limit_counts_bytes_not_characters(tmp_path: Path) -> None:
    text = original_text(CSS / "E19-GetOrganizationConfig.xml")
    path = tmp_path / "GetOrganizationConfig.xml"
    path.write_bytes(encoded(text, "utf-16le-bom"))
    size = path.stat().st_size
    assert len(text) < size <= MAX_FILE_BYTES
    # A limit between the character count and the byte count refuses the UTF-16 file: the streaming
    # reader's bound, and psrpcore's (for what the streaming reader declines).
    with pytest.raises(ValueError, match="MiB a fact file may be"):
        read_clixml(path, streamed_limit=size - 1)
    assert read_clixml(path, streamed_limit=size)
    with mock.patch.object(clixml_reader.Stream, "close", side_effect=clixml_reader.Declined("declined here")):
        with pytest.raises(ValueError, match=r"MiB psrpcore may read, .*\(declined here\); not read"):
            read_clixml(path, limit=size - 1)
        assert read_clixml(path, limit=size)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<Objs>\xff\xfe</Objs>", "not valid UTF-8 at byte 6"),
        (codecs.BOM_UTF8 + b"<Objs>\xc3</Objs>", "not valid UTF-8 at byte 9"),
        (codecs.BOM_UTF16_LE + "<Objs/>".encode("utf-16-le") + b"<", "not valid UTF-16LE at byte 16 (truncated data)"),
        (codecs.BOM_UTF16_BE + "<Objs".encode("utf-16-be") + b"\xdc\x00\x00<", "not valid UTF-16BE at byte 12"),
        ("<Objs>".encode("utf-16-le") + b"\x00\xd8>\x00", "not valid UTF-16LE at byte 12"),
        (codecs.BOM_UTF32_LE + "<Objs/>".encode("utf-32-le"), "UTF-32LE (byte order mark) is not an encoding"),
        (b'<?xml version="1.0" encoding="utf-16"?><Objs/>', "the XML declaration says encoding='utf-16'"),
        (b'<?xml version="1.0" encoding="windows-1252"?><Objs/>', "encoding='windows-1252'"),
    ],
)
def test_undecodable_file_is_unreadable_with_the_encoding_problem(data: bytes, reason: str, tmp_path: Path) -> None:
    (tmp_path / "GetMailbox.xml").write_bytes(data)
    reading = read_raw(tmp_path)["GetMailbox"]
    assert reading.get() is None
    assert reading.reason is not None and reading.reason.startswith("GetMailbox.xml: ")
    assert reason in reading.reason


def test_utf16_declaration_without_bom_is_read_by_its_nul_bytes(tmp_path: Path) -> None:
    text = '<?xml version="1.0" encoding="utf-16"?>\n' + original_text(CSS / "E19-GetOrganizationConfig.xml")
    expected = read_clixml(CSS / "E19-GetOrganizationConfig.xml")
    for encoding in ("utf-16le", "utf-16be"):
        path = tmp_path / f"{encoding}.xml"
        path.write_bytes(encoded(text, encoding))
        assert read_clixml(path) == expected


def test_utf8_declaration_is_read(tmp_path: Path) -> None:
    path = tmp_path / "GetOrganizationConfig.xml"
    text = original_text(CSS / "E19-GetOrganizationConfig.xml")
    path.write_bytes(b'<?xml version="1.0" encoding="UTF-8"?>\r\n' + text.encode("utf-8"))
    assert read_clixml(path) == read_clixml(CSS / "E19-GetOrganizationConfig.xml")


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_collection_txt_in_any_encoding_gives_its_time(encoding: str, tmp_path: Path) -> None:
    text = original_text(EXAMPLES / "exchange2010-sp3-compliant" / "collection.txt")
    (tmp_path / "collection.txt").write_bytes(encoded(text, encoding, crlf=True))
    when = collected_at(tmp_path)
    assert when is not None and when.isoformat() == "2026-11-24T09:15:48+00:00"


# Text as CLIXML carries it: any character XML 1.0 allows (no surrogates, no C0 controls but tab
# and LF; CR is left out as the XML parser turns it into LF).
XML_TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\r\x00").filter(
        lambda c: c in "\t\n" or ord(c) >= 0x20
    ),
    max_size=200,
)
ASCII_START = st.characters(min_codepoint=0x21, max_codepoint=0x7E)


@settings(max_examples=300, deadline=None)
@given(first=ASCII_START, rest=XML_TEXT, encoding=st.sampled_from(sorted(ENCODINGS)))
def test_decode_inverts_every_encoding(first: str, rest: str, encoding: str) -> None:
    # A fact file starts with an ASCII character ("<"), which is what tells a BOM-less UTF-16 apart.
    text = first + rest
    assert decode(encoded(text, encoding)) == text


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=64))
def test_decode_of_any_bytes_is_text_or_a_named_encoding_error(data: bytes) -> None:
    try:
        text = decode(data)
    except EncodingError as exc:
        assert any(name in str(exc) for name in ("UTF-8", "UTF-16LE", "UTF-16BE", "UTF-32", "encoding="))
    else:
        assert isinstance(text, str)


def test_each_encoding_is_told_apart() -> None:
    assert {e: detect(encoded("<Objs/>", e)) for e in ENCODINGS} == {
        "utf-8": ("UTF-8", 0),
        "utf-8-bom": ("UTF-8", 3),
        "utf-16le": ("UTF-16LE", 0),
        "utf-16le-bom": ("UTF-16LE", 2),
        "utf-16be": ("UTF-16BE", 0),
        "utf-16be-bom": ("UTF-16BE", 2),
    }
