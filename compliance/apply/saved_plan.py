"""The saved plan (``PLAN.json``): what ``plan --out`` wrote and ``apply PLAN.json`` will send.

It is the JSON report (``report_dict``) plus what apply needs to reach the same targets and
prove nothing moved: each target's endpoints and inventory, the baseline file's SHA-256, the
``--var`` overrides, and for every change the live value it was computed from and the exact
cmdlets that would be sent. ``checksum`` is the SHA-256 of the canonical JSON (sorted keys, no
whitespace) of everything else, so a plan damaged or edited by hand is refused rather than applied.

The checksum is public, so it is no defence against someone who edits the plan on purpose; what
is (docs/security.md): apply takes endpoints and credentials from the inventory, never from the
plan (``endpoints.check_targets``), sends the commands it rebuilds from the changes, not the
stored ones, and, when ``UCCX_PLAN_SIGNING_KEY`` is set, ``signature`` is an HMAC-SHA256 of the
plan under that key, written by ``plan --out`` and checked before anything is connected to.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance.apply.commands import Step, build_steps
from compliance.cmdlet import CommandSpec
from compliance.errors import ComplianceError, InputError
from compliance.facts.values import Shown
from compliance.files import write_atomic
from compliance.plan import Action, Change, ChangeKind, Plan
from compliance.reporters.common import json_text

KIND = "uccx-compliance/plan"
FORMAT_VERSION = 1
_HINT = "write one with: uccx-compliance plan --inventory FILE --format json --out PLAN.json"
SIGNING_KEY_ENV = "UCCX_PLAN_SIGNING_KEY"
_SIGNATURE = "hmac-sha256:"


@dataclass(frozen=True)
class SavedTarget:
    name: str
    exchange_endpoint: str
    host_endpoints: dict[str, str]
    inventory: str
    baseline: dict[str, str]  # name, path, sha256


@dataclass
class TargetPlan:
    """One target's part of a saved plan: its changes (plan order) and the steps that make them."""

    target: SavedTarget
    changes: list[Change] = field(default_factory=list)

    @property
    def steps(self) -> list[Step]:
        return build_steps(self.changes)


@dataclass(frozen=True)
class SavedPlan:
    path: Path
    checksum: str
    vars: dict[str, Any]
    targets: list[TargetPlan]
    document: dict[str, Any]
    # Its HMAC signature was checked under UCCX_PLAN_SIGNING_KEY: only then may the inventory path
    # it names be trusted without --inventory (an unsigned plan is editable by anyone who can write it).
    signed: bool = False

    def target(self, name: str) -> TargetPlan:
        return next(t for t in self.targets if t.target.name == name)


def _canonical(document: Mapping[str, Any], leave_out: frozenset[str]) -> bytes:
    body = {k: v for k, v in document.items() if k not in leave_out}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # "surrogatepass": a lone surrogate (JSON can carry "\ud800") still has one byte form, so an
    # edited plan gets a checksum mismatch, never a UnicodeEncodeError.
    return text.encode("utf-8", "surrogatepass")


