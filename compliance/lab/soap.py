"""WS-Management SOAP envelopes: parse a request, build a response or a fault.

Only what pypsrp's ``wsman.py`` sends and reads: the addressing headers, ResourceURI, the
ShellId selector, the option set and the shell body ([MS-WSMV] 2.2.4). Faults carry the
``wsmanfault:WSManFault`` detail with the numeric code pypsrp turns into ``WSManFaultError``.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "pwsh": "http://schemas.microsoft.com/powershell",
    "xml": "http://www.w3.org/XML/1998/namespace",
}
for _prefix, _uri in NS.items():
    if _prefix != "xml":
        ET.register_namespace(_prefix, _uri)

_SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
_TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
ACTION_CREATE = f"{_TRANSFER}/Create"
ACTION_DELETE = f"{_TRANSFER}/Delete"
ACTION_COMMAND = f"{_SHELL}/Command"
ACTION_RECEIVE = f"{_SHELL}/Receive"
ACTION_SEND = f"{_SHELL}/Send"
ACTION_SIGNAL = f"{_SHELL}/Signal"
RESPONSE_ACTIONS = {
    ACTION_CREATE: f"{_TRANSFER}/CreateResponse",
    ACTION_DELETE: f"{_TRANSFER}/DeleteResponse",
    ACTION_COMMAND: f"{_SHELL}/CommandResponse",
    ACTION_RECEIVE: f"{_SHELL}/ReceiveResponse",
    ACTION_SEND: f"{_SHELL}/SendResponse",
    ACTION_SIGNAL: f"{_SHELL}/SignalResponse",
}
_FAULT_ACTION = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
_ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

# Numeric codes of the faults the lab raises, as Windows reports them ([MS-WSMV] / winerror.h).
CODE_INVALID_RESOURCE_URI = 2150858811
CODE_OPERATION_TIMEOUT = 2150858793
CODE_INVALID_SELECTORS = 2150858843
CODE_ACTION_NOT_SUPPORTED = 2150858754


class WSManFault(Exception):
    """A fault to send back as an HTTP 500 SOAP envelope."""

    def __init__(self, code: int, subcode: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.subcode = subcode
        self.reason = reason


def resource_uri_not_found(resource_uri: str) -> WSManFault:
    return WSManFault(
        CODE_INVALID_RESOURCE_URI,
        "w:InvalidResourceURI",
        f"The WS-Management service cannot process the request. The resource URI ({resource_uri}) was not "
        "found in the WS-Management catalog. The catalog contains the metadata that describes resources, "
        "or logical endpoints.",
    )


def operation_timeout() -> WSManFault:
    return WSManFault(
        CODE_OPERATION_TIMEOUT,
        "w:TimedOut",
        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
    )


def shell_not_found(shell_id: str) -> WSManFault:
    return WSManFault(
        CODE_INVALID_SELECTORS,
        "w:InvalidSelectors",
        f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not "
        "found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer "
        "exists on the server. Provide the correct ShellId or create a new shell and retry the operation.",
    )


@dataclass
class Request:
    """The parts of a WS-Management request the lab acts on."""

    action: str
    resource_uri: str
    message_id: str
    body: ET.Element
    selectors: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    operation_timeout_s: float = 20.0
    max_envelope_size: int = 153600

    @property
    def shell_id(self) -> str:
        return self.selectors.get("ShellId", "")


def parse_request(data: bytes) -> Request:
    envelope = ET.fromstring(data)
    header = envelope.find("s:Header", NS)
    body = envelope.find("s:Body", NS)
    if header is None or body is None:
        raise ValueError("not a SOAP envelope")

    def text(path: str, default: str = "") -> str:
        element = header.find(path, NS)
        return (element.text or default).strip() if element is not None else default

    selectors = {s.attrib.get("Name", ""): (s.text or "") for s in header.findall("w:SelectorSet/w:Selector", NS)}
    options = {o.attrib.get("Name", ""): (o.text or "") for o in header.findall("w:OptionSet/w:Option", NS)}
    return Request(
        action=text("a:Action"),
        resource_uri=text("w:ResourceURI"),
        message_id=text("a:MessageID"),
        body=body,
        selectors=selectors,
        options=options,
        operation_timeout_s=_duration_seconds(text("w:OperationTimeout", "PT20S")),
        max_envelope_size=int(text("w:MaxEnvelopeSize", "153600") or 153600),
    )


def _duration_seconds(value: str) -> float:
    match = re.fullmatch(r"PT(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?", value)
    if not match:
        return 20.0
    return float(match.group(1) or 0) * 60 + float(match.group(2) or 0)


def _envelope(action: str, relates_to: str) -> tuple[ET.Element, ET.Element]:
    envelope = ET.Element(f"{{{NS['s']}}}Envelope", {f"{{{NS['xml']}}}lang": "en-US"})
    header = ET.SubElement(envelope, f"{{{NS['s']}}}Header")
    ET.SubElement(header, f"{{{NS['a']}}}Action").text = action
    ET.SubElement(header, f"{{{NS['a']}}}MessageID").text = f"uuid:{str(uuid.uuid4()).upper()}"
    ET.SubElement(header, f"{{{NS['a']}}}To").text = _ANONYMOUS
    ET.SubElement(header, f"{{{NS['a']}}}RelatesTo").text = relates_to
    body = ET.SubElement(envelope, f"{{{NS['s']}}}Body")
    return envelope, body


def build_response(request: Request, body_children: list[ET.Element]) -> bytes:
    envelope, body = _envelope(RESPONSE_ACTIONS.get(request.action, request.action), request.message_id)
    body.extend(body_children)
    data: bytes = ET.tostring(envelope, encoding="utf-8", xml_declaration=False)
    return data


def build_fault(message_id: str, fault: WSManFault, machine: str) -> bytes:
    envelope, body = _envelope(_FAULT_ACTION, message_id)
    s, f = NS["s"], NS["f"]
    fault_el = ET.SubElement(body, f"{{{s}}}Fault")
    code = ET.SubElement(fault_el, f"{{{s}}}Code")
    ET.SubElement(code, f"{{{s}}}Value").text = "s:Sender"
    ET.SubElement(ET.SubElement(code, f"{{{s}}}Subcode"), f"{{{s}}}Value").text = fault.subcode
    reason = ET.SubElement(fault_el, f"{{{s}}}Reason")
    ET.SubElement(reason, f"{{{s}}}Text", {f"{{{NS['xml']}}}lang": "en-US"}).text = fault.reason
    detail = ET.SubElement(fault_el, f"{{{s}}}Detail")
    wsman_fault = ET.SubElement(detail, f"{{{f}}}WSManFault", {"Code": str(fault.code), "Machine": machine})
    ET.SubElement(wsman_fault, f"{{{f}}}Message").text = fault.reason
    data: bytes = ET.tostring(envelope, encoding="utf-8", xml_declaration=False)
    return data


def element(tag: str, text: str | None = None, attrib: dict[str, str] | None = None) -> ET.Element:
    """``element("rsp:ShellId", "...")``: a namespaced element from a prefixed tag."""
    prefix, _, local = tag.partition(":")
    el = ET.Element(f"{{{NS[prefix]}}}{local}", attrib or {})
    el.text = text
    return el
