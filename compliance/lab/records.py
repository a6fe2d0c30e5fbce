"""The error records the lab writes, worded as Windows, PowerShell and Exchange word them.

Texts marked "unconfirmed" were not checked against a capture from a real Exchange 2010 server;
they are kept here, in one place, so a capture can correct them.
"""

from __future__ import annotations

from dataclasses import dataclass

from psrpcore.types import ErrorCategory

_EXCEPTION = "System.Exception"
_SYSTEM_EXCEPTION = "System.SystemException"
_RUNTIME_EXCEPTION = "System.Management.Automation.RuntimeException"


@dataclass(frozen=True)
class ErrorSpec:
    """An error record as the cmdlet would write it (message, exception type, category, id)."""

    message: str
    exception_types: tuple[str, ...]
    category: ErrorCategory
    reason: str
    fully_qualified_error_id: str
    activity: str = ""
    target_name: str = ""


def _runtime_exception(*specific: str) -> tuple[str, ...]:
    """The type names of a PowerShell RuntimeException subclass, most specific first."""
    return (*specific, _RUNTIME_EXCEPTION, _SYSTEM_EXCEPTION, _EXCEPTION)


def exchange_object_not_found(identity: str, domain_controller: str, cmdlet: str) -> ErrorSpec:
    """Exchange's non-terminating "couldn't be found" record (category unconfirmed for 2010)."""
    return ErrorSpec(
        message=(
            f"The operation couldn't be performed because object '{identity}' couldn't be found on "
            f"'{domain_controller}'."
        ),
        exception_types=(
            "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
            "Microsoft.Exchange.Data.DataSourceOperationException",
            "Microsoft.Exchange.Data.LocalizedException",
            _EXCEPTION,
        ),
        category=ErrorCategory.ObjectNotFound,
        reason="ManagementObjectNotFoundException",
        fully_qualified_error_id=f"ManagementObjectNotFound,{_exchange_task(cmdlet)}",
        activity=cmdlet,
        target_name=identity,
    )


def exchange_object_exists(name: str, cmdlet: str) -> ErrorSpec:
    """``New-ThrottlingPolicy`` with a taken name (wording unconfirmed)."""
    return ErrorSpec(
        message=f"The object '{name}' already exists.",
        exception_types=(
            "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
            "Microsoft.Exchange.Data.LocalizedException",
            _EXCEPTION,
        ),
        category=ErrorCategory.ResourceExists,
        reason="ADObjectAlreadyExistsException",
        fully_qualified_error_id=f"ObjectAlreadyExists,{_exchange_task(cmdlet)}",
        activity=cmdlet,
        target_name=name,
    )


def _exchange_task(cmdlet: str) -> str:
    verb, _, noun = cmdlet.partition("-")
    return f"Microsoft.Exchange.Management.Tasks.{verb}{noun}"


def command_not_found(name: str) -> ErrorSpec:
    return ErrorSpec(
        message=(
            f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, "
            "or operable program. Check the spelling of the name, or if a path was included, verify that "
            "the path is correct and try again."
        ),
        exception_types=_runtime_exception("System.Management.Automation.CommandNotFoundException"),
        category=ErrorCategory.ObjectNotFound,
        reason="CommandNotFoundException",
        fully_qualified_error_id="CommandNotFoundException",
        target_name=name,
    )


def no_language_mode() -> ErrorSpec:
    return ErrorSpec(
        message=(
            "The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode."
        ),
        exception_types=_runtime_exception("System.Management.Automation.ParseException"),
        category=ErrorCategory.ParserError,
        reason="ParseException",
        fully_qualified_error_id="ScriptsNotAllowed",
    )


def scripts_not_simulated() -> ErrorSpec:
    """The host endpoint is FullLanguage on Windows; the lab cannot interpret PowerShell."""
    return ErrorSpec(
        message="The lab's host endpoint runs cmdlets sent with parameters only; scripts are not simulated.",
        exception_types=("System.NotSupportedException", _SYSTEM_EXCEPTION, _EXCEPTION),
        category=ErrorCategory.NotImplemented,
        reason="NotSupportedException",
        fully_qualified_error_id="LabScriptsNotSimulated",
    )


def parameter_not_found(cmdlet: str, parameter: str) -> ErrorSpec:
    return ErrorSpec(
        message=f"A parameter cannot be found that matches parameter name '{parameter}'.",
        exception_types=_runtime_exception("System.Management.Automation.ParameterBindingException"),
        category=ErrorCategory.InvalidArgument,
        reason="ParameterBindingException",
        fully_qualified_error_id=f"NamedParameterNotFound,{cmdlet}",
        activity=cmdlet,
    )


