"""Sign-in and sign-out, recorded as the person's own actions (`account.sign_in`, `account.sign_out`).

Both ways in are covered: the OAuth callback (accounts.views, `method="novacron"`) and the Django
admin's password form (audit.admin_site, `method="password"`). A sign-in that fails is recorded too,
naming the person when the portal knows them (the identity NovaCron gave, the username typed) and with
why it failed; nothing secret is kept. A sign-out that is part of another recorded action (Disconnect)
is that action's row, not a second one.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from audit.models import AuditEntry
from audit.services import entry_record
from audit.trail import DECLARED_ACTIONS

SIGN_IN = "account.sign_in"
SIGN_OUT = "account.sign_out"
DECLARED_ACTIONS.update({SIGN_IN, SIGN_OUT})
Outcome = AuditEntry.Outcome


def signed_in(request: HttpRequest, user: Any, *, method: str) -> AuditEntry:
    return entry_record(
        request=request,
        actor=user,
        action=SIGN_IN,
        object_type="session",
        parameters={"method": method},
        outcome=Outcome.SUCCESS,
    )


def sign_in_refused(
    request: HttpRequest,
    *,
    code: str,
    reason: str,
    method: str,
    user: Any = None,
    label: str = "",
    partner: Any = None,
    outcome: str = Outcome.REFUSED_BY_PORTAL,
    username: str = "",
) -> AuditEntry:
    """A sign-in that did not happen: `user` when the portal knows the person, else `label` names them
    (the email NovaCron gave, the username typed) if anything does."""
    parameters: dict[str, Any] = {"method": method}
    if username:
        parameters["username"] = username[:150]
    return entry_record(
        request=request,
        actor=user,
        actor_label=label or username,
        partner=partner,
        action=SIGN_IN,
        object_type="session",
        parameters=parameters,
        outcome=outcome,
        error_code=code,
        reason=reason,
    )


def signed_out(request: HttpRequest, user: Any, *, method: str, reason: str = "") -> AuditEntry | None:
    """The person's session ended here. Inside an `@audited` request, that request's row says so."""
    if getattr(request, "audit_trail", None) is not None:
        return None
    return entry_record(
        request=request,
        actor=user,
        action=SIGN_OUT,
        object_type="session",
        parameters={"method": method, **({"why": reason} if reason else {})},
        outcome=Outcome.SUCCESS,
    )
