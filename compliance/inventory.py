"""The inventory: which Exchange organizations to audit, how to reach them and with which baseline.

```yaml
apiVersion: uccx-compliance/v1
kind: Inventory
targets:
  - name: lab-exchange2010-sp3-defaults
    exchange_endpoint: http://ex01.lab.local/PowerShell/
    username: uccx-audit@lab.local
    password_env: UCCX_AUDIT_PASSWORD
    baseline: uccx-exchange2010-sp1
    vars: {uccx_mailbox: uccx}
    servers:
      - {name: EX01, roles: [Mailbox, ClientAccess, HubTransport]}
```

A password is never written in the file: it comes from an environment variable, the keyring
(when the ``keyring`` package is installed) or a prompt on a terminal. Unattended Kerberos runs
use ``keytab:`` (or an existing ticket cache, ``KRB5CCNAME``) and no password at all.

Paths in it (``baseline:``, ``keytab:``, ``ca_file:``, the certificate files) are read from the
inventory's folder when relative, never from the working directory.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    PrivateAttr,
    StrictBool,
    ValidationInfo,
    field_validator,
)

from compliance import resources
from compliance.errors import InputError
from compliance.modelerrors import validate
from compliance.yamlsource import VarPosition, YamlDocument, dotted, read_yaml

Auth = Literal["kerberos", "negotiate", "ntlm", "basic", "certificate", "credssp"]
Role = Literal["Mailbox", "ClientAccess", "HubTransport", "UnifiedMessaging", "Edge"]

HOST_PORT_HTTP = 5985


# Passwords typed at the prompt, kept in this process's memory only, so that one run (apply
# --inventory plans, then applies) asks once per target. Never written anywhere.
_PROMPTED: dict[tuple[str, str | None, str], str] = {}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Timeouts(_Strict):
    """Seconds. ``operation`` is the WS-Management OperationTimeout; ``read`` must exceed it."""

    connection: PositiveInt = 30
    read: PositiveInt = 60
    operation: PositiveInt = 20


class KeyringRef(_Strict):
    service: str
    username: str


class Server(_Strict):
    name: str  # the NetBIOS name Get-ExchangeServer shows (EX01)
    roles: tuple[Role, ...] = ()
    host_endpoint: str | None = None  # default http://<name>:5985/wsman

    @field_validator("host_endpoint")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value)

    @property
    def host_url(self) -> str:
        return self.host_endpoint or f"http://{self.name}:{HOST_PORT_HTTP}/wsman"

    def has_role(self, role: str) -> bool:
        return any(r.casefold() == role.casefold() for r in self.roles)


class Target(_Strict):
    """One Exchange organization, reached through one Exchange management endpoint."""

    name: str
    exchange_endpoint: str
    configuration: str = "Microsoft.Exchange"
    auth: Auth = "kerberos"
    username: str | None = None
    password_env: str | None = None
    password_keyring: KeyringRef | None = None
    # Kerberos without a password (scheduled runs): the ticket is acquired from this keytab into a
    # private memory cache per run (compliance/remoting/kerberos.py). Like ca_file and the
    # certificate files, a relative path is read from the inventory's folder (``FILE_FIELDS``).
    keytab: Path | None = None
    ca_file: Path | None = None
    # Only a YAML ``false`` turns checking off: "no", "0" or "off" are refused, not read as False.
    # Every run that connects with it off warns (compliance.remoting.session.warn_unverified).
    cert_validation: StrictBool = True
    certificate_pem: Path | None = None
    certificate_key_pem: Path | None = None
    timeouts: Timeouts = Timeouts()
    baseline: str
    vars: dict[str, Any] = {}  # baseline vars for this target; --var overrides them
    servers: tuple[Server, ...] = ()

    _baseline_path: Path | None = PrivateAttr(default=None)
    # ``FILE:LINE:COL: targets[i].FIELD`` of each file field, for the errors found on first use.
    _file_fields: dict[str, str] = PrivateAttr(default_factory=dict)
    # Where each of ``vars`` is written in the inventory, so a var the baseline refuses is located there.
    _var_positions: dict[str, VarPosition] = PrivateAttr(default_factory=dict)

    @field_validator("exchange_endpoint")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value)

    @field_validator("keytab")
    @classmethod
    def _keytab(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        auth = info.data.get("auth", "kerberos")
        if auth not in ("kerberos", "negotiate"):
            raise ValueError(f"a keytab is a Kerberos credential; it needs auth: kerberos (or negotiate), not {auth}")
        if info.data.get("password_env") or info.data.get("password_keyring"):
            raise ValueError("give either a keytab or a password (password_env, password_keyring), not both")
        return value

    @property
    def baseline_path(self) -> Path:
        """The baseline file, resolved when the inventory was loaded."""
        if self._baseline_path is None:
            raise InputError(f"target {self.name}: baseline not resolved (load it with load_inventory)")
        return self._baseline_path

    def located(self, field: str) -> str:
        """``FILE:LINE:COL: targets[i].FIELD`` where ``field`` is written, for an error about its
        file (``target NAME: FIELD`` for a target not loaded from a file)."""
        return self._file_fields.get(field) or f"target {self.name}: {field}"

    @property
    def var_positions(self) -> dict[str, VarPosition]:
        return dict(self._var_positions)

    def server(self, name: str) -> Server | None:
        return next((s for s in self.servers if s.name.casefold() == name.casefold()), None)

    def password(self) -> str | None:
        """The password from ``password_env``, the keyring or a prompt; None for certificate auth,
        for a keytab, and for Kerberos without a user name (the ticket cache is used)."""
        if self.auth == "certificate" or self.keytab is not None:
            return None
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise InputError(
                    f"target {self.name}: environment variable {self.password_env} (password_env) is not set"
                )
            return value
        if self.password_keyring is not None:
            return self._keyring_password(self.password_keyring)
        if self.username is None and self.auth in ("kerberos", "negotiate"):
            return None
        if not sys.stdin.isatty():
            raise InputError(
                f"target {self.name}: no password for {self.username}: set password_env to "
                "the name of an environment variable, or run on a terminal to be prompted"
            )
        key = (self.name, self.username, self.exchange_endpoint)
        if key not in _PROMPTED:
            _PROMPTED[key] = getpass.getpass(f"Password for {self.username} ({self.name}): ")
        return _PROMPTED[key]

    def _keyring_password(self, ref: KeyringRef) -> str:
        try:
            import keyring  # type: ignore[import-not-found]  # optional dependency
        except ImportError:
            raise InputError(
                f"target {self.name}: password_keyring needs the 'keyring' package "
                "(pip install keyring), or use password_env"
            ) from None
        value = keyring.get_password(ref.service, ref.username)
        if value is None:
            raise InputError(
                f"target {self.name}: no password in the keyring for service {ref.service!r}, user {ref.username!r}"
            )
        return str(value)


class Inventory(_Strict):
    api_version: Literal["uccx-compliance/v1"] = Field(alias="apiVersion")
    kind: Literal["Inventory"]
    targets: tuple[Target, ...]

    def target(self, name: str) -> Target:
        for target in self.targets:
            if target.name.casefold() == name.casefold():
                return target
        known = ", ".join(t.name for t in self.targets)
        raise InputError(f"no target named {name!r} in the inventory (targets: {known})")


def _check_url(value: str) -> str:
    """An http(s) URL with a host and no user information; errors never show the userinfo."""
    if "@" in value:
        # No legitimate endpoint has one, and anything before the last @ may be a password.
        raise ValueError(
            f"a URL may not carry a user name or password (got {shown_url(value)!r}); "
            "put the user in username: and the password in the environment variable password_env: names"
        )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  # raises ValueError for a port that is not a number in range
    except ValueError:
        # urlsplit's own messages quote the netloc: say it in our words instead.
        raise ValueError(f"not a valid URL (got {shown_url(value)!r})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL, got {shown_url(value)!r}")
    return value


def shown_url(value: str) -> str:
    """``value`` safe to print: whatever precedes the last ``@`` of the URL (its userinfo) is ``***``."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    if "@" in rest:
        rest = "***@" + rest.rpartition("@")[2]
    return f"{scheme}{sep}{rest}"


