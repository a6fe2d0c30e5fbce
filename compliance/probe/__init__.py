"""Reachability and concurrency probes for the mail protocols UCCX uses.

UCCX and every agent desktop log in to Exchange with one shared mailbox account (two IMAP
sessions per agent). When Exchange's per-user limits are lower than that, logins are refused
(``A1 NO AUTHENTICATE failed.`` in a capture) and the agents' email button goes grey. These
probes reproduce that from the network side and say which limit to compare:

- ``imap``: connect, greeting, CAPABILITY, STARTTLS, login as the UCCX account, SELECT INBOX,
  and optionally N sessions held open at once (``compliance.probe.imap``);
- ``smtp``: greeting, EHLO, STARTTLS, a test message, and N concurrent sessions to spot the
  receive connector's ``421 4.3.2`` (``compliance.probe.smtp``).

Results share one model and three report formats (``compliance.probe.result``).
"""
