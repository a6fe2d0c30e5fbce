"""A saved plan's (or backup's) targets against the inventory, before the first connection.

A plan is data: it never says where a credential goes. Every endpoint and the password come from
the inventory the operator names (``--inventory``; a signed plan may name its own), and a plan that
names any other endpoint, server or inventory is refused here, naming the field, with nothing sent
(docs/security.md).
"""

from __future__ import annotations

from pathlib import Path

from compliance.apply.saved_plan import SavedPlan, SavedTarget
from compliance.errors import InputError
from compliance.inventory import Target, load_inventory


def inventory_target(
    source: Path, where: str, saved: SavedTarget, inventory: Path | None, what: str = "plan"
) -> Target:
    """The target as the inventory describes it; refuses a plan (or backup) that names other endpoints.

    ``source`` and ``where`` locate the saved target in its file (``PLAN.json``, ``targets[0]``).
    With ``inventory`` (``--inventory FILE``) the saved file must name that inventory.
    """
    if "\0" in saved.inventory:  # no file has one; the OS calls would raise ValueError, not OSError
        raise InputError(f"{source}: {where}.inventory: not a file name: {_one_line(saved.inventory)}")
    if inventory is not None and Path(saved.inventory).resolve() != inventory.resolve():
        raise InputError(
            f"{source}: {where}.inventory: the {what} says {_one_line(saved.inventory)}, but "
            f"--inventory {inventory} was given; nothing was sent"
        )
    try:
        target = load_inventory(inventory or Path(saved.inventory)).target(saved.name)
    except InputError as exc:
        raise InputError(f"{source}: {where}: {exc}") from None
    said: list[tuple[str, str | None, str | None]] = [
        (f"{where}.exchange_endpoint", saved.exchange_endpoint, target.exchange_endpoint)
    ]
    hosts = {s.name.casefold(): s.host_url for s in target.servers}
    planned = {name.casefold(): (name, url) for name, url in saved.host_endpoints.items()}
    for key in sorted(planned.keys() | hosts.keys()):
        name, url = planned.get(key, (key, None))
        said.append((f"{where}.host_endpoints.{_one_line(name)}", url, hosts.get(key)))
    for field_name, plan_value, inventory_value in said:
        if plan_value != inventory_value:
            raise InputError(
                f"{source}: {field_name}: the {what} says {_said(plan_value)}, the inventory says "
                f"{_said(inventory_value)}; nothing was sent"
            )
    return target


def check_targets(saved: SavedPlan, inventory: Path | None) -> None:
    """Every target of the plan against its inventory, before the first connection of the run.

    The inventory is the one named on the command line. Only a plan whose signature was checked
    may name it instead: an unsigned plan's ``targets[].inventory`` could point at anyone's file.
    """
    if inventory is None and not saved.signed:
        named = sorted({_one_line(t.target.inventory) for t in saved.targets})
        raise InputError(
            f"{saved.path}: give --inventory FILE: endpoints and credentials come only from an inventory you "
            f"name, and this plan is not signed (it names {', '.join(named) or 'no inventory'}); nothing was sent"
        )
    for index, plan in enumerate(saved.targets):
        inventory_target(saved.path, f"targets[{index}]", plan.target, inventory)


def _said(value: str | None) -> str:
    return "no such server" if value is None else _one_line(value)


def _one_line(value: str) -> str:
    """A value from a file, safe in a one-line message: userinfo hidden, control characters escaped."""
    from compliance.inventory import shown_url

    shown = shown_url(value)
    return shown if shown.isprintable() else repr(shown)