def _refuse_duplicate_names(doc: YamlDocument, inventory: Inventory) -> None:
    """Two targets, or two servers of one target, with one name (compared as Windows does, ignoring case)."""
    named: list[tuple[tuple[int | str, ...], list[str]]] = [(("targets",), [t.name for t in inventory.targets])]
    named += [
        (("targets", i, "servers"), [s.name for s in target.servers]) for i, target in enumerate(inventory.targets)
    ]
    for where, names in named:
        seen: dict[str, int] = {}
        for index, name in enumerate(names):
            first = seen.setdefault(name.casefold(), index)
            if first != index:
                loc = (*where, index, "name")
                pos = doc.position(loc)
                raise InputError(
                    f"{doc.path}:{pos.line}:{pos.column}: {dotted(loc)}: {name!r} is already the name of "
                    f"{dotted((*where, first))} (names are compared ignoring case)"
                )


def load_inventory(path: Path) -> Inventory:
    doc = read_yaml(path)
    _refuse_literal_passwords(doc)
    inventory = validate(Inventory, doc)
    if not inventory.targets:
        pos = doc.position(("targets",))
        raise InputError(f"{doc.path}:{pos.line}:{pos.column}: targets: list at least one target")
    _refuse_duplicate_names(doc, inventory)
    targets = list(inventory.targets)
    for index, target in enumerate(inventory.targets):
        if target.ca_file is not None and not target.cert_validation:
            field = ("targets", index, "cert_validation")
            pos = doc.position(field)
            raise InputError(
                f"{doc.path}:{pos.line}:{pos.column}: {dotted(field)}: false contradicts ca_file: "
                "(a CA to check the certificate with); keep one of them"
            )
        target = _resolve_files(doc, index, target)
        targets[index] = target
        target._baseline_path = _resolve_baseline(doc, index, target.baseline)
        for name in target.vars:
            loc = ("targets", index, "vars", name)
            pos = doc.position(loc)
            target._var_positions[name] = VarPosition(doc.path, pos.line, pos.column, loc)
    return inventory.model_copy(update={"targets": tuple(targets)})


