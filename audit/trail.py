"""`@audited`: every POST view of the portal carries it, and each POST it sees writes one audit row.

The decorator names the action, the object and the parameters that matter; the outcome is worked out
from what happened, so a view needs no audit code of its own in the common cases:

- an exception out of the view: NovaCron's error (refused, with its code and request id; or failed when
  NovaCron did not answer), a 404 or 403 (refused by the portal), anything else (failed);
- NovaCron refused the request's write call, even when the view caught the error and showed it:
  `observe_novacron_response` is a response hook on every person's NovaCron session (accounts.services);
- an answer of 400 or more: refused by the portal (the form shown again, the role's 403 page);
- otherwise success.

A view that refuses with a redirect or a 200 says so with `refuse(request, reason)`. Views a person
cannot write through say why with `@not_audited(reason)`; tests/security checks every POST route has
one or the other.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import requests
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from novacron import errors as novacron_errors

from audit.models import AuditEntry
from audit.services import entry_record
from lib.logs import SECRET_NAMES

View = Callable[..., HttpResponse]
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Every action a decorator declares, for the audit page's filter.
DECLARED_ACTIONS: set[str] = set()
Outcome = AuditEntry.Outcome


@dataclass
class Trail:
    """What one request's audit row will say, filled in as the request goes."""

    action: str
    object_type: str = ""
    object_id: str = ""
    object_link: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    outcome: str = Outcome.SUCCESS
    error_code: str = ""
    novacron_request_id: str = ""
    reason: str = ""
    # NovaCron's refusal of a write call seen during the request (the view may have caught it).
    novacron_refusal: novacron_errors.NovaCronError | None = None
    portal_refusal: str = ""
    read_only: bool = False  # the POST turned out to change nothing (a form's "preview again")

    def refused_by_novacron(self, error: novacron_errors.NovaCronError) -> None:
        self.outcome = Outcome.FAILED if _is_no_answer(error) else Outcome.REFUSED_BY_NOVACRON
        self.error_code = error.code or (f"http_{error.status}" if error.status else type(error).__name__)
        self.novacron_request_id = error.request_id or ""
        self.reason = (error.message or str(error))[:500]

    def refused_by_portal(self, reason: str, code: str = "") -> None:
        self.outcome = Outcome.REFUSED_BY_PORTAL
        self.error_code = code
        self.reason = reason[:500]


_current: ContextVar[Trail | None] = ContextVar("audit_trail", default=None)


def _is_no_answer(error: novacron_errors.NovaCronError) -> bool:
    return isinstance(error, novacron_errors.APIConnectionError | novacron_errors.APITimeoutError) or (
        error.status is not None and error.status >= 500
    )


def observe_novacron_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """A `requests` response hook: remembers NovaCron's answer to the request's last write call."""
    trail = _current.get()
    if trail is None or (response.request.method or "GET") == "GET":
        return
    if response.status_code < 400:
        trail.novacron_refusal = None  # a retry that went through
    else:
        trail.novacron_refusal = novacron_errors.error_from_response(response)


def refuse(request: HttpRequest, reason: str, code: str = "") -> None:
    """The view refused although it answers with a redirect or a page: say why (no secrets)."""
    trail: Trail | None = getattr(request, "audit_trail", None)
    if trail is not None:
        trail.portal_refusal = reason or "refused"
        trail.error_code = code


def not_a_write(request: HttpRequest) -> None:
    """This POST only shows something (a preview): it changes nothing, so it is not recorded."""
    trail: Trail | None = getattr(request, "audit_trail", None)
    if trail is not None:
        trail.read_only = True


def note(request: HttpRequest, **parameters: Any) -> None:
    """Add parameters the view only knows at the end (never a secret)."""
    trail: Trail | None = getattr(request, "audit_trail", None)
    if trail is not None:
        trail.parameters.update({k: v for k, v in parameters.items() if not _is_secret(k)})


def identify(request: HttpRequest, object_id: str) -> None:
    """Name the object a create made, when the page it redirects to does not carry its id."""
    trail: Trail | None = getattr(request, "audit_trail", None)
    if trail is not None:
        trail.object_id = object_id


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_NAMES or any(word in lowered for word in ("secret", "token", "password"))


