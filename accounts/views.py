"""Sign in with NovaCron, step-up consent, the account page, sign out and disconnect.

Views are thin: the OAuth dance is Authlib's, the writes are in accounts.services.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import MismatchingStateError
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from joserfc.errors import JoseError
from novacron.errors import NovaCronError
from requests import RequestException

from accounts import oauth, roles, scopes, services
from accounts.forms import TimeZoneForm
from accounts.http import SignedInRequest
from audit import sessions
from audit.models import AuditEntry
from audit.services import entry_record
from audit.trail import DECLARED_ACTIONS, audited, not_a_write, not_audited, note

logger = logging.getLogger(__name__)

# The session remembers, per OAuth `state`, why the flow started and where to go afterwards.
FLOW_SESSION_KEY = "novacron_flows"
DECLARED_ACTIONS.add("scope.grant")
MAX_PENDING_FLOWS = 5


def home_url() -> str:
    """Where a signed-in person lands by default: the overview, or the account page before it exists."""
    try:
        return reverse(settings.LOGIN_REDIRECT_URL)
    except NoReverseMatch:
        return reverse("accounts:account")


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """`candidate` when it is a path of this site, else the default landing page."""
    if (
        candidate
        and candidate.startswith("/")
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return home_url()


def _remember_flow(request: HttpRequest, state: str, flow: dict[str, Any]) -> None:
    flows = dict(request.session.get(FLOW_SESSION_KEY, {}))
    flows[state] = flow
    # Keep only the latest few: abandoned tabs must not grow the session forever.
    request.session[FLOW_SESSION_KEY] = dict(list(flows.items())[-MAX_PENDING_FLOWS:])


def _take_flow(request: HttpRequest, state: str | None) -> dict[str, Any] | None:
    flows = dict(request.session.get(FLOW_SESSION_KEY, {}))
    flow = flows.pop(state, None) if state else None
    request.session[FLOW_SESSION_KEY] = flows
    return flow


def _start(request: HttpRequest, *, requested: list[str], flow: dict[str, Any]) -> HttpResponse:
    """Send the browser to NovaCron's authorize endpoint (PKCE S256, state and nonce by Authlib),
    asking for `offline_access` too when NovaCron offers it."""
    state = secrets.token_urlsafe(32)
    try:
        requested, parameters = oauth.authorization_request(requested)
        # Authlib ships no types; its Django client answers with a redirect.
        response: HttpResponse = oauth.novacron_app().authorize_redirect(
            request, oauth.redirect_uri(), scope=" ".join(requested), state=state, **parameters
        )
    except (RequestException, ValueError, RuntimeError, NovaCronError) as error:
        logger.warning("could not start sign-in with NovaCron: %s", error)
        return _failure(request, "NovaCron's sign-in service cannot be reached right now.", status=503)
    _remember_flow(request, state, {**flow, "requested": requested})
    return response


def _failure(request: HttpRequest, reason: str, *, status: int = 400, next_path: str = "") -> HttpResponse:
    return render(
        request, "accounts/sign_in_failed.html", {"reason": reason, "next": next_path}, status=status
    )


@not_audited("starts the sign-in at NovaCron: nothing is written until it comes back")
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """The sign-in page (GET) and the start of the flow (POST from its button)."""
    next_path = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "POST":
        return _start(
            request,
            requested=list(settings.NOVACRON_LOGIN_SCOPES),
            flow={"intent": "sign_in", "next": next_path},
        )
    if request.user.is_authenticated:
        return HttpResponseRedirect(home_url() if next_path.startswith(request.path) else next_path)
    return render(request, "accounts/login.html", {"next": next_path})


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """NovaCron sends the browser back here with a code (or an error) and our state."""
    state = request.GET.get("state")
    flow = _take_flow(request, state)
    next_path = flow["next"] if flow else ""
    app = oauth.novacron_app()
    if flow is None:
        # Unknown, forged or already used state: clear Authlib's copy too, and stop here.
        app.framework.clear_state_data(request.session, state)
        _record_refusal(request, flow, "expired_state", "the sign-in link had expired or was already used")
        return _failure(request, "This sign-in link has expired or was already used.")
    try:
        token = app.authorize_access_token(request)
    except MismatchingStateError:
        _record_refusal(request, flow, "expired_state", "the sign-in link had expired or was already used")
        return _failure(request, "This sign-in link has expired or was already used.", next_path=next_path)
    except AuthlibBaseError as error:
        return _oauth_error(request, error, flow)
    except JoseError as error:
        # The ID token's signature, issuer, audience, expiry or nonce did not check out.
        logger.warning("NovaCron ID token rejected: %s", error)
        _record_refusal(request, flow, "invalid_id_token", "NovaCron's ID token did not verify")
        return _failure(request, "NovaCron's answer could not be verified.", next_path=next_path)
    except (RequestException, NovaCronError) as error:
        logger.warning("NovaCron token exchange failed: %s", error)
        _record_refusal(
            request,
            flow,
            type(error).__name__,
            "NovaCron's token endpoint did not answer",
            outcome=AuditEntry.Outcome.FAILED,
        )
        return _failure(
            request,
            "NovaCron's sign-in service cannot be reached right now.",
            status=503,
            next_path=next_path,
        )

    try:
        claims = services.Claims.from_mapping(oauth.identity_claims(token))
    except (ValueError, AuthlibBaseError, RequestException, NovaCronError) as error:
        logger.warning("NovaCron gave no usable identity: %s", error)
        _record_refusal(request, flow, "no_identity", "NovaCron gave no usable identity")
        return _failure(request, "NovaCron did not tell us who you are.", next_path=next_path)

    if flow["intent"] == "grant":
        return _finish_grant(request, claims, token, flow)
    try:
        user = services.user_sign_in(claims=claims)
    except services.UnknownPartner:
        _record_refusal(
            request,
            flow,
            "unknown_partner",
            f"partner {claims.partner_id or '(none)'} is not set up in this portal",
            label=claims.email or claims.sub,
        )
        return render(request, "accounts/unknown_partner.html", {"claims": claims}, status=403)
    services.token_store(user=user, token=token, requested_scopes=flow["requested"])
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    sessions.signed_in(request, user, method="novacron")
    return HttpResponseRedirect(safe_next(request, next_path))


def _record_refusal(
    request: HttpRequest,
    flow: dict[str, Any] | None,
    code: str,
    reason: str,
    *,
    outcome: str = AuditEntry.Outcome.REFUSED_BY_PORTAL,
    label: str = "",
) -> None:
    """A callback that signs nobody in: the sign-in's failure, or (a step-up) the grant's."""
    if flow is not None and flow["intent"] == "grant":
        if request.user.is_authenticated:
            _audit_grant(request, flow["scope"], refused=code, reason=reason, outcome=outcome)
        return
    sessions.sign_in_refused(
        request, code=code, reason=reason, method="novacron", label=label, outcome=outcome
    )


def _oauth_error(request: HttpRequest, error: AuthlibBaseError, flow: dict[str, Any]) -> HttpResponse:
    code = getattr(error, "error", "") or ""
    if code == "access_denied":
        if flow["intent"] == "grant" and request.user.is_authenticated:
            _audit_grant(
                request, flow["scope"], refused="access_denied", reason="declined at NovaCron's consent"
            )
            messages.info(request, "Access was not granted; nothing changed.")
            return HttpResponseRedirect(safe_next(request, flow["next"]))
        reason = "You declined access on NovaCron's consent page, so you are not signed in."
        recorded = "declined at NovaCron's consent page"
    elif code == "invalid_grant":
        reason = "NovaCron did not accept this sign-in (the code or its PKCE verifier did not match)."
        recorded = "NovaCron refused the code (or its PKCE verifier)"
    else:
        reason = "NovaCron could not complete the sign-in."
        recorded = "NovaCron could not complete the sign-in"
    logger.info("sign-in with NovaCron failed: %s", error)
    _record_refusal(
        request, flow, code or "oauth_error", recorded, outcome=AuditEntry.Outcome.REFUSED_BY_NOVACRON
    )
    return _failure(request, reason, next_path=flow["next"])


def _finish_grant(
    request: HttpRequest, claims: services.Claims, token: dict[str, Any], flow: dict[str, Any]
) -> HttpResponse:
    user = request.user
    if not user.is_authenticated or user.novacron_sub != claims.sub:
        if user.is_authenticated:
            _audit_grant(
                request, flow["scope"], refused="another_user", reason="approved as another NovaCron user"
            )
        return _failure(
            request,
            "You approved access as a different NovaCron user than the one signed in "
            "here. Sign out and sign in again as that user.",
        )
    services.token_store(user=user, token=token, requested_scopes=flow["requested"])
    granted = flow["scope"] in scopes.granted_scopes(user)
    _audit_grant(request, flow["scope"], refused="" if granted else "not_granted", reason="")
    if granted:
        messages.success(
            request, f"Access granted: {scopes.GRANTABLE_SCOPES.get(flow['scope'], flow['scope'])}."
        )
    else:
        messages.warning(request, f"NovaCron did not grant “{flow['scope']}” (your role may not allow it).")
    return HttpResponseRedirect(safe_next(request, flow["next"]))


def _audit_grant(
    request: HttpRequest, scope: str, *, refused: str, reason: str, outcome: str | None = None
) -> None:
    """A scope grant ends in the callback (a GET), so it is recorded here rather than by `@audited`."""
    outcomes = AuditEntry.Outcome
    if outcome is not None:
        result = outcome
    elif refused == "another_user":
        result = outcomes.REFUSED_BY_PORTAL
    else:
        result = outcomes.REFUSED_BY_NOVACRON if refused else outcomes.SUCCESS
    entry_record(
        request=request,
        actor=request.user,
        action="scope.grant",
        object_type="scope",
        object_id=scope,
        object_link=reverse("accounts:account"),
        outcome=result,
        error_code=refused,
        reason=reason or ("NovaCron did not grant it" if refused else ""),
    )


@login_required
@require_GET
def grant(request: SignedInRequest) -> HttpResponse:
    """Step-up consent: ask NovaCron for one more scope, on top of those already granted."""
    scope = request.GET.get("scope", "")
    next_path = safe_next(request, request.GET.get("next"))
    if not scopes.is_grantable(scope):
        return _failure(request, f"“{scope}” is not a permission this portal asks for.", next_path=next_path)
    if scopes.has_scope(request.user, scope):
        return HttpResponseRedirect(next_path)
    current = set(scopes.granted_scopes(request.user)) | set(settings.NOVACRON_LOGIN_SCOPES)
    return _start(
        request,
        requested=sorted(current | {scope}),
        flow={"intent": "grant", "scope": scope, "next": next_path},
    )


@audited(sessions.SIGN_OUT, object_type="session")
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    note(request, method="novacron")
    logout(request)
    messages.info(request, "You are signed out.")
    return HttpResponseRedirect(reverse("accounts:login"))


def _account_page(
    request: SignedInRequest, time_zone_form: TimeZoneForm, *, status: int = 200
) -> HttpResponse:
    token = scopes.user_token(request.user)
    missing = scopes.missing_scopes(request.user)
    # A grant the role can't use would only lead to a refusal later: list it apart, without a link.
    return render(
        request,
        "accounts/account.html",
        {
            "token": token,
            "granted": scopes.granted_scopes(request.user),
            "missing": [scope for scope in missing if roles.can(request.user, scope)],
            "beyond_role": [scope for scope in missing if not roles.can(request.user, scope)],
            "grantable": scopes.GRANTABLE_SCOPES,
            "time_zone_form": time_zone_form,
        },
        status=status,
    )


@login_required
@require_GET
def account(request: SignedInRequest) -> HttpResponse:
    return _account_page(request, TimeZoneForm(initial={"time_zone": request.user.time_zone or "UTC"}))


@audited("account.time_zone", object_type="account", parameters=("time_zone",))
@login_required
@require_POST
def time_zone_update(request: SignedInRequest) -> HttpResponse:
    """The person chooses the zone every page shows times in."""
    form = TimeZoneForm(request.POST)
    if not form.is_valid():
        return _account_page(request, form, status=400)
    services.user_time_zone_set(user=request.user, time_zone=form.cleaned_data["time_zone"])
    messages.success(request, f"Times are now shown in {form.cleaned_data['time_zone']}.")
    return HttpResponseRedirect(reverse("accounts:account"))


@audited("account.time_zone_detect", object_type="account", parameters=("time_zone",))
@login_required
@require_POST
def time_zone_detect(request: SignedInRequest) -> HttpResponse:
    """The browser's own zone, posted once by static/js/time-zone.js while the person has none:
    stored only then, never over a zone already set."""
    form = TimeZoneForm(request.POST)
    if not form.is_valid():
        return JsonResponse(
            {
                "error": {
                    "code": "validation_error",
                    "message": "Not a time zone of the IANA database.",
                    "details": {"time_zone": form.errors["time_zone"]},
                }
            },
            status=400,
        )
    stored = services.user_time_zone_detected(user=request.user, time_zone=form.cleaned_data["time_zone"])
    if not stored:
        not_a_write(request)  # the person's zone was already set: nothing changed
    return JsonResponse({"time_zone": request.user.time_zone, "stored": stored})


@audited("account.disconnect", object_type="account")
@login_required
@require_http_methods(["GET", "POST"])
def disconnect(request: SignedInRequest) -> HttpResponse:
    """Revoke the portal's access at NovaCron, forget the tokens and sign out; a GET asks first.

    The question is a page of its own, so it is asked without JavaScript too (the account page links here).
    """
    if request.method == "GET":
        return render(request, "accounts/disconnect_confirm.html")
    revoked = services.user_disconnect(user=request.user)
    note(request, revoked_at_novacron=revoked)
    logout(request)
    if revoked:
        messages.success(
            request, "Disconnected: NovaCron revoked the portal's access and you are signed out."
        )
    else:
        messages.warning(
            request,
            "You are signed out and the portal forgot your tokens, but NovaCron could "
            "not be reached to revoke them; they expire on their own.",
        )
    return HttpResponseRedirect(reverse("accounts:login"))
