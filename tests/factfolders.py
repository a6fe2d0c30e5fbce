"""Fact folders made in the test from the shipped examples: another Exchange version, or a second
server of another version (a coexistence organization), written with the tool's own CLIXML writer."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from compliance import resources
from compliance.facts.clixml_writer import write_clixml
from compliance.facts.offline import read_clixml
from compliance.facts.psobject import PSObj


def _with_version(obj: PSObj, name: str, major: int, minor: int, build: int, revision: int) -> PSObj:
    version = obj.get("AdminDisplayVersion")
    assert isinstance(version, PSObj)
    numbers = {"Major": major, "Minor": minor, "Build": build, "Revision": revision}
    shown = f"Version {major}.{minor} (Build {build}.{revision})"
    new_version = dataclasses.replace(version, to_string=shown, props={**version.props, **numbers})
    props = {**obj.props, "AdminDisplayVersion": new_version}
    for key in ("Name", "Identity"):
        if key in props:
            props[key] = name
    if "Fqdn" in props:
        props["Fqdn"] = f"{name.lower()}.lab.local"
    return dataclasses.replace(obj, to_string=name, props=props)


def version_folder(tmp: Path, scenario: str, version: tuple[int, int, int, int]) -> Path:
    """``scenario`` copied, its one server EX01 reporting another ``AdminDisplayVersion``."""
    folder = tmp / f"{scenario}-as-{'.'.join(map(str, version))}"
    shutil.copytree(resources.scenario_dir(scenario), folder)
    [server] = read_clixml(folder / "GetExchangeServer.xml")
    write_clixml(folder / "GetExchangeServer.xml", [_with_version(server, "EX01", *version)])
    return folder


def coexistence_folder(tmp: Path, scenario: str, name: str, version: tuple[int, int, int, int]) -> Path:
    """``scenario`` (its 2010 server EX01) plus a server ``name`` of ``version`` with EX01's host facts
    and IMAP settings, so each version's part has every per-server fact it checks."""
    folder = tmp / f"{scenario}-with-{name}"
    shutil.copytree(resources.scenario_dir(scenario), folder)
    [ex01] = read_clixml(folder / "GetExchangeServer.xml")
    write_clixml(folder / "GetExchangeServer.xml", [ex01, _with_version(ex01, name, *version)])
    for per_server in folder.glob("*-EX01.xml"):
        shutil.copy(per_server, folder / per_server.name.replace("-EX01.xml", f"-{name}.xml"))
    return folder
