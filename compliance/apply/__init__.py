"""Applying a reviewed plan to live Exchange: saved plans, cmdlet specs, backup, audit, rollback.

The pieces, in the order ``uccx-compliance apply`` uses them:

- ``saved_plan``: the checksummed ``PLAN.json`` that ``plan --out`` writes and ``apply`` reads;
- ``commands``: each ``Change`` as structured cmdlets (name + parameters, never script text),
  grouped into ordered steps, and the inverse cmdlets rollback sends;
- ``workflow``: the run itself; each planned resource's live value is re-read just before anything
  is sent (``compliance.pipeline``, observed by the change's resource kind);
- ``backup`` and ``auditlog``: the prior values (fsynced before the first change) and one JSON
  line per change and outcome;
- ``executor``: sends the steps in order, stops at the first failure, verifies, restarts;
- ``ps1``: the same changes as a reviewable Exchange Management Shell script.

This module stays import-light: the command-line options read their defaults from here.
"""

from pathlib import Path

DEFAULT_BACKUP_DIR = Path(".uccx-compliance/backups")
DEFAULT_AUDIT_LOG = Path(".uccx-compliance/audit.log")