def missing_parameter(cmdlet: str, parameter: str) -> ErrorSpec:
    """PowerShell would prompt for a mandatory parameter; a remote API call has nobody to ask."""
    return ErrorSpec(
        message=f"Cannot process command because of one or more missing mandatory parameters: {parameter}.",
        exception_types=_runtime_exception("System.Management.Automation.ParameterBindingException"),
        category=ErrorCategory.InvalidArgument,
        reason="ParameterBindingException",
        fully_qualified_error_id=f"MissingMandatoryParameter,{cmdlet}",
        activity=cmdlet,
    )


def argument_transformation(cmdlet: str, parameter: str, detail: str) -> ErrorSpec:
    return ErrorSpec(
        message=f"Cannot process argument transformation on parameter '{parameter}'. {detail}",
        exception_types=_runtime_exception(
            "System.Management.Automation.ParameterBindingArgumentTransformationException",
            "System.Management.Automation.ParameterBindingException",
        ),
        category=ErrorCategory.InvalidData,
        reason="ParameterBindingArgumentTransformationException",
        fully_qualified_error_id=f"ParameterArgumentTransformationError,{cmdlet}",
        activity=cmdlet,
    )


def injected_failure(cmdlet: str, message: str) -> ErrorSpec:
    """A failure the test or benchmark asked for (``LabFaults.failing_cmdlets``)."""
    return ErrorSpec(
        message=message,
        exception_types=("Microsoft.Exchange.Data.LocalizedException", _EXCEPTION),
        category=ErrorCategory.NotSpecified,
        reason="LocalizedException",
        fully_qualified_error_id=f"LabInjectedFailure,{cmdlet}",
        activity=cmdlet,
    )


def registry_path_not_found(path: str, cmdlet: str) -> ErrorSpec:
    return ErrorSpec(
        message=f"Cannot find path '{path}' because it does not exist.",
        exception_types=_runtime_exception(
            "System.Management.Automation.ItemNotFoundException", "System.Management.Automation.SessionStateException"
        ),
        category=ErrorCategory.ObjectNotFound,
        reason="ItemNotFoundException",
        fully_qualified_error_id=f"PathNotFound,{_powershell_command(cmdlet)}",
        activity=cmdlet,
        target_name=path,
    )


def registry_value_missing(name: str, key: str, cmdlet: str) -> ErrorSpec:
    return ErrorSpec(
        message=f"Property {name} does not exist at path {key}.",
        exception_types=(
            "System.Management.Automation.PSArgumentException",
            "System.ArgumentException",
            _SYSTEM_EXCEPTION,
            _EXCEPTION,
        ),
        category=ErrorCategory.InvalidArgument,
        reason="PSArgumentException",
        fully_qualified_error_id=(f"System.Management.Automation.PSArgumentException,{_powershell_command(cmdlet)}"),
        activity=cmdlet,
        target_name=name,
    )


def registry_value_exists(cmdlet: str) -> ErrorSpec:
    return ErrorSpec(
        message="The property already exists.",
        exception_types=("System.IO.IOException", _SYSTEM_EXCEPTION, _EXCEPTION),
        category=ErrorCategory.ResourceExists,
        reason="IOException",
        fully_qualified_error_id="System.IO.IOException,Microsoft.PowerShell.Commands.NewItemPropertyCommand",
        activity=cmdlet,
    )


def service_not_found(name: str, cmdlet: str) -> ErrorSpec:
    return ErrorSpec(
        message=f"Cannot find any service with service name '{name}'.",
        exception_types=(
            "Microsoft.PowerShell.Commands.ServiceCommandException",
            _SYSTEM_EXCEPTION,
            _EXCEPTION,
        ),
        category=ErrorCategory.ObjectNotFound,
        reason="ServiceCommandException",
        fully_qualified_error_id=(f"NoServiceFoundForGivenName,{_powershell_command(cmdlet)}"),
        activity=cmdlet,
        target_name=name,
    )


def no_events_found() -> ErrorSpec:
    """Get-WinEvent writes this with WriteError (non-terminating), as PowerShell's source does."""
    return ErrorSpec(
        message="No events were found that match the specified selection criteria.",
        exception_types=(_EXCEPTION,),
        category=ErrorCategory.ObjectNotFound,
        reason="Exception",
        fully_qualified_error_id="NoMatchingEventsFound,Microsoft.PowerShell.Commands.GetWinEventCommand",
        activity="Get-WinEvent",
    )


def _powershell_command(cmdlet: str) -> str:
    """``Get-ItemProperty`` -> ``Microsoft.PowerShell.Commands.GetItemPropertyCommand``."""
    return f"Microsoft.PowerShell.Commands.{cmdlet.replace('-', '')}Command"
