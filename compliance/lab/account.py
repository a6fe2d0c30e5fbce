"""The lab's one user account: the name clients log on with, and the logon names NTLM accepts."""

from __future__ import annotations

LAB_USER = "uccx-audit@lab.local"
LAB_LOGON_NAMES = (LAB_USER, "LAB\\uccx-audit")