# The inventory fields that name a file. A relative path is read from the inventory's folder, as
# ``baseline:`` is: a scheduled run (cron, a systemd timer, Task Scheduler) starts in another
# working directory than the shell the inventory was written in.
FILE_FIELDS = ("keytab", "ca_file", "certificate_pem", "certificate_key_pem")


def _resolve_files(doc: YamlDocument, index: int, target: Target) -> Target:
    """``target`` with its file fields made absolute against the inventory's folder, and where each is written."""
    update: dict[str, Path] = {}
    located: dict[str, str] = {}
    for name in FILE_FIELDS:
        value: Path | None = getattr(target, name)
        if value is None:
            continue
        loc = ("targets", index, name)
        pos = doc.position(loc)
        located[name] = f"{doc.path}:{pos.line}:{pos.column}: {dotted(loc)}"
        path = value.expanduser()
        if not path.is_absolute():
            path = doc.path.parent.absolute() / path
        if path != value:
            update[name] = path
    resolved = target.model_copy(update=update) if update else target
    resolved._file_fields = located
    return resolved


def _refuse_literal_passwords(doc: YamlDocument) -> None:
    """A ``password:`` key would put a secret in a file that gets committed and reviewed."""
    targets = doc.data.get("targets") if isinstance(doc.data, dict) else None
    if not isinstance(targets, list):
        return
    for index, target in enumerate(targets):
        if isinstance(target, dict) and "password" in target:
            loc = ("targets", index, "password")
            pos = doc.position(loc)
            raise InputError(
                f"{doc.path}:{pos.line}:{pos.column}: {dotted(loc)}: a password may not be written in the "
                "inventory; set password_env: to the name of an environment variable that holds it, "
                "or leave it out to be prompted on a terminal"
            )


def _resolve_baseline(doc: YamlDocument, index: int, value: str) -> Path:
    """A shipped baseline by name, or a file relative to the inventory."""
    relative = (doc.path.parent / value).resolve()
    if relative.is_file():
        return relative
    shipped = resources.shipped_baseline(value)
    if "/" not in value and shipped.is_file():
        return shipped
    loc = ("targets", index, "baseline")
    pos = doc.position(loc)
    raise InputError(
        f"{doc.path}:{pos.line}:{pos.column}: {dotted(loc)}: no shipped baseline named {value!r} and no file {relative}"
    )
