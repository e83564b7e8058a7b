"""The Django admin, recorded: every add, change, delete and action made through it writes an audit row.

`audit.admin_apps.AuditedAdminConfig` replaces `django.contrib.admin` in INSTALLED_APPS (Django's way of giving the
default `admin.site` another class), so every model registered there — the portal's, Django's own and
any added later — goes through `AuditedAdminSite.admin_view`, superusers included. The rows come from
the LogEntry rows the admin writes for each change (one audit row per object), or, when nothing was
written, from the refusal: a 403, a 404, or a form shown again with its errors.

Changelist actions other than Django's delete (which writes LogEntry rows) write none, so every
registered ModelAdmin gets `AuditedActions` mixed in at registration: each action it runs is one
`admin.action` row per partner whose objects it touched. The password sign-in and sign-out of the
admin are recorded as the person's `account.sign_in` / `account.sign_out` (audit.sessions).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.admin import AdminSite, ModelAdmin
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.db.models.signals import pre_delete
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse

from audit import sessions
from audit.models import AuditEntry
from audit.services import entry_record
from partners.models import Partner

ACTION_OF_FLAG = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}
ACTION_OF_VIEW = {
    "add_view": "admin.add",
    "change_view": "admin.change",
    "changelist_view": "admin.change",
    "delete_view": "admin.delete",
    "user_change_password": "admin.change",
}
ADMIN_ACTION = "admin.action"
# How many object ids one action's row names (the count is always there).
ACTION_IDS_KEPT = 50
# Objects deleted during an admin request: (model label, pk) -> the pk of the partner they belonged to
# (the partner itself may be what is deleted: once it is gone, its instance has no pk).
_deleted_partners: ContextVar[dict[tuple[str, str], Any] | None] = ContextVar(
    "audit_admin_deleted", default=None
)


def partner_of(obj: Model | None) -> Any:
    """The partner an object belongs to: itself, its `partner`, or a person's partner."""
    if obj is None:
        return None
    if obj._meta.label == "partners.Partner":
        return obj
    return getattr(obj, "partner", None) if hasattr(obj, "partner_id") else None


