"""Each planned ``Change`` as structured cmdlets, grouped into ordered steps, and their inverses.

What cmdlet makes a change, and which undoes it, is declared by the change's resource kind
(``compliance.kinds``); this module only orders them. A command is a cmdlet name and its
parameters (``Set-ImapSettings -Server EX01 -MaxConnections 2400``), never script text: the
Exchange endpoint is NoLanguage, and values travel as typed PSRP arguments, so a mailbox named
``x'; Remove-Mailbox`` stays one argument.

Order is what keeps a half-applied run safe. A throttling policy is created, then set (one
``Set-ThrottlingPolicy`` with every setting), and only then assigned to the mailbox; a step that
needs an object an earlier step creates names that step in ``depends_on``. Everything else is
independent and follows the plan's own order (octoDNS-style: deterministic, reviewable).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from compliance.cmdlet import CommandSpec
from compliance.kinds import handler, throttling_policy
from compliance.plan import Change, ChangeKind

# Apply sends changes in this order of kinds (ChangeKind's own order); rollback in the reverse.
_RANK = {kind: rank for rank, kind in enumerate(ChangeKind)}


@dataclass(frozen=True, kw_only=True)
class Step:
    """Commands sent together for one or more changes (``changes`` index the plan's list)."""

    number: int
    kind: ChangeKind
    changes: tuple[int, ...]
    commands: tuple[CommandSpec, ...]
    depends_on: tuple[int, ...] = ()  # steps whose failure means this one is not attempted
    creates: bool = False  # the step creates an object that later steps name
    # The step names an object an earlier step creates: with -WhatIf that object never exists,
    # so a dry run cannot send this step (it would only fail with "couldn't be found").
    needs_created: bool = False


def forward_command(change: Change) -> CommandSpec:
    """The one cmdlet that makes a single change (throttling settings are merged by ``build_steps``)."""
    return handler(change).forward(change)


def inverse_command(change: Change, old: Any) -> CommandSpec | None:
    """The cmdlet that puts ``old`` back; None where removing a created parent undoes it."""
    return handler(change).inverse(change, old)


def build_steps(changes: Sequence[Change]) -> list[Step]:
    """The changes as ordered steps. Raises ``ApplyError`` for a change no cmdlet can make."""
    for change in changes:
        handler(change)  # refuse an unknown kind before any step is built
    indexed = sorted(enumerate(changes), key=lambda pair: (_RANK[pair[1].kind], pair[0]))
    steps: list[Step] = []
    creating: dict[str, int] = {}  # policy name (casefolded) -> step number of New-ThrottlingPolicy
    setting: dict[str, int] = {}  # policy name (casefolded) -> step number of Set-ThrottlingPolicy
    policy_settings: dict[str, list[int]] = {}
    for index, change in indexed:
        if change.kind is ChangeKind.THROTTLING_SETTING:
            policy_settings.setdefault(change.identity.casefold(), []).append(index)
    for index, change in indexed:
        kind, number, key = change.kind, len(steps) + 1, change.identity.casefold()
        if kind is ChangeKind.THROTTLING_POLICY:
            creating[key] = number
            steps.append(
                Step(number=number, kind=kind, changes=(index,), commands=(forward_command(change),), creates=True)
            )
        elif kind is ChangeKind.THROTTLING_SETTING:
            if key in setting:
                continue  # merged into the policy's one Set-ThrottlingPolicy
            members = tuple(policy_settings[key])
            setting[key] = number
            merged = throttling_policy.KIND.merged_set(change.identity, [changes[i] for i in members])
            after: tuple[int, ...] = (creating[key],) if key in creating else ()
            steps.append(
                Step(
                    number=number,
                    kind=kind,
                    changes=members,
                    commands=(merged,),
                    depends_on=after,
                    needs_created=key in creating,
                )
            )
        elif kind is ChangeKind.MAILBOX_POLICY:
            policy = str(change.desired).casefold()
            after = tuple(n for n in (creating.get(policy), setting.get(policy)) if n is not None)
            steps.append(
                Step(
                    number=number,
                    kind=kind,
                    changes=(index,),
                    commands=(forward_command(change),),
                    depends_on=after,
                    needs_created=policy in creating,
                )
            )
        else:
            steps.append(Step(number=number, kind=kind, changes=(index,), commands=(forward_command(change),)))
    return steps


def rollback_order(changes: Sequence[Change]) -> list[int]:
    """Indices in the reverse of apply's order: unassign a policy before removing it."""
    return [i for i, _ in sorted(enumerate(changes), key=lambda p: (_RANK[p[1].kind], p[0]), reverse=True)]
