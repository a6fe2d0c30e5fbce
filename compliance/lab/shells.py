"""The WinRS shell operations of one endpoint: Create, Command, Receive, Send, Signal, Delete.

A PowerShell remoting client drives a runspace pool through a WinRS shell whose resource URI is
``http://schemas.microsoft.com/powershell/<configuration>`` ([MS-PSRP] 3.1.5). ``ShellService``
maps each SOAP action onto a ``RunspaceSession`` and keeps the sessions of its endpoint in a
registry guarded by a lock, because the HTTP server runs each connection in its own thread.
"""

from __future__ import annotations

import base64
import threading
import uuid
import xml.etree.ElementTree as ET

from compliance.lab import soap
from compliance.lab.runspace import PipelineRunner, RunspaceSession
from compliance.lab.soap import NS, Request, WSManFault, element

CONFIGURATION_URI = "http://schemas.microsoft.com/powershell/{}"
_RECEIVE_WAIT_CAP_S = 5.0  # never hold a request thread for the client's whole OperationTimeout
_SIGNAL_TERMINATE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate"
_SIGNAL_PS_CTRL_C = "powershell/signal/ctrl_c"
_COMMAND_DONE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
_COMMAND_RUNNING = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"


class ShellService:
    """All shells of one endpoint (the Exchange endpoint, or one server's host endpoint)."""

    def __init__(self, configuration: str, endpoint_url: str, runner: PipelineRunner, owner: str) -> None:
        self.resource_uri = CONFIGURATION_URI.format(configuration)
        self._endpoint_url = endpoint_url
        self._runner = runner
        self._owner = owner
        self._shells: dict[str, RunspaceSession] = {}
        self._lock = threading.Lock()

    def handle(self, request: Request) -> list[ET.Element]:
        """The response body for one request; raises ``WSManFault`` for a fault."""
        if request.resource_uri.lower() != self.resource_uri.lower():
            raise soap.resource_uri_not_found(request.resource_uri)
        handlers = {
            soap.ACTION_CREATE: self._create,
            soap.ACTION_COMMAND: self._command,
            soap.ACTION_RECEIVE: self._receive,
            soap.ACTION_SEND: self._send,
            soap.ACTION_SIGNAL: self._signal,
            soap.ACTION_DELETE: self._delete,
        }
        handler = handlers.get(request.action)
        if handler is None:
            raise WSManFault(
                soap.CODE_ACTION_NOT_SUPPORTED,
                "a:ActionNotSupported",
                f"The WS-Management service cannot process the request. The action {request.action} is not "
                "supported by the lab.",
            )
        return handler(request)

    @property
    def open_shells(self) -> int:
        with self._lock:
            return len(self._shells)

    def _session(self, request: Request) -> RunspaceSession:
        with self._lock:
            session = self._shells.get(request.shell_id.upper())
        if session is None:
            raise soap.shell_not_found(request.shell_id)
        return session

    def _create(self, request: Request) -> list[ET.Element]:
        shell = request.body.find("rsp:Shell", NS)
        if shell is None:
            raise WSManFault(soap.CODE_INVALID_SELECTORS, "w:InvalidSelectors", "Create without a Shell body.")
        shell_id = (shell.attrib.get("ShellId") or str(uuid.uuid4())).upper()
        creation = shell.find("pwsh:creationXml", NS)
        session = RunspaceSession(shell_id, self._runner)
        with self._lock:
            self._shells[shell_id] = session
        if creation is not None and creation.text:
            session.feed(base64.b64decode(creation.text))

        created = element("x:ResourceCreated")
        created.append(element("a:Address", self._endpoint_url))
        parameters = element("a:ReferenceParameters")
        parameters.append(element("w:ResourceURI", self.resource_uri))
        selectors = element("w:SelectorSet")
        selectors.append(element("w:Selector", shell_id, {"Name": "ShellId"}))
        parameters.append(selectors)
        created.append(parameters)

        info = element("rsp:Shell")
        for tag, text in (
            ("rsp:ShellId", shell_id),
            ("rsp:ResourceUri", self.resource_uri),
            ("rsp:Owner", self._owner),
            ("rsp:ClientIP", "127.0.0.1"),
            ("rsp:IdleTimeOut", "PT7200.000S"),
            ("rsp:InputStreams", "stdin pr"),
            ("rsp:OutputStreams", "stdout"),
            ("rsp:ShellRunTime", "P0DT0H0M0S"),
            ("rsp:ShellInactivity", "P0DT0H0M0S"),
        ):
            info.append(element(tag, text))
        return [created, info]

    def _command(self, request: Request) -> list[ET.Element]:
        session = self._session(request)
        command_line = request.body.find("rsp:CommandLine", NS)
        if command_line is None:
            raise WSManFault(soap.CODE_INVALID_SELECTORS, "w:InvalidSelectors", "Command without a CommandLine.")
        command_id = (command_line.attrib.get("CommandId") or str(uuid.uuid4())).upper()
        session.new_pipeline(command_id)
        arguments = command_line.find("rsp:Arguments", NS)
        if arguments is not None and arguments.text:
            session.feed(base64.b64decode(arguments.text), command_id)
        response = element("rsp:CommandResponse")
        response.append(element("rsp:CommandId", command_id))
        return [response]

    def _receive(self, request: Request) -> list[ET.Element]:
        session = self._session(request)
        desired = request.body.find("rsp:Receive/rsp:DesiredStream", NS)
        command_id = desired.attrib.get("CommandId") if desired is not None else None
        # Base64 grows data by 4/3; leave room for the envelope around the streams.
        budget = max(4096, (request.max_envelope_size - 4096) * 3 // 4)
        result = session.receive(command_id, budget, min(request.operation_timeout_s, _RECEIVE_WAIT_CAP_S))
        if result is None:
            raise soap.operation_timeout()
        response = element("rsp:ReceiveResponse")
        for chunk in result.chunks:
            attrib = {"Name": "stdout", **({"CommandId": command_id.upper()} if command_id else {})}
            response.append(element("rsp:Stream", base64.b64encode(chunk).decode(), attrib))
        if command_id:
            state = _COMMAND_DONE if result.done else _COMMAND_RUNNING
            command_state = element("rsp:CommandState", None, {"CommandId": command_id.upper(), "State": state})
            if result.done:
                command_state.append(element("rsp:ExitCode", "0"))
            response.append(command_state)
        return [response]

    def _send(self, request: Request) -> list[ET.Element]:
        session = self._session(request)
        for stream in request.body.findall("rsp:Send/rsp:Stream", NS):
            if stream.text:
                session.feed(base64.b64decode(stream.text), stream.attrib.get("CommandId"))
        return [element("rsp:SendResponse")]

    def _signal(self, request: Request) -> list[ET.Element]:
        session = self._session(request)
        signal = request.body.find("rsp:Signal", NS)
        command_id = signal.attrib.get("CommandId", "") if signal is not None else ""
        code_el = signal.find("rsp:Code", NS) if signal is not None else None
        code = (code_el.text or "").strip().lower() if code_el is not None else ""
        if code == _SIGNAL_TERMINATE:
            session.terminate_pipeline(command_id)
        elif code == _SIGNAL_PS_CTRL_C:
            session.stop_pipeline(command_id)
        return [element("rsp:SignalResponse")]

    def _delete(self, request: Request) -> list[ET.Element]:
        self._session(request)
        with self._lock:
            self._shells.pop(request.shell_id.upper(), None)
        return []
