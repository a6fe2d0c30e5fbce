"""The baseline language: a pydantic model of the YAML a baseline author writes.

Unknown keys are rejected everywhere (``extra="forbid"``), so a misspelt setting is an error with
a "did you mean", never a silently ignored line. See docs/baselines.md for the reference.
"""

from __future__ import annotations

import enum
import reprlib
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from compliance import parameters
from compliance.baseline.versions import VersionRange
from compliance.yamlsource import INT_LIMIT

CHECK_ID = r"^UCCX-[A-Z]+-\d{3}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Severity(str, enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Metadata(Strict):
    name: str
    description: str
    source: str


class CheckMeta(Strict):
    """What every check carries, prowler-style: validated when the baseline loads."""

    id: str = Field(pattern=CHECK_ID)
    title: str
    severity: Severity
    rationale: str
    remediation: str


Limit = int | Literal["unlimited", "Unlimited"]


class Expectation(Strict):
    """Exactly one comparison. ``unlimited: true`` means "no limit": ``$null`` on Exchange 2010,
    ``Unlimited`` on 2013+. ``at_least`` is met by a higher value and by no limit at all."""

    exact: int | str | bool | None = None
    at_least: int | None = None
    at_most: int | None = None
    one_of: list[int | str] | None = None
    unlimited: Literal[True] | None = None
    present: Literal[True] | None = None
    absent: Literal[True] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Expectation:
        chosen = [name for name in _COMPARISONS if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise ValueError(
                f"give exactly one comparison of {', '.join(_COMPARISONS)}; got {', '.join(chosen) or 'none'}"
            )
        return self

    @property
    def comparison(self) -> str:
        return next(name for name in _COMPARISONS if getattr(self, name) is not None)


_COMPARISONS = ("exact", "at_least", "at_most", "one_of", "unlimited", "present", "absent")


class SettingCheck(CheckMeta, Expectation):
    """A check of one setting. The setting becomes a parameter NAME of its family's cmdlet, and a
    name cannot be quoted, so each family's subclass accepts only that cmdlet's known parameters
    (``compliance.parameters``, from Microsoft's docs; case-insensitive, as PowerShell matches)."""

    setting: str

    cmdlet: ClassVar[str] = ""
    known: ClassVar[frozenset[str]] = frozenset()

    @field_validator("setting")
    @classmethod
    def _known_parameter(cls, value: str) -> str:
        if parameters.spelled(cls.known, value) is None:
            raise ValueError(parameters.unknown(cls.cmdlet, cls.known, value))
        return value


class ImapSettingCheck(SettingCheck):
    cmdlet = "Set-ImapSettings"
    known = parameters.IMAP_SETTINGS


class ReceiveConnectorSettingCheck(SettingCheck):
    cmdlet = "Set-ReceiveConnector"
    known = parameters.RECEIVE_CONNECTOR_SETTINGS


class ThrottlingSettingCheck(SettingCheck):
    cmdlet = "Set-ThrottlingPolicy"
    known = parameters.THROTTLING_SETTINGS


class ImapRules(Strict):
    """``Set-ImapSettings`` on every server with the role (Client Access)."""

    role: str = "ClientAccess"
    restart_services: list[str] = []
    checks: list[ImapSettingCheck]


class ConnectorSelector(Strict):
    identity: list[str] = Field(min_length=1, description="identity globs, e.g. '*\\Default *'")


class ReceiveConnectorRules(Strict):
    selector: ConnectorSelector
    selector_check: CheckMeta  # a selector that matches no connector is a finding
    checks: list[ReceiveConnectorSettingCheck]


class ThrottlingPolicyRules(Strict):
    name: str
    ensure: Literal["present"] = "present"
    unlimited_as: Literal["$null", "Unlimited"] = "$null"
    presence_check: CheckMeta
    checks: list[ThrottlingSettingCheck]

    @model_validator(mode="after")
    def _one_set_per_setting(self) -> ThrottlingPolicyRules:
        # Every setting of the policy goes in ONE Set-ThrottlingPolicy, which cannot take a
        # parameter twice (PowerShell names match case-insensitively).
        seen: dict[str, str] = {}
        for check in self.checks:
            key = check.setting.casefold()
            if key in seen:
                raise ValueError(f"{check.setting} is checked by both {seen[key]} and {check.id}; check a setting once")
            seen[key] = check.id
        return self


class MailboxPolicyRule(CheckMeta):
    mailbox: str
    throttling_policy: str


class RegistryValueRule(CheckMeta, Expectation):
    path: str = Field(pattern=r"^HKLM\\")
    name: str
    type: Literal["DWord", "String", "QWord"] = "DWord"
    role: str = "Mailbox"
    restart_service: str | None = None

    @field_validator("name")
    @classmethod
    def _printable_name(cls, value: str) -> str:
        # The value's name travels as a quoted VALUE (-Name '...'), never as code, so any text is
        # safe; but a control character is never a real store value's name, and a NUL cannot be
        # written into a remediation script at all.
        if not value or any(ord(ch) < 0x20 or ch == "\x7f" for ch in value):
            raise ValueError("a registry value name must be non-empty, without control characters")
        return value


class AdPermissionRule(CheckMeta):
    user: str
    extended_right: str
    # Not "on": YAML 1.1 readers (PyYAML included) turn an `on:` key into the boolean true.
    scope: Literal["organization"] = "organization"


class EventLogRule(CheckMeta):
    log_name: str = "Application"
    provider: str
    event_id: int
    role: str
    lookback_days: int = Field(ge=1, le=365)
    max_count: int = Field(0, ge=0)
    fixed_by: list[str] = []  # the check ids whose change cures this event


class Rules(Strict):
    imap_settings: ImapRules | None = None
    receive_connectors: ReceiveConnectorRules | None = None
    throttling_policy: ThrottlingPolicyRules | None = None
    mailbox_policy: MailboxPolicyRule | None = None
    registry_values: list[RegistryValueRule] = []
    ad_permissions: list[AdPermissionRule] = []
    event_log: list[EventLogRule] = []


VarType = Literal["integer", "string", "boolean", "string_list"]


class VarSpec(Strict):
    """A baseline var: its type, its default and, for an integer, its range.

    The short form ``agents: 100`` declares the type its default has; a short-form integer gets
    ``minimum: 0`` (every sizing var is a count), and no var is wider than the reader's integers."""

    type: VarType
    minimum: StrictInt | None = None
    maximum: StrictInt | None = None
    description: StrictStr = ""
    default: Any  # last, so that its validator sees the type and range

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return data
        declared = inferred_type(data)
        if declared is None:
            raise ValueError(
                f"cannot tell a type from the default {_shown(data)}; declare it as "
                "{type: integer|string|boolean|string_list, default: ...}"
            )
        return {"type": declared, "default": data, **({"minimum": 0} if declared == "integer" else {})}

    @field_validator("default")
    @classmethod
    def _default_fits(cls, value: Any, info: ValidationInfo) -> Any:
        if "type" not in info.data:
            return value  # the type itself is wrong; pydantic reports that
        if info.data["type"] != "integer" and (info.data.get("minimum"), info.data.get("maximum")) != (None, None):
            raise ValueError("minimum and maximum apply to integer vars only")
        spec = cls.model_construct(**info.data, default=value)
        if spec.low > spec.high:
            raise ValueError(f"minimum {spec.low} is above maximum {spec.high}")
        problem = spec.problem(value)
        if problem:
            raise ValueError(f"the default does not fit: {problem}")
        return value

    @property
    def low(self) -> int:
        return -(INT_LIMIT - 1) if self.minimum is None else self.minimum

    @property
    def high(self) -> int:
        return INT_LIMIT - 1 if self.maximum is None else self.maximum

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not a value of this var, or None when it is."""
        if inferred_type(value) != self.type:
            return f"expected {_ARTICLE[self.type]}, got {_shown(value)}"
        if self.type == "integer" and value < self.low:
            return f"{value} is below the minimum {self.low}"
        if self.type == "integer" and value > self.high:
            return f"{value} is above the maximum {self.high}"
        return None


_ARTICLE: dict[str, str] = {
    "integer": "an integer",
    "string": "a string",
    "boolean": "a boolean (true or false)",
    "string_list": "a list of strings",
}


def inferred_type(value: Any) -> VarType | None:
    """The var type a value has (expressions type their values the same way), or None."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "string_list"
    return None


_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxlist, _SHORT.maxlong, _SHORT.maxother = 40, 4, 40, 40


def _shown(value: Any) -> str:
    # A value from the command line can be long; the message stays short.
    return _SHORT.repr(value)


# A name an expression can use.
Vars = dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], VarSpec]


