"""How many IMAP connections UCCX needs, and how many agents a number of connections serves.

The one formula, used by the plan's capacity summary (``checks/capacity.py``), by ``probe imap``
(its ``--agents`` and its "room for N agents" advice) and mirrored by the shipped baselines'
``at_least`` templates (``tests/probe/test_sizing.py`` holds them to it). UCCX and every agent
desktop log in with the ONE mailbox account: each agent desktop holds 2 IMAP connections and UCCX
holds its own (an assumption, 4 by default: Cisco does not publish it; docs/baselines.md).
"""

from __future__ import annotations

PER_AGENT = 2  # IMAP connections each agent desktop opens with the shared account
UCCX_SERVER_CONNECTIONS = 4  # the baselines' default of ``uccx_server_connections``

# The checklist's values, the floor of every minimum below.
IMAP_FLOOR = 2400  # MaxConnections, MaxConnectionsPerUser
STORE_FLOOR = 64  # Maximum Allowed Service Sessions Per User ("64 or more", KB 980049)
# Store sessions kept free above what the agents need today, as a fraction of that need (rounded
# up), so the next agents added do not bring event 9646 back. IMAP's floor of 2400 leaves room by
# itself up to 1198 agents; the store's 64 leaves none past 30, so its minimum adds this headroom
# to the need (docs/baselines.md). 100 agents need 204 sessions: the minimum is 255.
STORE_HEADROOM = (1, 4)  # a quarter


def connections_needed(agents: int, own: int = UCCX_SERVER_CONNECTIONS) -> int:
    """IMAP connections ``agents`` agent desktops and UCCX hold at once on the one account."""
    if agents < 0 or own < 0:
        raise ValueError("agents and UCCX's own connections are counts (0 or more)")
    return PER_AGENT * agents + own


def agents_fit(accepted: int, own: int = UCCX_SERVER_CONNECTIONS) -> int:
    """The most agents ``accepted`` connections serve once UCCX's own are taken (never negative).

    The inverse of ``connections_needed``: ``agents_fit(connections_needed(a, o), o) == a``.
    """
    return max(0, (accepted - own) // PER_AGENT)


def imap_minimum(agents: int, own: int = UCCX_SERVER_CONNECTIONS) -> int:
    """The shipped baselines' IMAP MaxConnections / MaxConnectionsPerUser minimum."""
    return max(IMAP_FLOOR, connections_needed(agents, own))


def store_headroom(needed: int) -> int:
    """The sessions kept free above ``needed``: a quarter of it, rounded up."""
    part, whole = STORE_HEADROOM
    return -(-needed * part // whole)


def store_minimum(agents: int, own: int = UCCX_SERVER_CONNECTIONS) -> int:
    """The shipped baselines' store-session minimum: the floor, or the need plus its headroom."""
    needed = connections_needed(agents, own)
    return max(STORE_FLOOR, needed + store_headroom(needed))