def canonical_checksum(document: Mapping[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(_canonical(document, frozenset({"checksum"}))).hexdigest()


def signing_key() -> bytes | None:
    """The plan-signing key from ``UCCX_PLAN_SIGNING_KEY``, or None when it is not set."""
    value = os.environ.get(SIGNING_KEY_ENV)
    if value is None:
        return None
    if not value:
        raise InputError(f"{SIGNING_KEY_ENV} is set but empty: set it to the signing key, or unset it")
    return value.encode("utf-8")


def plan_signature(document: Mapping[str, Any], key: bytes) -> str:
    """HMAC-SHA256 of everything but the checksum and the signature itself."""
    body = _canonical(document, frozenset({"checksum", "signature"}))
    return _SIGNATURE + hmac.new(key, body, hashlib.sha256).hexdigest()


def check_signature(path: Path, document: Mapping[str, Any], key: bytes | None) -> None:
    """With a key, only a plan signed under it passes; without one, a signed plan is refused too,
    since nothing here could tell a genuine signature from a forged one."""
    signature = document.get("signature")
    if key is None:
        if signature is not None:
            raise InputError(
                f"{path}: the plan is signed but {SIGNING_KEY_ENV} is not set, so its signature cannot be "
                f"checked; set {SIGNING_KEY_ENV} to the key it was signed with; nothing was sent"
            )
        return
    if signature is None:
        raise InputError(
            f"{path}: {SIGNING_KEY_ENV} is set but the plan is not signed; write it again with "
            f"plan --out while {SIGNING_KEY_ENV} is set; nothing was sent"
        )
    expected = plan_signature(document, key).encode("ascii")
    if not isinstance(signature, str) or not hmac.compare_digest(signature.encode("utf-8"), expected):
        raise InputError(
            f"{path}: signature: does not match the plan under {SIGNING_KEY_ENV} (edited after it was "
            "signed, or signed with another key); nothing was sent"
        )


def _change_entries(plan: Plan) -> list[dict[str, Any]]:
    from compliance.reporters.json import change_dict

    entries = [change_dict(c, plan.target) for c in plan.changes]
    for step in build_steps(plan.changes):
        for index in step.changes:
            entries[index]["step"] = step.number
            entries[index]["commands"] = [c.to_dict() for c in step.commands]
    return entries


def build_document(
    plans: Sequence[Plan],
    inventory: Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    """The saved-plan document for live plans of ``inventory``'s targets (checksum included)."""
    from compliance.inventory import load_inventory
    from compliance.reporters.json import report_dict

    loaded = load_inventory(inventory)
    targets = []
    for plan in plans:
        if plan.target is None:
            raise InputError(
                "only a live plan (--inventory) can be saved for apply; an offline facts folder "
                "names no endpoint to apply to (use --format ps1 for a script instead)"
            )
        target = loaded.target(plan.target)
        targets.append(
            {
                "name": target.name,
                "exchange_endpoint": target.exchange_endpoint,
                "host_endpoints": {s.name: s.host_url for s in target.servers},
                "inventory": str(inventory),
                "baseline": {
                    "name": plan.baseline,
                    "path": plan.baseline_path,
                    "sha256": plan.baseline_sha256,
                },
            }
        )
    created = (now or datetime.datetime.now(datetime.timezone.utc)).isoformat(timespec="seconds")
    document: dict[str, Any] = {
        "kind": KIND,
        **report_dict(plans),
        "format_version": FORMAT_VERSION,
        "created": created,
        "vars": dict(overrides or {}),
    }
    document["targets"] = targets
    document["baseline"] = targets[0]["baseline"] if targets else None
    document["changes"] = [entry for plan in plans for entry in _change_entries(plan)]
    document["restarts"] = [
        {"target": plan.target, "server": server, "service": service}
        for plan in plans
        for server, service in plan.restarts
    ]
    # Round-trip once so the checksum covers exactly what a reader will parse back.
    document = json.loads(json.dumps(document, default=str))
    key = signing_key()
    if key is not None:
        document["signature"] = plan_signature(document, key)
    document["checksum"] = canonical_checksum(document)
    return document


def write_saved_plan(
    path: Path, plans: Sequence[Plan], inventory: Path, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Write the saved plan atomically (temporary file, fsync, rename); returns the document."""
    document = build_document(plans, inventory, overrides)
    write_atomic(path, json_text(document, indent=2) + "\n", what="saved plan")
    return document


def read_saved_plan(path: Path) -> SavedPlan:
    """Read and check a saved plan; anything else is refused with one ``InputError`` line."""
    document = _load_json(path)
    kind = document.get("kind")
    if kind is None:
        raise InputError(f'{path}: a JSON report, not a saved plan (it has no "kind"); {_HINT}')
    if kind != KIND:
        raise InputError(f"{path}: this is a {kind} file, not a saved plan ({KIND}); {_HINT}")
    if document.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"{path}: saved plan format_version {document.get('format_version')!r} is not "
            f"supported (this version reads {FORMAT_VERSION}); run plan again"
        )
    if document.get("checksum") != canonical_checksum(document):
        raise InputError(f"{path}: checksum mismatch: the plan was edited after it was written")
    check_signature(path, document, signing_key())
    return dataclasses.replace(plan_from_document(path, document), signed=document.get("signature") is not None)


def plan_from_document(path: Path, document: Mapping[str, Any]) -> SavedPlan:
    """A checked document (read, or just built by ``apply --inventory``) as a ``SavedPlan``."""
    try:
        return _parse(path, document)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: malformed saved plan ({type(exc).__name__}: {exc})") from None


def _load_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    stripped = text.lstrip()
    if stripped.startswith("<"):
        raise InputError(f"{path}: an XML file (a JUnit report?), not a saved plan; {_HINT}")
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise InputError(f"{path}: not JSON (a text report?), so not a saved plan; {_HINT}") from None
    if not isinstance(document, dict):
        raise InputError(f"{path}: not a saved plan (expected a JSON object); {_HINT}")
    return document


def change_from_dict(data: Mapping[str, Any]) -> Change:
    """A change as a saved plan or backup holds it; every field is checked, ``kind`` is required."""
    return Change(
        check=str(data["check"]),
        title=str(data["title"]),
        severity=str(data["severity"]),
        resource=str(data["resource"]),
        identity=str(data["identity"]),
        setting=None if data["setting"] is None else str(data["setting"]),
        current=_shown_value(data["current"]),
        desired=_shown_value(data["desired"]),
        requirement=str(data["requirement"]),
        action=Action(data["action"]),
        server=data.get("server"),
        requires_restart=tuple(data.get("requires_restart") or ()),
        kind=ChangeKind(data["kind"]),
        principal=data.get("principal"),
    )


def _shown_value(value: Any) -> Shown:
    """A value as Exchange shows it: a number, text, a boolean, $null, or a list of texts."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ValueError(f"not a setting value: {type(value).__name__}")


def _parse(path: Path, document: Mapping[str, Any]) -> SavedPlan:
    targets = {
        t["name"]: TargetPlan(
            SavedTarget(
                name=str(t["name"]),
                exchange_endpoint=str(t["exchange_endpoint"]),
                host_endpoints={str(k): str(v) for k, v in dict(t["host_endpoints"]).items()},
                inventory=str(t["inventory"]),
                baseline={k: str(v) for k, v in dict(t["baseline"]).items()},
            )
        )
        for t in document["targets"]
    }
    saved_commands: dict[str, list[list[CommandSpec]]] = {name: [] for name in targets}
    for entry in document["changes"]:
        name = entry.get("target")
        if name not in targets:
            raise ValueError(f"change {entry.get('check')} names unknown target {name!r}")
        targets[name].changes.append(change_from_dict(entry))
        saved_commands[name].append([CommandSpec.from_dict(c) for c in entry["commands"]])
    for name, target_plan in targets.items():
        _same_commands(path, target_plan, saved_commands[name])
    return SavedPlan(
        path,
        str(document["checksum"]),
        dict(document.get("vars") or {}),
        list(targets.values()),
        dict(document),
    )


def _same_commands(path: Path, target_plan: TargetPlan, saved: list[list[CommandSpec]]) -> None:
    """What was reviewed is what is sent: the commands this version derives must equal the saved ones."""
    try:
        steps = target_plan.steps
    except ComplianceError as exc:
        raise InputError(f"{path}: {exc}") from None
    for step in steps:
        for index in step.changes:
            if [c.to_dict() for c in saved[index]] != [c.to_dict() for c in step.commands]:
                change = target_plan.changes[index]
                raise InputError(
                    f"{path}: the saved commands of {change.check} on {change.resource} differ from "
                    "what this version would send (written by another version?); run plan again"
                )