class Baseline(Strict):
    api_version: Literal["uccx-compliance/v1"] = Field(alias="apiVersion")
    kind: Literal["Baseline"]
    metadata: Metadata
    applies_to: str
    vars: Vars = {}
    rules: Rules

    @field_validator("applies_to")
    @classmethod
    def _version_range(cls, value: str) -> str:
        VersionRange.parse(value)
        return value

    @model_validator(mode="after")
    def _unique_check_ids(self) -> Baseline:
        seen: set[str] = set()
        for check in iter_checks(self.rules):
            if check.id in seen:
                raise ValueError(f"check id {check.id} is used twice; ids must be stable and unique")
            seen.add(check.id)
        return self

    @property
    def version_range(self) -> VersionRange:
        return VersionRange.parse(self.applies_to)


def iter_checks(rules: Rules) -> list[CheckMeta]:
    checks: list[CheckMeta] = []
    if rules.imap_settings:
        checks += rules.imap_settings.checks
    if rules.receive_connectors:
        checks += [rules.receive_connectors.selector_check, *rules.receive_connectors.checks]
    if rules.throttling_policy:
        checks += [rules.throttling_policy.presence_check, *rules.throttling_policy.checks]
    if rules.mailbox_policy:
        checks.append(rules.mailbox_policy)
    checks += [*rules.registry_values, *rules.ad_permissions, *rules.event_log]
    return checks
