"""A tiny runner for the composite action, doing what a GitHub runner does with its steps.

GitHub Actions cannot run here, so the tests run ``action.yml`` themselves: each ``run:`` step with
``bash --noprofile --norc -eo pipefail`` (what ``shell: bash`` means on a runner), in order, with
``GITHUB_OUTPUT``, ``GITHUB_ENV`` and ``GITHUB_STEP_SUMMARY`` as files; a failed step ends the job
and skips the rest, as without ``if: always()``. A ``uses:`` step is recorded with its resolved
``with:`` (the artifact upload cannot run offline) for the test to check.

Expressions: only the forms the action uses are understood, and any other is an error, so the
action cannot grow one that this runner would get wrong silently:

* ``${{ inputs.NAME }}`` (its default when not given; an undeclared input is an error),
* ``${{ github.action_path }}``,
* ``${{ steps.ID.outputs.NAME }}`` ('' when unset, as on GitHub),
* ``if: inputs.NAME == 'text'`` or ``!=``, bare or inside ``${{ }}``.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_INPUT = re.compile(rf"inputs\.({_NAME})")
_STEP_OUTPUT = re.compile(rf"steps\.({_NAME})\.outputs\.({_NAME})")
_CONDITION = re.compile(rf"inputs\.({_NAME})\s*(==|!=)\s*'([^']*)'")
BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]


class UnsupportedExpression(ValueError):
    pass


@dataclass
class StepRun:
    name: str
    id: str | None
    returncode: int
    stdout: str
    stderr: str


@dataclass
class JobRun:
    steps: list[StepRun] = field(default_factory=list)
    uses: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (action@ref, resolved with:)
    skipped: list[str] = field(default_factory=list)  # steps whose ``if:`` was false
    outputs: dict[str, str] = field(default_factory=dict)  # the action's outputs, resolved
    summary: str = ""

    @property
    def failed(self) -> bool:
        return any(s.returncode != 0 for s in self.steps)


def load(path: Path) -> dict[str, Any]:
    action: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return action


def expressions(action: dict[str, Any]) -> list[str]:
    """Every ``${{ }}`` and ``if:`` expression in the action, as written."""
    found = _EXPR.findall(yaml.safe_dump(action, width=10_000))
    found += [str(s["if"]) for s in action["runs"]["steps"] if "if" in s]
    return found


def run_action(
    action_yml: Path,
    inputs: dict[str, str],
    *,
    workspace: Path,
    env: dict[str, str],
) -> JobRun:
    action = load(action_yml)
    declared: dict[str, Any] = action.get("inputs") or {}
    unknown = set(inputs) - set(declared)
    if unknown:
        raise ValueError(f"inputs not declared by the action: {sorted(unknown)}")
    values = {name: str(inputs.get(name, spec.get("default", ""))) for name, spec in declared.items()}
    step_outputs: dict[str, dict[str, str]] = {}
    files = workspace / ".runner"
    files.mkdir(parents=True, exist_ok=True)
    summary = files / "step_summary.md"
    summary.touch()
    job_env = dict(env)

    def substitute(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            expr = match.group(1)
            if m := _INPUT.fullmatch(expr):
                if m.group(1) not in values:
                    raise UnsupportedExpression(f"input {m.group(1)!r} is not declared")
                return values[m.group(1)]
            if expr == "github.action_path":
                return str(action_yml.parent)
            if m := _STEP_OUTPUT.fullmatch(expr):
                return step_outputs.get(m.group(1), {}).get(m.group(2), "")
            raise UnsupportedExpression(f"expression not understood by the test runner: {expr!r}")

        return _EXPR.sub(one, text)

    def condition(text: str) -> bool:
        inner = m.group(1) if (m := _EXPR.fullmatch(text.strip())) else text.strip()
        if not (c := _CONDITION.fullmatch(inner)):
            raise UnsupportedExpression(f"if: not understood by the test runner: {text!r}")
        if c.group(1) not in values:
            raise UnsupportedExpression(f"input {c.group(1)!r} is not declared")
        return (values[c.group(1)] == c.group(3)) == (c.group(2) == "==")

    job = JobRun()
    for index, step in enumerate(action["runs"]["steps"]):
        name = step.get("name", f"step {index}")
        if "if" in step and not condition(str(step["if"])):
            job.skipped.append(name)
            continue
        if "uses" in step:
            job.uses.append((step["uses"], {k: substitute(str(v)) for k, v in (step.get("with") or {}).items()}))
            continue
        output = files / f"output-{index}"
        env_file = files / f"env-{index}"
        output.touch()
        env_file.touch()
        script = files / f"step-{index}.sh"
        script.write_text(substitute(step["run"]), encoding="utf-8")
        step_env = {
            **job_env,
            **{k: substitute(str(v)) for k, v in (step.get("env") or {}).items()},
            "GITHUB_OUTPUT": str(output),
            "GITHUB_ENV": str(env_file),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_ACTION_PATH": str(action_yml.parent),
        }
        done = subprocess.run(
            [*BASH, str(script)], cwd=workspace, env=step_env, capture_output=True, text=True, timeout=600
        )
        job.steps.append(StepRun(name, step.get("id"), done.returncode, done.stdout, done.stderr))
        if step.get("id"):
            step_outputs[step["id"]] = parse_commands_file(output.read_text(encoding="utf-8"))
        job_env.update(parse_commands_file(env_file.read_text(encoding="utf-8")))
        if done.returncode != 0:
            break  # a failed step fails the job; later steps are skipped
    job.outputs = {name: substitute(str(spec["value"])) for name, spec in (action.get("outputs") or {}).items()}
    job.summary = summary.read_text(encoding="utf-8")
    return job


def parse_commands_file(text: str) -> dict[str, str]:
    """``GITHUB_OUTPUT``/``GITHUB_ENV`` lines: ``name=value``, or ``name<<DELIM`` ... ``DELIM``."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            for more in lines:
                if more == delimiter:
                    break
                body.append(more)
            else:
                raise ValueError(f"{name}: no closing {delimiter!r}")
            values[name] = "\n".join(body)
        elif line:
            name, _, value = line.partition("=")
            values[name] = value
    return values


def path_lines(value: str) -> list[str]:
    """An upload-artifact ``path:`` input: one path per non-empty line."""
    return [line.strip() for line in value.splitlines() if line.strip()]


def environ_without_github() -> dict[str, str]:
    """This process's environment minus any GITHUB_* a CI runner set, so the test's files win."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
