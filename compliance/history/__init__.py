"""The history of audits and applies: SQLite by default, PostgreSQL for many hosts (docs/history.md).

``open_history(location, state_dir=...)`` opens (and migrates) the store; ``audit`` records each
run with ``record_run`` and apply's audit log with ``record_applies``; ``history`` shows
``episodes``; the reports get ``timeline``; notifications compare with ``previous_drift``.
"""

from compliance.history.location import DEFAULT_NAME
from compliance.history.store import Episode, FixingApply, HistoryStore, open_history

__all__ = ["DEFAULT_NAME", "Episode", "FixingApply", "HistoryStore", "open_history"]
