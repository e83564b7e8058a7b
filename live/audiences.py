"""Who of a partner receives a live event: the audiences an event names and the ones a viewer holds.

An event names one audience or several (space-separated); a viewer receives it when they hold any:

- `EVERYONE`: every signed-in person of the partner;
- an action of `accounts.roles` (e.g. `partner:admin`): those whose role allows it, the same rule as
  the page the fragment belongs to (the received-webhooks log goes to those who may open it);
- a controls audience (`controls_audience`): a fragment carrying controls (a migration's Cancel, a
  VM's Start/Stop/Delete/Migrate…) is rendered once per variant of the controls a person may use,
  and each viewer holds exactly one of them, so nobody receives a control they may not use and
  nothing relies on CSS to hide it (`live.services.publish_with_controls`).

A control is usable when the role allows the action and the token was granted its scope: the rule
the pages apply (`<body data-can-migrate>`), and the server checks every action again.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations
from typing import Any

from accounts.roles import ACTIONS, MIGRATION_EXECUTE, VM_WRITE, can
from accounts.scopes import has_scope
from live.models import EVERYONE

# The actions whose controls a published fragment may carry.
CONTROL_ACTIONS: tuple[str, ...] = (MIGRATION_EXECUTE, VM_WRITE)
_CONTROLS_PREFIX = "controls:"

# Every combination of usable controls, hence every variant a fragment with controls is rendered in.
CONTROL_VARIANTS: tuple[frozenset[str], ...] = tuple(
    frozenset(chosen)
    for size in range(len(CONTROL_ACTIONS) + 1)
    for chosen in combinations(CONTROL_ACTIONS, size)
)


def usable_controls(user: Any) -> frozenset[str]:
    """The control actions this person may use: the role allows it and the token holds its scope."""
    return frozenset(action for action in CONTROL_ACTIONS if can(user, action) and has_scope(user, action))


def controls_audience(usable: Iterable[str]) -> str:
    """The audience of the people who may use exactly these controls (e.g. `controls:vm:write`)."""
    chosen = frozenset(usable)
    if not chosen <= frozenset(CONTROL_ACTIONS):
        raise ValueError(f"not control actions: {sorted(chosen - frozenset(CONTROL_ACTIONS))}")
    return _CONTROLS_PREFIX + ("+".join(sorted(chosen)) or "none")


_CONTROLS_AUDIENCES = frozenset(controls_audience(usable) for usable in CONTROL_VARIANTS)
KNOWN_AUDIENCES: frozenset[str] = frozenset({EVERYONE, *ACTIONS, *_CONTROLS_AUDIENCES})


def event_audiences(audience: str) -> frozenset[str]:
    """The audiences an event's `audience` field names."""
    return frozenset(audience.split())


def check_audience(audience: str) -> None:
    """Refuse an audience nobody holds: a typo would silently hide the fragment from everyone."""
    named = event_audiences(audience)
    unknown = named - KNOWN_AUDIENCES
    if not named or unknown:
        raise ValueError(f"unknown audience {audience!r}; expected some of {sorted(KNOWN_AUDIENCES)}")


def viewer_audiences(user: Any) -> frozenset[str]:
    """The audiences whose events the user may receive: everyone's, each action its role allows, and
    the one variant of the controls it may use.

    Computed when the stream opens and again every `live.streams.AUDIENCE_RECHECK_SECONDS`, so a
    changed role or a granted scope reaches an open stream without a reconnect.
    """
    if (
        user is None
        or not getattr(user, "is_authenticated", False)
        or getattr(user, "partner_id", None) is None
    ):
        return frozenset()
    roles = {action for action in ACTIONS if can(user, action)}
    return frozenset({EVERYONE, *roles, controls_audience(usable_controls(user))})
