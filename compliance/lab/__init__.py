"""A simulated Exchange 2010 organization on loopback that pypsrp talks to for real (docs/lab.md);
``Fleet`` serves many of them on one port."""

from compliance.lab.account import LAB_USER
from compliance.lab.faults import CmdletFailure, LabFaults
from compliance.lab.fleet import Fleet, OrgSpec
from compliance.lab.server import Lab
from compliance.lab.state import LabState

__all__ = ["LAB_USER", "CmdletFailure", "Fleet", "Lab", "LabFaults", "LabState", "OrgSpec"]