def audited(
    action: str,
    *,
    object_type: str = "",
    object_id: str = "",
    link: str = "",
    parameters: Iterable[str] = (),
) -> Callable[[View], View]:
    """Record every write request of this view: `object_id` names the URL argument holding the
    object's id (else the id is read from where a success redirects to), `link` the URL name of the
    object's page, `parameters` the form fields worth keeping."""
    kept = tuple(parameters)
    if secret := [name for name in kept if _is_secret(name)]:
        raise ValueError(f"{action}: parameters {secret} look like secrets; the audit log never keeps them")
    DECLARED_ACTIONS.add(action)

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if request.method not in WRITE_METHODS or not user.is_authenticated:
                # Reads write nothing; a visitor who is not signed in is sent to sign in first.
                return view(request, *args, **kwargs)
            trail = Trail(action=action, object_type=object_type, object_id=str(kwargs.get(object_id, "")))
            # The other ids of the address (a delivery's subscription), then the declared form fields.
            trail.parameters = {name: str(value) for name, value in kwargs.items() if name != object_id}
            trail.parameters.update(
                {name: _form_value(request, name) for name in kept if name in request.POST}
            )
            request.audit_trail = trail  # type: ignore[attr-defined]
            token = _current.set(trail)
            response: HttpResponse | None = None
            try:
                response = view(request, *args, **kwargs)
            except novacron_errors.NovaCronError as error:
                trail.refused_by_novacron(error)
                raise
            except Http404:
                trail.refused_by_portal("not found, or not in your organisation", "not_found")
                raise
            except PermissionDenied:
                trail.refused_by_portal("permission denied", "forbidden")
                raise
            except Exception as error:
                trail.outcome, trail.error_code = Outcome.FAILED, type(error).__name__
                raise
            else:
                _conclude(trail, response, object_id)
                return response
            finally:
                _current.reset(token)
                if (response is None or response.status_code != 405) and not trail.read_only:
                    _write(request, user, trail, link)

        wrapper.audit_action = action  # type: ignore[attr-defined]
        wrapper.audit_object_argument = object_id  # type: ignore[attr-defined]
        return wrapper

    return decorator


def not_audited(reason: str) -> Callable[[View], View]:
    """Mark a POST view that is no person's write (NovaCron's webhook receiver, starting a sign-in)."""

    def decorator(view: View) -> View:
        view.audit_exempt = reason  # type: ignore[attr-defined]
        return view

    return decorator


def _form_value(request: HttpRequest, name: str) -> Any:
    values = request.POST.getlist(name)
    return values[0][:200] if len(values) == 1 else [value[:200] for value in values]


def _conclude(trail: Trail, response: HttpResponse, object_id: str) -> None:
    if trail.novacron_refusal is not None:
        trail.refused_by_novacron(trail.novacron_refusal)
    elif trail.portal_refusal:
        trail.refused_by_portal(trail.portal_refusal, trail.error_code)
    elif response.status_code >= 400:
        code = {403: "forbidden", 404: "not_found", 409: "conflict"}.get(response.status_code, "invalid")
        trail.refused_by_portal(f"answered {response.status_code}", code)
    elif not trail.object_id and object_id:
        # A create: the new object's id is in the address its page is at.
        location = response.get("HX-Redirect") or response.get("Location") or ""
        with contextlib.suppress(Resolver404):
            trail.object_id = str(resolve(urlparse(location).path).kwargs.get(object_id, ""))


def _write(request: HttpRequest, user: Any, trail: Trail, link: str) -> None:
    object_link = ""
    if link:
        # The object's page, or (a create whose new id is unknown, a delete) the list it belongs to.
        with contextlib.suppress(NoReverseMatch):
            object_link = reverse(link, args=[trail.object_id]) if trail.object_id else reverse(link)
    entry_record(
        request=request,
        actor=user,
        action=trail.action,
        object_type=trail.object_type,
        object_id=trail.object_id,
        object_link=object_link,
        parameters=trail.parameters,
        outcome=trail.outcome,
        error_code=trail.error_code,
        novacron_request_id=trail.novacron_request_id,
        reason=trail.reason,
    )