def _remember_deleted(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    deleted = _deleted_partners.get()
    if deleted is not None:
        deleted[(instance._meta.label_lower, str(instance.pk))] = getattr(partner_of(instance), "pk", None)


pre_delete.connect(_remember_deleted, dispatch_uid="audit.admin_site.remember_deleted")


@contextmanager
def _watching_deletions() -> Iterator[dict[tuple[str, str], Any]]:
    deleted: dict[tuple[str, str], Any] = {}
    token = _deleted_partners.set(deleted)
    try:
        yield deleted
    finally:
        _deleted_partners.reset(token)


# Set while an admin request runs a changelist action: whether the action ran (it may be refused first).
_action_ran: ContextVar[list[bool] | None] = ContextVar("audit_admin_action_ran", default=None)


def _last_log_entry(request: HttpRequest) -> int:
    last = LogEntry.objects.filter(user_id=request.user.pk).order_by("-pk").values_list("pk", flat=True)
    return last.first() or 0


def _audited_action(func: Callable[..., Any], name: str) -> Callable[..., Any]:
    """One changelist action, recorded once it has run (not when it only showed a page, like the
    delete confirmation; nor when it wrote LogEntry rows, which the site records one per object)."""

    @functools.wraps(func)
    def action(model_admin: ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        ran = _action_ran.get()
        if ran is not None:
            ran.append(True)
        objects = list(queryset)
        if not objects:
            # Django runs the action on the selection as this person may see it: none of it.
            _record_action_refusal(
                request, model_admin, name, "none of the selected objects is yours", "not_found"
            )
            return None
        before = _last_log_entry(request)
        response = func(model_admin, request, queryset)
        if response is None and not LogEntry.objects.filter(user_id=request.user.pk, pk__gt=before).exists():
            _record_action(request, model_admin, name, objects)
        return response

    return action


class AuditedActions:
    """Mixed into every registered ModelAdmin: its actions are recorded (see `_audited_action`)."""

    def get_action(self, action: Any, *args: Any, **kwargs: Any) -> Any:
        found = super().get_action(action, *args, **kwargs)  # type: ignore[misc]
        if found is None:
            return None
        return dataclasses.replace(found, func=_audited_action(found.func, found.name))


class AuditedAdminSite(AdminSite):
    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        admin_class = admin_class or ModelAdmin
        if not issubclass(admin_class, AuditedActions):
            admin_class = type(
                admin_class.__name__,
                (AuditedActions, admin_class),
                {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__},
            )
        super().register(model_or_iterable, admin_class, **options)

    def admin_view(self, view: Callable[..., HttpResponse], cacheable: bool = False) -> Callable[..., Any]:
        return super().admin_view(_audited_admin_view(view), cacheable)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        signed_in_before = request.user.is_authenticated
        response = super().login(request, extra_context)
        if request.method == "POST" and not signed_in_before:
            if request.user.is_authenticated and response.status_code in (301, 302):
                sessions.signed_in(request, request.user, method="password")
            else:
                locked = response.status_code == 429
                sessions.sign_in_refused(
                    request,
                    code="locked_out" if locked else "invalid_credentials",
                    reason="too many failed attempts: locked for a while"
                    if locked
                    else "wrong username or password, or not staff",
                    method="password",
                    username=request.POST.get("username", ""),
                )
        return response

    def logout(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        user = request.user
        response = super().logout(request, extra_context)
        if request.method == "POST" and user.is_authenticated:
            sessions.signed_out(request, user, method="password")
        return response


def _audited_admin_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST" or not request.user.is_authenticated or _is_session_view(view):
            return view(request, *args, **kwargs)
        before = _last_log_entry(request)
        ran: list[bool] = []
        action_token = _action_ran.set(ran)
        with _watching_deletions() as deleted:
            try:
                response = view(request, *args, **kwargs)
            except PermissionDenied:
                _record_refusal(request, view, kwargs, "permission denied", "forbidden")
                raise
            except Http404:
                _record_refusal(request, view, kwargs, "not found", "not_found")
                raise
            except Exception as error:
                _record_refusal(
                    request, view, kwargs, "failed", type(error).__name__, outcome=AuditEntry.Outcome.FAILED
                )
                raise
            finally:
                _action_ran.reset(action_token)
        written = list(
            LogEntry.objects.filter(user_id=request.user.pk, pk__gt=before)
            .select_related("content_type")
            .order_by("pk")
        )
        for entry in written:
            _record_change(request, entry, deleted)
        if getattr(view, "__name__", "") == "password_change" and isinstance(
            getattr(view, "__self__", None), AdminSite
        ):
            _record_own_password_change(request, response)
        elif not written:
            errors = _form_errors(response)
            if errors is not None:
                _record_refusal(request, view, kwargs, f"invalid: {', '.join(errors) or 'form'}", "invalid")
            elif response.status_code in (403, 404):
                code = "forbidden" if response.status_code == 403 else "not_found"
                _record_refusal(request, view, kwargs, f"answered {response.status_code}", code)
            elif _is_action_request(request, view) and not ran:
                # Django answers an unknown action, one this person may not run, or no selection
                # with a redirect and a message: nothing ran.
                _record_refusal(
                    request, view, kwargs, "no such action for you, or nothing selected", "invalid"
                )
        return response

    return inner


def _record_own_password_change(request: HttpRequest, response: HttpResponse) -> None:
    """The site's own "change password" form (no LogEntry): the person's account changed, or not."""
    user = request.user
    opts = user._meta
    context = getattr(response, "context_data", None) or {}
    form = context.get("form")
    refused = form is not None and bool(form.errors)
    link = ""
    with contextlib.suppress(NoReverseMatch):
        link = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[user.pk])
    entry_record(
        request=request,
        actor=user,
        action="admin.change",
        object_type=opts.label_lower,
        object_id=str(user.pk),
        object_link=link,
        parameters={"object": str(user), "change": "Changed password."} if not refused else {},
        outcome=AuditEntry.Outcome.REFUSED_BY_PORTAL if refused else AuditEntry.Outcome.SUCCESS,
        error_code="invalid" if refused else "",
        reason=f"invalid: {', '.join(sorted(form.errors))}" if refused else "",
    )


def _is_session_view(view: Callable[..., HttpResponse]) -> bool:
    """The site's own sign-in and sign-out, recorded by AuditedAdminSite.login and .logout."""
    owner = getattr(view, "__self__", None)
    return isinstance(owner, AdminSite) and getattr(view, "__name__", "") in ("login", "logout")


def _is_action_request(request: HttpRequest, view: Callable[..., HttpResponse]) -> bool:
    return (
        getattr(view, "__name__", "") == "changelist_view"
        and "action" in request.POST
        and "index" in request.POST
        and "_save" not in request.POST
    )


def _form_errors(response: HttpResponse) -> list[str] | None:
    """The fields of an add or change form shown again with errors; None when no form was refused."""
    context = getattr(response, "context_data", None) or {}
    adminform = context.get("adminform")
    if adminform is None or not context.get("errors"):
        return None
    return sorted(adminform.form.errors)


def _model_admin_label(view: Callable[..., HttpResponse]) -> str:
    owner = getattr(view, "__self__", None)
    model = getattr(owner, "model", None)
    return model._meta.label_lower if model is not None else ""


def _record_change(request: HttpRequest, entry: LogEntry, deleted: dict[tuple[str, str], Any]) -> None:
    label = f"{entry.content_type.app_label}.{entry.content_type.model}" if entry.content_type else ""
    obj = None
    if entry.action_flag != DELETION:
        try:
            obj = entry.get_edited_object()
        except Exception:  # the model is gone from the code, or the row from the database
            obj = None
    if entry.action_flag == DELETION:
        partner_pk = deleted.get((label, entry.object_id or ""))
        partner = Partner(pk=partner_pk) if partner_pk is not None else None
    else:
        partner = partner_of(obj)
    link = ""
    if entry.action_flag != DELETION and entry.content_type:
        try:
            link = reverse(
                f"admin:{entry.content_type.app_label}_{entry.content_type.model}_change",
                args=[entry.object_id],
            )
        except NoReverseMatch:
            link = ""
    entry_record(
        request=request,
        actor=request.user,
        partner=partner,
        action=ACTION_OF_FLAG.get(entry.action_flag, "admin.change"),
        object_type=label,
        object_id=entry.object_id or "",
        object_link=link,
        # Which fields changed, by name (Django's change message); never their values.
        parameters={"object": entry.object_repr, "change": entry.get_change_message()},
        outcome=AuditEntry.Outcome.SUCCESS,
    )


def _record_action(
    request: HttpRequest, model_admin: ModelAdmin[Any], name: str, objects: Iterable[Model]
) -> None:
    """One row per partner whose objects the action ran on (a superuser's may span several)."""
    by_partner: dict[Any, list[str]] = {}
    partners: dict[Any, Any] = {}
    for obj in objects:
        partner = partner_of(obj)
        key = getattr(partner, "pk", None)
        partners[key] = partner
        by_partner.setdefault(key, []).append(str(obj.pk))
    label = model_admin.model._meta.label_lower
    for key, ids in by_partner.items():
        link = ""
        if len(ids) == 1:
            opts = model_admin.model._meta
            try:
                link = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[ids[0]])
            except NoReverseMatch:
                link = ""
        entry_record(
            request=request,
            actor=request.user,
            partner=partners[key],
            action=ADMIN_ACTION,
            object_type=label,
            object_id=ids[0] if len(ids) == 1 else "",
            object_link=link,
            parameters={"action": name, "count": len(ids), "objects": ids[:ACTION_IDS_KEPT]},
            outcome=AuditEntry.Outcome.SUCCESS,
        )


def _record_action_refusal(
    request: HttpRequest, model_admin: ModelAdmin[Any], name: str, reason: str, code: str
) -> None:
    entry_record(
        request=request,
        actor=request.user,
        action="admin.delete" if name == "delete_selected" else ADMIN_ACTION,
        object_type=model_admin.model._meta.label_lower,
        parameters={"action": name, "count": len(request.POST.getlist("_selected_action"))},
        outcome=AuditEntry.Outcome.REFUSED_BY_PORTAL,
        error_code=code,
        reason=reason,
    )


def _record_refusal(
    request: HttpRequest,
    view: Callable[..., HttpResponse],
    kwargs: dict[str, Any],
    reason: str,
    code: str,
    *,
    outcome: str = AuditEntry.Outcome.REFUSED_BY_PORTAL,
) -> None:
    name = getattr(view, "__name__", "")
    action = ACTION_OF_VIEW.get(name, "admin.change")
    parameters: dict[str, Any] = {}
    if _is_action_request(request, view):
        chosen = request.POST.get("action", "")
        action = "admin.delete" if chosen == "delete_selected" else ADMIN_ACTION
        parameters = {"action": chosen[:100], "count": len(request.POST.getlist("_selected_action"))}
    entry_record(
        request=request,
        actor=request.user,
        action=action,
        object_type=_model_admin_label(view),
        object_id=str(kwargs.get("object_id", "") or kwargs.get("id", "")),
        parameters=parameters,
        outcome=outcome,
        error_code=code,
        reason=reason,
    )
